"""One validation pass: reference problems are reported together with field problems.

A file with a bad value in one place and an unknown id in another gets both, each at its
``file:line:col field``, in file order, and ``aidflow validate`` exits 2 with both on stderr.
The references of a file with field errors are read from its raw data
(``scenarios.refs.id_reference_problems``); on every reference of the library's scenarios
that reading agrees with the validated one.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from ruamel.yaml import YAML

from scenarios.errors import ScenarioError
from scenarios.load import load_text
from scenarios.pledges import expand_pledges
from scenarios.refs import id_reference_problems
from scenarios.schema import Scenario

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
LIBRARY = [HERE / "tiny.yaml", *sorted((ROOT / "scenarios").glob("*.yaml"))]


def _problems(text: str) -> list[str]:
    with pytest.raises(ScenarioError) as info:
        load_text(text, "two.yaml")
    return [str(p) for p in info.value.problems]


def _edit(text: str, *pairs: tuple[str, str]) -> str:
    for old, new in pairs:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    return text


FIELD_ERROR = ("    vehicles: 2\n", "    vehicles: 0\n")  # links[0], line 35
UNKNOWN_ID = ("    to: brigade\n", "    to: brigadee\n")  # links[1], line 39


def test_a_field_error_and_an_unknown_id_are_both_reported(tiny_text: str) -> None:
    assert _problems(_edit(tiny_text, FIELD_ERROR, UNKNOWN_ID)) == [
        "two.yaml:35:15 links[0].vehicles: must be > 0 (got 0)",
        "two.yaml:39:9 links[1].to: unknown node 'brigadee', did you mean 'brigade'?",
    ]


def test_every_kind_of_problem_in_one_pass(tiny_text: str) -> None:
    text = _edit(
        tiny_text,
        ("    lot_size: 50\n", "    lot_size: many\n"),
        ("      - {item: drone, rate", "      - {item: drones, rate"),
        FIELD_ERROR,
        ("    unit: brigade\n", "    unit: rzeszow\n"),
        ("    target: rzeszow\n", "    target: krakow\n"),
    )
    assert _problems(text) == [
        "two.yaml:10:15 items[0].lot_size: must be an integer (got 'many')",
        "two.yaml:22:16 nodes[2].products[0].item: unknown item 'drones', did you mean 'drone'?",
        "two.yaml:35:15 links[0].vehicles: must be > 0 (got 0)",
        "two.yaml:48:11 requirements[0].unit: 'rzeszow' is a hub, expected unit",
        "two.yaml:57:13 disruptions[0].target: unknown node or link 'krakow'",
    ]


def test_a_bad_value_is_reported_once_not_also_as_an_unknown_id(tiny_text: str) -> None:
    text = _edit(tiny_text, FIELD_ERROR, ("    to: brigade\n", "    to: 9brigade\n"))
    problems = _problems(text)
    assert len(problems) == 2, problems
    assert problems[1].startswith("two.yaml:39:9 links[1].to: must be an id"), problems


def test_a_node_with_a_bad_field_is_still_known(tiny_text: str) -> None:
    # the hub's servers are wrong, but links to it name a node that exists
    text = _edit(tiny_text, ("    servers: 2\n", "    servers: -2\n"))
    assert _problems(text) == ["two.yaml:25:14 nodes[3].servers: must be > 0 (got -2)"]


def test_a_syntax_level_problem_and_an_unknown_id_are_both_reported(tiny_text: str) -> None:
    text = _edit(
        tiny_text, ("    capacity_m3: 20\n    dispatch", "    capacity_m3: 20\n    capacity_m3: 30\n    dispatch")
    )
    text = _edit(text, UNKNOWN_ID)
    assert _problems(text) == [
        "two.yaml:39:9 links[1].to: unknown node 'brigadee', did you mean 'brigade'?",
        "two.yaml:44:5 links[1].capacity_m3: duplicate key 'capacity_m3' (first at line 43)",
    ]


def test_validate_exits_2_with_both(
    tiny_text: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from sim.cli import main

    path = tmp_path / "two.yaml"
    path.write_text(_edit(tiny_text, FIELD_ERROR, UNKNOWN_ID), encoding="utf-8")
    monkeypatch.setattr(sys, "argv", ["aidflow", "validate", str(path)])
    with pytest.raises(SystemExit) as info:
        main()
    err = capsys.readouterr().err
    assert info.value.code == 2
    assert f"{path}:35:15 links[0].vehicles: must be > 0 (got 0)" in err
    assert f"{path}:39:9 links[1].to: unknown node 'brigadee'" in err
    assert "Traceback" not in err


# ------------------------------------------------------------------ raw reading == validated reading


FREE_MAPPINGS = ("consumption_per_day", "initial_stock", "item_priority", "consumption", "stock_policies")
"""Mappings whose keys are item ids."""


def _id_leaves(data: Any, ids: set[str], loc: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Paths of every string value (or mapping key) that is some id, other than an ``id`` itself."""
    if isinstance(data, dict):
        for key, value in data.items():
            if key in ids and loc and loc[-1] in FREE_MAPPINGS:
                yield (*loc, ("key", key))
            if isinstance(value, str) and value in ids and key not in ("id", "name"):
                yield (*loc, key)
            else:
                yield from _id_leaves(value, ids, (*loc, key))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            if isinstance(value, str) and value in ids:
                yield (*loc, i)
            else:
                yield from _id_leaves(value, ids, (*loc, i))


def _broken(data: Any, loc: tuple[Any, ...]) -> Any:
    """A deep copy of ``data`` with the id at ``loc`` replaced by one that exists nowhere."""
    import copy

    out = copy.deepcopy(data)
    node = out
    for part in loc[:-1]:
        node = node[part]
    last = loc[-1]
    if isinstance(last, tuple):
        node["zz_nowhere"] = node.pop(last[1])
    else:
        node[last] = "zz_nowhere"
    return out


def _validated(data: Any) -> set[tuple[Any, str]]:
    try:
        Scenario.model_validate(data)
    except ValidationError as exc:
        found = set()
        for err in exc.errors():
            if err["type"] == "reference":
                found |= {(tuple(loc), msg) for loc, msg in err["ctx"]["problems"]}
        return found
    return set()


def _is_reference(loc: tuple[Any, ...], message: str) -> bool:
    return loc[0] != "pledges" and (message.startswith("unknown ") or ", expected " in message)


@pytest.mark.parametrize("path", LIBRARY, ids=lambda p: p.name)
def test_raw_references_agree_with_the_validated_ones(path: Path) -> None:
    data = YAML(typ="safe", pure=True).load(path)
    scenario = Scenario.model_validate(data)
    ids = {x.id for x in [*scenario.items, *scenario.nodes, *scenario.links, *scenario.sources]}
    leaves = list(_id_leaves({k: v for k, v in data.items() if k != "strategies"}, ids))
    assert leaves, path
    for loc in leaves:
        broken = _broken(data, loc)
        validated = {(lc, m) for lc, m in _validated(broken) if _is_reference(lc, m)}
        raw = {(tuple(lc), m) for lc, m in id_reference_problems(expand_pledges(broken))}
        assert validated, (path.name, loc)  # breaking a reference is always caught
        assert raw == validated, (path.name, loc)
