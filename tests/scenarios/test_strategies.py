"""Strategy overlays: applying them, and reporting a bad override at its own line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from scenarios.errors import ScenarioError
from scenarios.load import load, load_text
from scenarios.schema import Fixed, Scenario
from scenarios.strategies import StrategyProblem, UnknownStrategy, apply_overrides

ROOT = Path(__file__).resolve().parents[2]
SMALL = ROOT / "scenarios" / "small_routers.yaml"
OVERRIDE = "      links.road_hub_brigade.vehicles: 6\n"


@pytest.fixture(scope="module")
def small() -> Scenario:
    return load(SMALL)


def test_with_strategy_applies_its_overrides(small: Scenario) -> None:
    lanes = small.with_strategy("more_lanes")
    assert lanes.node("korczowa_krakovets").servers == 5
    assert small.node("korczowa_krakovets").servers == 3  # the base is untouched
    assert lanes.strategies == small.strategies
    assert small.with_strategy("bilateral").policy.channel == "bilateral"


def test_baseline_is_the_base(small: Scenario) -> None:
    assert small.with_strategy("baseline") is small


def test_unknown_strategy_raises(small: Scenario) -> None:
    with pytest.raises(UnknownStrategy, match="known: baseline, bilateral, more_lanes"):
        small.with_strategy("nope")


def test_overrides_reach_free_mappings_and_whole_values(small: Scenario) -> None:
    patched = apply_overrides(
        small,
        {"policy.item_priority.router": 1, "nodes.rzeszow_hub.service_days": {"dist": "fixed", "value": 0.5}},
    )
    assert patched.policy.item_priority == {"router": 1}
    assert patched.node("rzeszow_hub").service_days == Fixed(value=0.5)


def test_an_override_that_breaks_the_scenario_raises(small: Scenario) -> None:
    with pytest.raises(StrategyProblem, match="links"):
        apply_overrides(small, {"links.rail_lv_pl.vehicles": 0})


def test_unknown_path_is_reported_at_the_override(tiny_text: str) -> None:
    text = tiny_text.replace(OVERRIDE, "      links.road_hub_brigade.vehicles: 6\n      nodes.rzeszow.lanes: 4\n")
    with pytest.raises(ScenarioError) as info:
        load_text(text, "s.yaml")
    [problem] = info.value.problems
    assert problem.line == text.split("\n").index("      nodes.rzeszow.lanes: 4") + 1
    assert problem.col == len("      nodes.rzeszow.lanes: ") + 1
    assert problem.path == "strategies[0].overrides.nodes.rzeszow.lanes"
    assert problem.message.startswith("unknown path: no field 'lanes'")


def test_invalid_values_are_reported_each_at_its_line(tiny_text: str) -> None:
    text = tiny_text.replace(OVERRIDE, "      links.road_hub_brigade.vehicles: -1\n") + (
        "  - name: slow_hub\n    overrides:\n      nodes.rzeszow.service_days: {dist: gamma}\n"
        "      requirements.R1.unit: rzeszow\n"
    )
    with pytest.raises(ScenarioError) as info:
        load_text(text, "s.yaml")
    lines = text.split("\n")
    got = [(p.line, p.message) for p in info.value.problems]
    assert got == [
        (
            lines.index("      links.road_hub_brigade.vehicles: -1") + 1,
            "makes links[1].vehicles invalid: must be > 0 (got -1)",
        ),
        (
            lines.index("      nodes.rzeszow.service_days: {dist: gamma}") + 1,
            "makes nodes[3].service_days.dist invalid: unknown dist 'gamma' (expected one of: fixed, exponential, "
            "uniform, triangular, lognormal, empirical)",
        ),
        (
            lines.index("      requirements.R1.unit: rzeszow") + 1,
            "makes requirements[0].unit invalid: 'rzeszow' is a hub, expected unit",
        ),
    ]


def test_a_valid_strategy_loads_and_resolves(tiny_text: str) -> None:
    scenario, _ = load_text(tiny_text, "tiny.yaml")
    assert scenario.with_strategy("more_trucks").links[1].vehicles == 6


def test_overrides_valid_alone_but_not_together_are_refused(tiny_text: str) -> None:
    # transit_days of road_maker_hub is uniform(1, 3): low 2.5 and high 2 are each fine alone.
    text = tiny_text + (
        "  - name: squeeze\n    overrides:\n"
        "      links.road_maker_hub.transit_days.low: 2.5\n"
        "      links.road_maker_hub.transit_days.high: 2\n"
    )
    with pytest.raises(ScenarioError) as info:
        load_text(text, "s.yaml")
    [problem] = info.value.problems
    # at the overrides mapping, which starts at the line of its first override
    assert problem.line == text.split("\n").index("      links.road_maker_hub.transit_days.low: 2.5") + 1
    assert problem.path == "strategies[1].overrides"
    assert problem.message.startswith("the overrides together make links[0].transit_days")
    assert problem.message.endswith("high must be >= low (got 2.5 > 2.0)")


# --------------------------------------------------------------------------- network checks per strategy

CLOSE_ROAD = "  - name: close_road\n    overrides:\n      links.road_hub_brigade.enabled: false\n"
# 5,000 drones x 0.02 m3 = 100 m3 a lot; both links carry 20 m3 a vehicle.
BIG_LOTS = (
    "  - name: big_lots\n    overrides:\n      links.road_hub_brigade.vehicles: 4\n      items.drone.lot_size: 5000\n"
)


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sim.cli", *args], capture_output=True, text=True, timeout=120, cwd=cwd, check=False
    )


@pytest.mark.parametrize(
    ("strategy", "line_text", "path", "message"),
    [
        (
            CLOSE_ROAD,
            "      links.road_hub_brigade.enabled: false",
            "strategies[1].overrides.links.road_hub_brigade.enabled",
            "in strategy 'close_road': requirements[0].unit: unit 'brigade' is unreachable",
        ),
        (
            BIG_LOTS,
            "      items.drone.lot_size: 5000",
            "strategies[1].overrides.items.drone.lot_size",
            "in strategy 'big_lots': links[0].capacity_m3: a lot of 'drone' (5000 x 0.02 m3 = 100 m3) does not fit",
        ),
    ],
    ids=["only_route_disabled", "lot_bigger_than_vehicles"],
)
def test_validate_and_run_refuse_a_strategy_that_breaks_the_network(
    tiny_text: str, tmp_path: Path, strategy: str, line_text: str, path: str, message: str
) -> None:
    text = tiny_text + strategy
    (tmp_path / "s.yaml").write_text(text)
    line = text.split("\n").index(line_text) + 1
    col = len(line_text) - len(line_text.lstrip()) + len(line_text.strip().split(": ")[0]) + 3
    for args in (["validate", "s.yaml"], ["run", "s.yaml", "-q", "--out", "r"]):
        proc = _cli(*args, cwd=tmp_path)
        assert proc.returncode == 2, proc.stdout + proc.stderr
        assert "Traceback" not in proc.stderr
        assert f"s.yaml:{line}:{col} {path}: {message}" in proc.stderr
    assert not (tmp_path / "r").exists()  # nothing was run
