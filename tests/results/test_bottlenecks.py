"""Bottleneck analysis on constructed scenarios whose answers are known by construction.

- A tandem line (supplier -> hub A (fast) -> border B (slowest) -> depot C (medium) -> unit,
  vehicles to spare): B ranks first; with B's lanes raised, C does, and B follows.
- A demand-paced line where a scheduled disruption halves depot C's servers from day 50: the
  sole/shifting timeline switches from B to C within one simulated day of day 50.
- The max-flow bound: on random scenarios (``tests/strategies.py``) the deliveries never run
  ahead of the bound; on a saturated tandem line the delivery rate comes within 5% of it.
- The active-period method itself on hand-made periods (Roser et al.'s sole and shifting
  bottlenecks), the activity rules, lead-time shares, capacity changes and the response table.

Every analysis reads the event table back from a Parquet file, as the CLI reads a run directory.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from pydantic import TypeAdapter
from strategies import scenarios

from network.build import build_graph, lots_per_vehicle
from network.capacity import bounds, max_flow_bound, resource_capacities
from results.bottlenecks import (
    Addition,
    Analysis,
    BadAddition,
    Change,
    Variant,
    active_periods,
    analyse,
    capacity_change,
    dominant_timeline,
    momentary_bottlenecks,
    rank,
    ranking_table,
    resources,
    response,
    shifting_timeline,
    throughput,
    throughput_vs_bound,
    timeline_table,
)
from results.kpis import kpi_table
from scenarios.load import load
from scenarios.schema import Dist, Scenario
from scenarios.strategies import apply_overrides
from sim.run import run

START = dt.date(2025, 1, 1)
SMALL = Path(__file__).resolve().parents[2] / "scenarios" / "small_routers.yaml"


def _date(day: int) -> dt.date:
    return START + dt.timedelta(days=day)


def _shuttle(link_id: str, a: str, b: str, vehicles: int = 10, capacity_m3: float = 1.0) -> dict[str, Any]:
    """A link with vehicles to spare: 0.05 days each way."""
    return {
        "id": link_id,
        "from": a,
        "to": b,
        "mode": "road",
        "transit_days": 0.05,
        "vehicles": vehicles,
        "capacity_m3": capacity_m3,
    }


def line_scenario(
    service: dict[str, Any],
    servers: dict[str, int],
    horizon: int,
    requirements: list[dict[str, Any]],
    rate_per_day: float = 10_000,
    disruptions: list[dict[str, Any]] | None = None,
) -> Scenario:
    """supplier -> A (hub) -> B (border) -> C (depot) -> unit; lots of 10 boxes, 1 m3 a lot."""
    kinds = {"A": "hub", "B": "border", "C": "depot"}
    nodes: list[dict[str, Any]] = [
        {
            "id": "sup",
            "kind": "supplier",
            "domestic": True,
            "products": [{"item": "box", "rate_per_day": rate_per_day, "unit_price_eur": 1}],
        },
        *({"id": k, "kind": kinds[k], "servers": servers[k], "service_days": service[k]} for k in "ABC"),
        {"id": "unit", "kind": "unit"},
        {"id": "ua_state", "kind": "donor", "state_budget": True, "budget_eur": "unlimited"},
    ]
    return Scenario.model_validate(
        {
            "name": "line",
            "start": START,
            "horizon_days": horizon,
            "items": [{"id": "box", "unit_value_eur": 1, "volume_m3": 0.1, "lot_size": 10}],
            "nodes": nodes,
            "links": [
                _shuttle("sup_A", "sup", "A", vehicles=2, capacity_m3=10_000),
                _shuttle("A_B", "A", "B"),
                _shuttle("B_C", "B", "C"),
                _shuttle("C_unit", "C", "unit"),
            ],
            "requirements": requirements,
            "disruptions": disruptions or [],
        }
    )


def tandem(b_servers: int = 1) -> Scenario:
    """200 lots at once; A 0.1 d/lot, B 0.5 d/lot (slowest), C 0.35 d/lot; 60 days."""
    return line_scenario(
        service={"A": 0.1, "B": 0.5, "C": 0.35},
        servers={"A": 1, "B": b_servers, "C": 1},
        horizon=60,
        requirements=[
            {"id": "R", "unit": "unit", "item": "box", "qty": 2000, "need_by": _date(59), "channel": "domestic"}
        ],
    )


def disrupted_line() -> Scenario:
    """Two lots a day; B (1 lane, 0.45 d) binds until C (2 servers, 0.6 d) is halved on day 50."""
    reqs = [
        {
            "id": f"R{d}",
            "unit": "unit",
            "item": "box",
            "qty": 20,
            "opens": _date(d),
            "need_by": _date(99),
            "channel": "domestic",
        }
        for d in range(100)
    ]
    return line_scenario(
        service={"A": 0.1, "B": 0.45, "C": 0.6},
        servers={"A": 1, "B": 1, "C": 2},
        horizon=100,
        requirements=reqs,
        disruptions=[
            {
                "kind": "scheduled",
                "id": "strike",
                "target": "C",
                "start": _date(50),
                "duration_days": 80,
                "capacity_factor": 0.5,
            }
        ],
    )


def logged(s: Scenario, tmp_path: Path, replication: int = 0, name: str = "part") -> pa.Table:
    """Run ``s`` and read its event table back from a zstd Parquet file."""
    log, _ = run(s, replication=replication)
    path = tmp_path / f"{name}-{replication}.parquet"
    pq.write_table(log.table(), path, compression="zstd")
    return pq.read_table(path)


def covering(a: Analysis, resource: str, day: float) -> tuple[float, float]:
    """The stretch (merged over sole and shifting) in which ``resource`` is a bottleneck at ``day``."""
    segs = sorted((s.start, s.end) for s in a.timeline if s.resource == resource)
    merged: list[list[float]] = []
    for lo, hi in segs:
        if merged and lo <= merged[-1][1] + 1e-9:
            merged[-1][1] = max(merged[-1][1], hi)
        else:
            merged.append([lo, hi])
    for lo, hi in merged:
        if lo <= day < hi:
            return lo, hi
    raise AssertionError(f"{resource} is not a bottleneck at day {day}")


def bottleneck_days(a: Analysis, lo: float, hi: float) -> dict[str, float]:
    """Days each resource is a (sole or shifting) bottleneck within ``[lo, hi)``."""
    out: dict[str, float] = {}
    for s in a.timeline:
        d = min(s.end, hi) - max(s.start, lo)
        if d > 0:
            out[s.resource] = out.get(s.resource, 0.0) + d
    return out


# --------------------------------------------------------------------------- tandem line


@pytest.fixture(scope="module")
def tandem_base(tmp_path_factory: pytest.TempPathFactory) -> Analysis:
    s = tandem()
    return analyse(logged(s, tmp_path_factory.mktemp("tandem")), s)


def test_slowest_station_ranks_first(tandem_base: Analysis) -> None:
    rows = rank([tandem_base])
    assert rows[0].resource == "node:B"
    b = tandem_base.stat("node:B")
    assert b.bottleneck_share > 0.95
    assert b.utilisation > 0.95
    assert b.wait_mean_days > tandem_base.stat("node:C").wait_mean_days
    # B binds from its first lot to the end of the window, without a break
    lo, hi = covering(tandem_base, "node:B", 30.0)
    assert lo < 0.5 and hi == pytest.approx(60.0)
    assert tandem_base.top == "node:B"


def test_raising_the_bottleneck_moves_the_top_to_the_next(tmp_path: Path) -> None:
    base = tandem()
    for add in ("1", "25%"):
        change = capacity_change(base, "node:B", Addition.parse(add))
        assert change.overrides == {"nodes.B.servers": 2}
        s = apply_overrides(base, change.overrides)
        a = analyse(logged(s, tmp_path, name=f"b2-{add}"), s)
        rows = rank([a])
        assert [r.resource for r in rows[:2]] == ["node:C", "node:B"], rows[:3]
        # C binds from about its first lot until the end of the window
        lo, hi = covering(a, "node:C", 55.0)
        assert lo < 1.0 and hi == pytest.approx(60.0)


def test_disruption_shift_shows_within_a_day(tmp_path: Path) -> None:
    s = disrupted_line()
    a = analyse(logged(s, tmp_path), s)
    before = bottleneck_days(a, 1.0, 49.0)
    assert max(before, key=before.__getitem__) == "node:B", before
    assert before["node:B"] > 0.8 * 48
    lo, hi = covering(a, "node:C", 75.0)
    assert abs(lo - 50.0) <= 1.0, lo
    assert hi == pytest.approx(100.0)
    after = bottleneck_days(a, 51.0, 100.0)
    assert after["node:C"] == pytest.approx(49.0)
    # the coarse timeline says the same
    spans = dominant_timeline([a], bin_days=10)
    assert [sp.resource for sp in spans] == ["node:B", "node:C"]
    assert spans[1].start == 50.0


def test_without_the_disruption_b_binds_throughout(tmp_path: Path) -> None:
    s = disrupted_line().model_copy(update={"disruptions": []})
    a = analyse(logged(s, tmp_path), s)
    assert rank([a])[0].resource == "node:B"
    assert [sp.resource for sp in dominant_timeline([a], bin_days=10)] == ["node:B"]


# --------------------------------------------------------------------------- the bound


def _fixed(data: Any) -> Any:
    """Every duration distribution replaced by its mean (a fixed duration)."""
    if isinstance(data, dict):
        if "dist" in data:
            return {"dist": "fixed", "value": TypeAdapter(Dist).validate_python(data).mean_days()}
        return {k: _fixed(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_fixed(v) for v in data]
    return data


def deterministic(s: Scenario) -> Scenario:
    """``s`` with fixed durations, no initial stock at suppliers and whole lots only.

    These are the bound's own assumptions: it counts mean durations, peak production rates
    (initial stock ships at once) and whole lots per vehicle.
    """
    data = _fixed(s.model_dump(by_alias=True, mode="python"))
    lot = {it["id"]: it["lot_size"] for it in data["items"]}
    for n in data["nodes"]:
        for p in n.get("products", []):
            p["initial_stock"] = 0
    for r in data["requirements"]:
        r["qty"] = -(-r["qty"] // lot[r["item"]]) * lot[r["item"]]
    return Scenario.model_validate(data)


def burst_units(s: Scenario, cut: tuple[str, ...], item: str) -> float:
    """Units a cut can pass at once beyond its rate: a full trip of every vehicle of its links.

    Servers and production lines finish their first lot one service (or production) time after
    they start, so they pass at most rate x t; a vehicle pool can deliver its first round of
    trips before a round trip has elapsed.
    """
    it = s.item(item)
    links = {lk.id: lk for lk in s.links}
    total = 0.0
    for name in cut:
        kind, _, ident = name.partition(":")
        if kind == "link":
            lk = links[ident]
            total += lk.vehicles * lots_per_vehicle(lk.capacity_m3, it.volume_m3 * it.lot_size) * it.lot_size
    return total


def _columns(table: pa.Table) -> tuple[np.ndarray, ...]:
    kind = np.asarray(table.column("kind").to_pylist(), dtype=object)
    item = np.asarray(table.column("item").to_pylist(), dtype=object)
    node = np.asarray(table.column("node").to_pylist(), dtype=object)
    return table.column("t").to_numpy(), kind, item, node, table.column("qty").fill_null(0).to_numpy()


def _outside_the_bound(s: Scenario, kind: np.ndarray, item: np.ndarray, node: np.ndarray) -> set[str]:
    """Suppliers the engine gave contracts that the bound of their item leaves out."""
    g = build_graph(s)
    out = set()
    for it in {str(x) for x in item[kind == "contract_awarded"]}:
        counted = {r.split(":", 1)[1] for r in resource_capacities(s, g, it) if r.startswith("supplier:")}
        out |= {str(n) for n in node[(kind == "contract_awarded") & (item == it)]} - counted
    return out


def fleet_burst() -> Scenario:
    """Two vehicles, one lot each, 2-day round trips: two lots arrive on day 1, the bound is 1 lot a day."""
    return Scenario.model_validate(
        {
            "name": "burst",
            "start": START,
            "horizon_days": 30,
            "items": [{"id": "box", "unit_value_eur": 1, "volume_m3": 0.1, "lot_size": 10}],
            "nodes": [
                {
                    "id": "maker",
                    "kind": "supplier",
                    "domestic": True,
                    "products": [{"item": "box", "rate_per_day": 10_000, "unit_price_eur": 1}],
                },
                {"id": "unit", "kind": "unit"},
                {"id": "ua_state", "kind": "donor", "state_budget": True, "budget_eur": "unlimited"},
            ],
            "links": [{**_shuttle("l", "maker", "unit", vehicles=2), "transit_days": 1}],
            "requirements": [
                {"id": "R", "unit": "unit", "item": "box", "qty": 200, "need_by": _date(29), "channel": "domestic"}
            ],
        }
    )


def test_a_fleet_delivers_its_first_round_at_once() -> None:
    """Why the bound needs a burst allowance: N(1.002) = 20 units > 10 units/day x 1.002 days."""
    s = fleet_burst()
    b = max_flow_bound(s, None, "box")
    assert b.units_per_day == pytest.approx(10.0) and b.min_cut == ("link:l",)
    log, _ = run(s)
    t, kind, _, _, qty = _columns(log.table())
    when, cum = t[kind == "delivered"], np.cumsum(qty[kind == "delivered"])
    assert when[1] == pytest.approx(1.0, abs=0.01)  # both vehicles left with the first two lots
    assert cum[1] == 20 > b.units_per_day * when[1]
    assert np.all(cum <= b.units_per_day * when + burst_units(s, b.min_cut, "box"))


@example(drawn=fleet_burst())
@settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
@given(scenarios())
def test_deliveries_never_run_ahead_of_the_bound(drawn: Scenario) -> None:
    """N(t) <= bound x t + burst at every delivery instant: the long-run rate N(t)/t never exceeds the bound."""
    s = deterministic(drawn)
    log, _ = run(s)
    table = log.table()
    th = throughput(table, s)
    t, kind, item, node, qty = _columns(table)
    # known gap (test_bound_counts_the_suppliers_the_engine_uses): skip those draws here
    assume(not _outside_the_bound(s, kind, item, node))
    for b in bounds(s):
        sel = (kind == "delivered") & (item == b.item)
        assert th[b.item].units == int(qty[sel].sum())
        if not sel.any() or math.isinf(b.units_per_day):
            continue
        cum = np.cumsum(qty[sel])
        slack = burst_units(s, b.min_cut, b.item)
        allowed = b.units_per_day * t[sel] + slack
        worst = int(np.argmax(cum - allowed))
        assert cum[worst] <= allowed[worst] * (1 + 1e-9) + 1e-6, (b, float(t[sel][worst]), int(cum[worst]), slack)


def test_bound_and_engine_choose_suppliers_by_the_same_rule() -> None:
    """A domestic-channel requirement with only a foreign maker: the checks refuse it, the engine fails, the bound is 0."""
    from network.checks import check

    s = Scenario.model_validate(
        {
            "name": "fallback",
            "start": START,
            "horizon_days": 20,
            "items": [{"id": "box", "unit_value_eur": 1, "volume_m3": 0.001, "lot_size": 1}],
            "nodes": [
                {
                    "id": "maker",
                    "kind": "supplier",
                    "products": [{"item": "box", "rate_per_day": 1, "unit_price_eur": 1}],
                },
                {"id": "unit", "kind": "unit"},
                {"id": "ua_state", "kind": "donor", "state_budget": True, "budget_eur": "unlimited"},
            ],
            "links": [_shuttle("l", "maker", "unit")],
            "requirements": [
                {"id": "R", "unit": "unit", "item": "box", "qty": 5, "need_by": _date(19), "channel": "domestic"}
            ],
        }
    )
    assert [c.code for c in check(s) if c.severity == "error"] == ["no_supplier"]
    _, result = run(s)
    assert result.status == "failed" and "no supplier" in (result.error or "")
    assert max_flow_bound(s, None, "box").units_per_day == 0.0


def saturated_tandem(horizon: int = 150) -> Scenario:
    """More work than B can do: A (random, faster) feeds B (fixed 0.1 d), C random downstream."""
    return line_scenario(
        service={
            "A": {"dist": "exponential", "mean": 0.04},
            "B": 0.1,
            "C": {"dist": "triangular", "low": 0.02, "mode": 0.05, "high": 0.08},
        },
        servers={"A": 1, "B": 1, "C": 1},
        horizon=horizon,
        requirements=[
            {
                "id": "R",
                "unit": "unit",
                "item": "box",
                "qty": 20_000,
                "need_by": _date(horizon - 1),
                "channel": "domestic",
            }
        ],
    )


def test_saturated_tandem_comes_within_five_percent_of_the_bound(tmp_path: Path) -> None:
    s = saturated_tandem()
    b = max_flow_bound(s, None, "box")
    assert b.min_cut == ("node:B",) and b.units_per_day == pytest.approx(100.0)
    analyses = [analyse(logged(s, tmp_path, rep), s) for rep in range(2)]
    (row,) = throughput_vs_bound(analyses, [b])
    assert row.min_cut == ("node:B",)
    assert 0.95 <= row.ratio <= 1.01, row
    assert not row.exceeds
    assert rank(analyses)[0].resource == "node:B"


# --------------------------------------------------------------------------- the method on hand-made periods


def test_momentary_bottleneck_is_the_longest_ongoing_period() -> None:
    periods = {
        "a": np.array([[0.0, 4.0], [6.0, 7.0]]),
        "b": np.array([[1.0, 10.0]]),
        "c": np.array([[2.0, 5.0], [12.0, 13.0]]),
    }
    m = momentary_bottlenecks(periods)
    assert [(x[0], x[1], x[2]) for x in m] == [(0.0, 1.0, "a"), (1.0, 10.0, "b"), (12.0, 13.0, "c")]
    segs = [(s.start, s.end, s.resource, s.state) for s in shifting_timeline(m)]
    assert segs == [
        (0.0, 1.0, "a", "sole"),
        (1.0, 4.0, "a", "shifting"),
        (1.0, 4.0, "b", "shifting"),
        (4.0, 10.0, "b", "sole"),
        (12.0, 13.0, "c", "sole"),
    ]


def test_ties_go_to_the_earlier_period_then_the_given_order() -> None:
    periods = {"x": np.array([[1.0, 3.0]]), "y": np.array([[0.0, 2.0]]), "z": np.array([[0.0, 2.0]])}
    assert [x[2] for x in momentary_bottlenecks(periods, order=["z", "y", "x"])] == ["z", "x"]
    assert momentary_bottlenecks({"a": np.zeros((0, 2))}) == []


def test_overlapping_overlaps_make_every_neighbour_shifting() -> None:
    periods = {"a": np.array([[0.0, 50.0]]), "b": np.array([[5.0, 70.0]]), "c": np.array([[10.0, 100.0]])}
    segs = shifting_timeline(momentary_bottlenecks(periods))
    at_20 = {s.resource for s in segs if s.start <= 20.0 < s.end}
    assert at_20 == {"a", "b", "c"}
    assert all(s.state == "shifting" for s in segs if s.start <= 20.0 < s.end)
    assert [(s.start, s.end) for s in segs if s.resource == "c" and s.state == "sole"] == [(70.0, 100.0)]


# --------------------------------------------------------------------------- rules, shares, tables


def test_a_pool_is_active_only_when_saturated(tmp_path: Path) -> None:
    """Ten shuttles with one or two out at a time: busy under 'occupied', never saturated."""
    s = tandem()
    table = logged(s, tmp_path)
    sat = active_periods(table, s, rule="saturated")
    occ = active_periods(table, s, rule="occupied")

    def days(p: np.ndarray) -> float:
        return float((p[:, 1] - p[:, 0]).sum())

    assert days(sat["link:A_B"]) == 0.0
    assert days(occ["link:A_B"]) > 10.0
    # single servers: the two rules agree
    for name in ("node:A", "node:B", "node:C"):
        assert np.array_equal(sat[name], occ[name])
    with pytest.raises(ValueError, match="rule"):
        active_periods(table, s, rule="bogus")  # type: ignore[arg-type]


def test_lead_time_shares_add_up(tandem_base: Analysis) -> None:
    """Domestic flow, no funding or tender: nodes, links and the line hold the whole lead time."""
    total = sum(st.lead_time_share for st in tandem_base.stats)
    assert total == pytest.approx(1.0)
    shares = {st.resource.name: st.lead_time_share for st in tandem_base.stats}
    assert max(shares, key=shares.__getitem__) == "node:B"


def test_library_scenario_agency_and_supplier_lines(tmp_path: Path) -> None:
    s = load(SMALL)
    a = analyse(logged(s, tmp_path), s)
    names = [r.name for r in resources(s)]
    assert names == [st.resource.name for st in a.stats]
    assert {r.split(":")[0] for r in names} == {"agency", "supplier", "node", "link"}
    ag = a.stat("agency:nspa")
    assert 0 < ag.utilisation <= 1 and ag.lead_time_share > 0
    total = sum(st.lead_time_share for st in a.stats)
    assert 0 < total <= 1 + 1e-9
    for st in a.stats:
        assert 0 <= st.sole_share <= st.active_share + 1e-9
        assert st.shifting_share <= st.active_share + 1e-9
    # every resource can take more capacity, and the overrides are valid
    for r in resources(s):
        for add in ("1", "25%"):
            c = capacity_change(s, r, Addition.parse(add))
            assert c.after > c.before
            apply_overrides(s, c.overrides)
    table = ranking_table(rank([a]))
    assert table.num_rows == len(names) and table.column("rank").to_pylist() == list(range(1, len(names) + 1))
    tl = timeline_table(a)
    assert tl.column_names == ["start", "end", "resource", "state"]
    assert set(tl.column("state").to_pylist()) <= {"sole", "shifting"}


def test_a_supplier_with_two_lines_names_each(tmp_path: Path) -> None:
    s = load(SMALL)
    data = s.model_dump(by_alias=True, mode="python")
    sup = next(n for n in data["nodes"] if n["kind"] == "supplier")
    other = next(i["id"] for i in data["items"] if i["id"] not in {p["item"] for p in sup["products"]})
    sup["products"].append({"item": other, "rate_per_day": 5, "unit_price_eur": 1})
    s2 = Scenario.model_validate(data)
    names = [r.name for r in resources(s2) if r.kind == "supplier" and r.id == sup["id"]]
    assert len(names) == 2 and all("/" in n for n in names)
    c = capacity_change(s2, names[1], Addition.parse("1"))
    assert c.path == f"nodes.{sup['id']}.products.1.rate_per_day" and c.after == 5 + s2.item(other).lot_size
    a = analyse(logged(s2, tmp_path), s2)
    assert {st.resource.name for st in a.stats} >= set(names)


def test_addition_parsing() -> None:
    assert Addition.parse("2").count(3) == 5
    assert Addition.parse("25%").count(2) == 3  # ceil(2.5)
    assert Addition.parse("10%").count(1) == 2  # at least one more
    assert str(Addition.parse("50%")) == "+50%"
    for bad in ("0", "-1", "x", "%", "0%", "2000", "nan%"):
        with pytest.raises(BadAddition):
            Addition.parse(bad)


def test_response_pairs_each_variant_with_the_base(tmp_path: Path) -> None:
    base = tandem()
    change = capacity_change(base, "node:B", Addition.parse("1"))
    raised = apply_overrides(base, change.overrides)
    tables, top = [], []
    for rep in range(3):
        tables.append(kpi_table(logged(base, tmp_path, rep, "base"), base, "base", rep))
        t = logged(raised, tmp_path, rep, "raised")
        tables.append(kpi_table(t, raised, "raised", rep))
        top.append(analyse(t, raised))
    new = rank(top)[0]
    (row,) = response(pa.concat_tables(tables), "base", [Variant("raised", change, new.resource, new.bottleneck_share)])
    assert row.candidate == "node:B" and row.new_top == "node:C" and row.n == 3
    # B's 2 lots/day become C's 2.86/day: about 50 more lots by day 60
    assert row.d_units_low > 300 and row.d_units > 400
    assert math.isfinite(row.d_lead_days)  # more late lots delivered: the mean may rise
    assert row.as_dict()["candidate"] == "node:B"
    missing = response(pa.concat_tables(tables), "base", [Variant("nope", Change("x", "p", 1, 2, "t"), None, 0.0)])
    assert math.isnan(missing[0].d_units) and missing[0].n == 0
