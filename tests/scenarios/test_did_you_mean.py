"""Unknown ids and keys come with the closest existing name: "did you mean 'brigade'?".

Each case is ``tiny.yaml`` with one name misspelt; the problem keeps its ``file:line:col
field: message`` form and gains the hint, and a name with nothing close gains none.
"""

from __future__ import annotations

import pytest

from scenarios.errors import ScenarioError
from scenarios.load import load_text
from scenarios.strategies import UnknownStrategy


def _problems(text: str) -> list[str]:
    with pytest.raises(ScenarioError) as info:
        load_text(text, "typo.yaml")
    return [str(p) for p in info.value.problems]


def _one(tiny_text: str, old: str, new: str) -> str:
    assert tiny_text.count(old) == 1, old
    problems = _problems(tiny_text.replace(old, new))
    assert len(problems) == 1, problems
    return problems[0]


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "    to: brigade\n",
            "    to: brigadee\n",
            "typo.yaml:39:9 links[1].to: unknown node 'brigadee', did you mean 'brigade'?",
        ),
        (
            "    item: drone\n    qty",
            "    item: dron\n    qty",
            "typo.yaml:49:11 requirements[0].item: unknown item 'dron', did you mean 'drone'?",
        ),
        (
            "    funders: [donor_a]\n",
            "    funders: [donor_b]\n",
            "typo.yaml:53:15 requirements[0].funders[0]: unknown node 'donor_b', did you mean 'donor_a'?",
        ),
        (
            "    target: rzeszow\n",
            "    target: road_hub_brigde\n",
            "typo.yaml:57:13 disruptions[0].target: unknown node or link 'road_hub_brigde', "
            "did you mean 'road_hub_brigade'?",
        ),
    ],
    ids=["link-to", "requirement-item", "funder", "disruption-target"],
)
def test_unknown_id_suggests_the_closest(tiny_text: str, old: str, new: str, expected: str) -> None:
    assert _one(tiny_text, old, new) == expected


def test_suggestions_are_of_the_kind_the_field_takes(tiny_text: str) -> None:
    # 'rzeszow' is the closest node, but a hub: a requirement's unit must be a unit
    problem = _one(tiny_text, "    unit: brigade\n", "    unit: rzeszow_unit\n")
    assert problem == "typo.yaml:48:11 requirements[0].unit: unknown node 'rzeszow_unit'"


def test_nothing_close_means_no_hint(tiny_text: str) -> None:
    problem = _one(tiny_text, "    target: rzeszow\n", "    target: krakow\n")
    assert problem == "typo.yaml:57:13 disruptions[0].target: unknown node or link 'krakow'"


def test_unknown_key_suggests_the_field(tiny_text: str) -> None:
    problem = _one(tiny_text, "    loss_probability: 0.01\n", "    loss_probabilty: 0.01\n")
    assert problem.startswith(
        "typo.yaml:45:5 links[1].loss_probabilty: unknown key, did you mean 'loss_probability'? (allowed: "
    ), problem


def test_unknown_kind_suggests_the_tag(tiny_text: str) -> None:
    problem = _one(tiny_text, "    kind: hub\n", "    kind: hubb\n")
    assert problem.startswith("typo.yaml:24:11 nodes[3].kind: unknown kind 'hubb', did you mean 'hub'? (expected")


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("links.road_hub_brigad.vehicles", "no entry 'road_hub_brigad', did you mean 'road_hub_brigade'?"),
        ("links.road_hub_brigade.vehicle", "no field 'vehicle' here, did you mean 'vehicles'?"),
    ],
    ids=["entry", "field"],
)
def test_strategy_path_suggests_the_closest(tiny_text: str, path: str, expected: str) -> None:
    problem = _one(tiny_text, "      links.road_hub_brigade.vehicles: 6\n", f"      {path}: 6\n")
    assert problem.startswith(f"typo.yaml:63:39 strategies[0].overrides.{path}: unknown path: {expected}"), problem


def test_unknown_strategy_name_suggests_the_closest(tiny_text: str) -> None:
    scenario, _ = load_text(tiny_text, "tiny.yaml")
    with pytest.raises(UnknownStrategy) as info:
        scenario.with_strategy("more_truck")
    assert "no strategy 'more_truck', did you mean 'more_trucks'? (known: baseline, more_trucks)" in str(info.value)


def test_pledge_requirement_suggests_the_closest(tiny_text: str) -> None:
    pledge = (
        "pledges:\n"
        "  - {id: P1, donor: donor_a, item: drone, qty: 100, announced: 2025-05-02, deliver_by: 2025-06-30,"
        " requirements: [R1x]}\n"
    )
    problems = _problems(tiny_text + pledge)
    assert problems == ["typo.yaml:65:115 pledges[0].requirements[0]: unknown requirement 'R1x', did you mean 'R1'?"]
