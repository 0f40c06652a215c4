"""Replay: the state at t rebuilt from the written log equals the engine's own state at t; lineage.

The property test runs random valid scenarios (``tests/strategies.py``) with a probe process that
records the engine's state (``sim.run.end_state`` plus station, vehicle, line and lot counts) at
random instants between events, writes the log to Parquet, reads it back and replays it to
those instants.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections import deque
from collections.abc import Generator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import simpy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rundirs import make_run_dir
from strategies import scenarios

from results.kpis import lot_lead_times
from results.replay import (
    Replay,
    ReplayError,
    State,
    diff_end_states,
    end_state_from_log,
    lineage,
    lineages,
    state_at,
    verify_run,
)
from scenarios.errors import AidflowError
from scenarios.load import load
from scenarios.schema import Scenario
from sim.model.context import Context
from sim.model.handling import Station
from sim.run import build_context, end_state, run

ROOT = Path(__file__).resolve().parents[2]
SMALL = ROOT / "scenarios" / "small_routers.yaml"
FPV = ROOT / "scenarios" / "fpv_drones_2024_2025.yaml"
OFFSET = 0.000123457  # probes fall between the engine's instants (its times are sums of 3-decimal draws)
MAX_EVENTS = 60_000


# --------------------------------------------------------------------------- helpers


def _station_lots(st: Station) -> tuple[int, int]:
    """Lots waiting for a server and lots in service at ``st`` (a per-vehicle job counts each lot it holds).

    The queue holds one lot per job (its first); ``st.jobs`` the lots of every job of several
    lots, queued or in service; a lot of a job in service destroyed by a strike stays in its job,
    marked ``lost``, until the job ends.
    """
    q = st.queue
    queued = list(q) if isinstance(q, deque) else [entry[2] for entry in q._h]
    first_ids = {x.id for x in queued}
    waiting = sum(len(st.jobs.get(x.id) or [x]) for x in queued)
    extra = sum(sum(not x.lost for x in job) - 1 for fid, job in st.jobs.items() if fid not in first_ids)
    return waiting, st.busy + extra


def extras(ctx: Context) -> dict[str, Any]:
    """Engine internals the log must also explain: queued and in-service lots, busy servers, free vehicles, backlogs, open lots."""
    backlog: dict[str, int] = {}
    for (sup, _), ln in ctx.lines.items():
        backlog[ctx.node_ids[sup]] = backlog.get(ctx.node_ids[sup], 0) + ln.backlog
    lots = {ctx.node_ids[k]: _station_lots(s) for k, s in ctx.stations.items()}
    return {
        "queue": {n: q for n, (q, _) in lots.items()},
        "in_service": {n: x for n, (_, x) in lots.items()},
        "busy": {ctx.node_ids[k]: s.busy for k, s in ctx.stations.items()},
        "free": {ctx.link_ids[k]: sorted(c.free) for k, c in ctx.carriers.items()},
        "backlog": backlog,
        "open_lots": ctx.open_lots(),
    }


def probe(ctx: Context, times: list[float], out: list[tuple[float, dict[str, Any], dict[str, Any]]]) -> Generator:
    """Record the engine's state at each of ``times``."""
    env = ctx.env
    for p in times:
        if p > env.now:
            yield env.timeout(p - env.now)
        out.append((float(env.now), end_state(ctx), extras(ctx)))


def check_state(s: State, scenario: Scenario, engine: dict[str, Any], more: dict[str, Any]) -> None:
    assert diff_end_states(engine, s.end_state(scenario)) == []
    assert s.end_state(scenario) == engine
    for node, q in more["queue"].items():
        assert len(s.nodes[node].queue) == q, node
        assert len(s.nodes[node].in_service) == more["in_service"][node], node
        assert s.nodes[node].servers_busy == more["busy"][node], node  # jobs, read from the rows' values
    for link, free in more["free"].items():
        idle = sorted(v.vehicle for v in s.vehicles.values() if v.link == link and v.status == "idle")
        assert idle == free, link
    for node, b in more["backlog"].items():
        assert s.nodes[node].backlog_units == b, node
    assert len(s.lots) == more["open_lots"]
    # between instants every lot in the network is in exactly one place
    places: list[int] = []
    for ns in s.nodes.values():
        places += ns.queue + ns.in_service + [lot for w in ns.waiting.values() for lot in w]
    for v in s.vehicles.values():
        places += v.lots
        assert v.qty == sum(s.lots[lot].qty for lot in v.lots)
        assert (v.status in ("idle", "returning")) == (not v.lots), v
    assert sorted(places) == sorted(s.lots)
    for c in s.contracts.values():
        assert 0 <= c.produced <= c.qty and c.delivered + c.lost <= c.produced


# --------------------------------------------------------------------------- the property


def _run(
    scenario: Scenario, times: list[float], records: list[Any], max_events: int | None = MAX_EVENTS
) -> tuple[Context, bool]:
    ctx = build_context(scenario, max_events=max_events)
    ctx.env.process(probe(ctx, times, records))
    try:
        ctx.env.run(until=scenario.horizon_days)
    except (AidflowError, simpy.exceptions.SimPyException):
        return ctx, False  # an event budget or a dead end: the probes recorded so far still count
    return ctx, True


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(scenario=scenarios(), data=st.data())
def test_state_at_equals_engine_state(scenario: Scenario, data: st.DataObject, tmp_path_factory: Any) -> None:
    # probe where the work is: a first run gives the instants; each probe falls halfway between
    # an instant (drawn row by row, so busy stretches get more probes) and the next one
    first, _ = _run(scenario, [], [])
    t = np.asarray(first.log.table().column("t").to_numpy(), dtype=np.float64)
    uniq = np.unique(t)
    mids = (uniq[:-1] + uniq[1:]) / 2
    times: list[float] = []
    if len(mids):
        rows = data.draw(st.lists(st.integers(0, len(t) - 1), min_size=1, max_size=10), label="rows")
        times += [float(mids[min(int(np.searchsorted(uniq, t[i])), len(mids) - 1)]) for i in rows]
    horizon_ms = int(scenario.horizon_days * 1000)
    ks = data.draw(st.lists(st.integers(0, horizon_ms - 1), max_size=3), label="anywhere")
    times += [k / 1000 + OFFSET for k in ks]
    times = sorted(set(times))
    records: list[tuple[float, dict[str, Any], dict[str, Any]]] = []
    ctx, finished = _run(scenario, times, records)
    path = tmp_path_factory.mktemp("replay") / "part.parquet"
    pq.write_table(ctx.log.table(), path, compression="zstd")
    table = pq.read_table(path)
    assert np.array_equal(np.asarray(table.column("t").to_numpy()), t)  # probes did not change the run
    replay = Replay(table, scenario)
    for when, engine, more in records:
        check_state(replay.at(when), scenario, engine, more)
    if records:  # random access: backwards too
        when, engine, more = records[0]
        check_state(state_at(table, when, scenario), scenario, engine, more)
    if finished:
        assert end_state_from_log(table, scenario) == end_state(ctx)


# --------------------------------------------------------------------------- library scenario


@pytest.fixture(scope="module")
def small() -> Scenario:
    return load(SMALL)


@pytest.fixture(scope="module")
def small_run(small: Scenario) -> tuple[pa.Table, Any]:
    log, result = run(small)
    return log.table(), result


def test_end_state_from_log_matches_engine_for_every_strategy(small: Scenario) -> None:
    for name in ["baseline", *(x.name for x in small.strategies)]:
        log, result = run(small, name)
        resolved = small.with_strategy(name)
        assert end_state_from_log(log.table(), resolved) == result.end, name
        assert end_state_from_log(log, resolved) == result.end  # an EventLog works too


def test_state_semantics(small: Scenario, small_run: tuple[pa.Table, Any]) -> None:
    table, _ = small_run
    t = table.column("t").to_numpy()
    day = float(t[len(t) // 2])  # an instant with rows: they are all applied
    s = state_at(table, day, small)
    assert s.rows == int(np.count_nonzero(t <= day))
    before = state_at(table, -1.0, small)
    assert before.rows == 0 and before.budget_eur == {"luxembourg": 0.0, "estonia": 0.0, "latvia": 0.0}
    assert before.stock == {"brigade_south/charger": 10}
    assert all(v.status == "idle" for v in before.vehicles.values())
    end = state_at(table, 1e9, small)
    assert end.rows == table.num_rows
    assert not end.open_requirements and not end.open_contracts and not end.lots
    json.dumps(end.to_dict())  # plain data
    r = Replay(table, small)
    later, earlier = r.at(100.0), r.at(20.0)
    assert earlier.rows == state_at(table, 20.0, small).rows and later.rows >= earlier.rows


def test_state_without_scenario_names_requirements_by_index(small_run: tuple[pa.Table, Any]) -> None:
    table, _ = small_run
    s = state_at(table, 1e9)
    assert set(s.requirements) == {"#0", "#1", "#2"}
    assert all(r.closed for r in s.requirements.values())


def test_bad_input(small_run: tuple[pa.Table, Any]) -> None:
    table, _ = small_run
    with pytest.raises(ReplayError, match="finite"):
        state_at(table, math.nan)
    two = pa.concat_tables(
        [table.append_column("replication", pa.array([r] * table.num_rows, pa.int64())) for r in (0, 1)]
    )
    with pytest.raises(ReplayError, match="replication"):
        state_at(two, 5.0)
    with pytest.raises(ReplayError, match="no lot 999"):
        lineage(table, lot=999)
    with pytest.raises(ReplayError, match="exactly one"):
        lineage(table)
    with pytest.raises(ReplayError, match="no requirement"):
        lineage(table, requirement="R9", scenario=load(SMALL))
    with pytest.raises(ReplayError):
        state_at(object(), 1.0)


def _per_vehicle_border() -> Scenario:
    """30 lots in stock; 10 trucks of 3 lots reach a ``serve: vehicle`` border (1 lane, 1 day a job) together."""
    start = dt.date(2025, 1, 1)
    return Scenario.model_validate(
        {
            "name": "per_vehicle",
            "start": start,
            "horizon_days": 200,
            "seed": 11,
            "items": [{"id": "box", "unit_value_eur": 1, "volume_m3": 0.1, "lot_size": 10, "priority": 5}],
            "nodes": [
                {
                    "id": "sup",
                    "kind": "supplier",
                    "products": [{"item": "box", "rate_per_day": 1, "unit_price_eur": 1, "initial_stock": 300}],
                },
                {"id": "border", "kind": "border", "servers": 1, "service_days": 1.0, "serve": "vehicle"},
                {"id": "unit", "kind": "unit"},
                {"id": "donor", "kind": "donor", "budget_eur": 1e9},
                {"id": "agency", "kind": "agency", "staff": 1, "tender_days": 1},
            ],
            "links": [
                {"id": "in", "from": "sup", "to": "border", "mode": "road", "transit_days": 1.0}
                | {"vehicles": 10, "capacity_m3": 3.0},
                {"id": "out", "from": "border", "to": "unit", "mode": "road", "transit_days": 1.0}
                | {"vehicles": 30, "capacity_m3": 1.0},
            ],
            "requirements": [
                {"id": "R1", "unit": "unit", "item": "box", "qty": 300, "need_by": start, "funders": ["donor"]}
            ],
        }
    )


def test_per_vehicle_station_counts_lots_and_one_server_per_job() -> None:
    """By hand: all 30 lots arrive at t0; job k (3 lots) is in service from t0 + k to t0 + k + 1.

    Half a day into job k the border holds 30 - 3k lots (27 - 3k queued, 3 in service) and one
    busy lane; served lots leave at once (30 one-lot trucks wait on ``out``).
    """
    s = _per_vehicle_border()
    first, finished = _run(s, [], [])
    assert finished
    table = first.log.table()
    kinds = np.asarray(table.column("kind").to_pylist(), dtype=object)
    nodes = np.asarray(table.column("node").to_pylist(), dtype=object)
    t = table.column("t").to_numpy()
    arrivals = t[(kinds == "arrived") & (nodes == "border")]
    t0 = float(arrivals.min())
    assert len(arrivals) == 30 and np.all(arrivals == t0)
    times = [t0 + k + 0.5 for k in range(10)]
    records: list[tuple[float, dict[str, Any], dict[str, Any]]] = []
    ctx, finished = _run(s, times, records)
    assert finished and len(records) == 10
    replay = Replay(ctx.log.table(), s)
    for k, (when, engine, more) in enumerate(records):
        assert engine["at_stations"]["border"] == 30 - 3 * k, when
        state = replay.at(when)
        border = state.nodes["border"]
        assert (len(border.queue), len(border.in_service), border.servers_busy) == (27 - 3 * k, 3, 1), when
        assert more["queue"]["border"] == 27 - 3 * k and more["in_service"]["border"] == 3
        check_state(state, s, engine, more)


def test_requirement_contracted_in_parts_with_one_supplier_is_one_contract() -> None:
    """EUR 50,000 pays 63 routers at EUR 770 + 2 % fee; a EUR 500,000 tranche on day 60 the other 537.

    Two ``contract_awarded`` rows for R1 at ``maker`` (63, then 537): the contract R1@maker is
    their sum, 600 routers worth 600 x 770 = EUR 462,000, and every lot produced counts once.
    """
    start = dt.date(2025, 1, 1)
    s = Scenario.model_validate(
        {
            "name": "parts",
            "start": start,
            "horizon_days": 200,
            "seed": 1,
            "items": [{"id": "router", "unit_value_eur": 77.0, "volume_m3": 0.01, "lot_size": 1}],
            "nodes": [
                {
                    "id": "maker",
                    "kind": "supplier",
                    "products": [{"item": "router", "rate_per_day": 1000, "unit_price_eur": 770.0}],
                },
                {"id": "unit", "kind": "unit"},
                {"id": "donor", "kind": "donor", "budget_eur": 50_000, "bilateral_lead_days": 10}
                | {"tranches": [{"date": start + dt.timedelta(days=60), "amount_eur": 500_000}]},
                {"id": "agency", "kind": "agency", "staff": 1, "tender_days": 5, "fee_share": 0.02},
            ],
            "links": [
                {"id": "road", "from": "maker", "to": "unit", "mode": "road", "transit_days": 1}
                | {"vehicles": 50, "capacity_m3": 100.0},
            ],
            "requirements": [
                {"id": "R1", "unit": "unit", "item": "router", "qty": 600, "need_by": start + dt.timedelta(days=100)}
                | {"funders": ["donor"], "channel": "agency"},
            ],
        }
    )
    records: list[tuple[float, dict[str, Any], dict[str, Any]]] = []
    ctx, finished = _run(s, [6.5, 30.5, 60.5, 61.5, 150.5], records)
    assert finished and len(records) == 5
    replay = Replay(ctx.log.table(), s)
    for when, engine, more in records:
        check_state(replay.at(when), s, engine, more)
    before, after = replay.at(59.5).contracts["R1@maker"], replay.at(150.5).contracts["R1@maker"]
    assert (before.qty, before.value_eur, before.awarded_day) == (63, pytest.approx(63 * 770), 5.0)
    assert (after.qty, after.value_eur, after.awarded_day) == (600, pytest.approx(600 * 770), 5.0)
    assert after.produced == after.delivered == 600


# --------------------------------------------------------------------------- lineage


def test_lineage_stages_add_up_and_agree_with_kpis(small: Scenario, small_run: tuple[pa.Table, Any]) -> None:
    table, result = small_run
    every = lineages(table, small, end=result.end_day)
    lead = lot_lead_times(table).to_pylist()
    assert len(lead) == sum(lg.outcome == "delivered" for lg in every.values())
    for row in lead:
        lg = every[row["lot"]]
        days = {k: sum(s.days for s in lg.stages if s.kind == k) for k in ("funding", "tender", "production")}
        for k, v in days.items():
            assert v == pytest.approx(row[f"{k}_days"], abs=1e-9), (lg.lot, k)
        assert sum(s.days for s in lg.stages if s.kind == "handling") == pytest.approx(row["handling_days"], abs=1e-9)
        assert sum(s.days for s in lg.stages if s.kind == "transit") == pytest.approx(row["transit_days"], abs=1e-9)
        assert sum(s.days for s in lg.stages) == pytest.approx(row["lead_time_days"], abs=1e-9)
        for a, b in zip(lg.stages, lg.stages[1:], strict=False):  # contiguous
            assert a.end == pytest.approx(b.start)
        assert lg.done_day is not None and lg.need_by_day is not None
        assert lg.excess_days == pytest.approx(lg.done_day - (lg.need_by_day + 1))  # past the end of the date


def test_lineage_of_a_lot_has_its_rows(small: Scenario, small_run: tuple[pa.Table, Any]) -> None:
    table, _ = small_run
    lg = lineage(table, lot=3, scenario=small)
    kinds = [r.kind for r in lg.rows]
    assert kinds[0] == "requirement_opened" and "lot_produced" in kinds and "delivered" in kinds
    assert "departed" in kinds  # the vehicles it rode
    assert all(r.lot in (-1, 3) for r in lg.rows)
    assert lg.requirement == "R1" and lg.outcome == "delivered" and not lg.late and lg.culprit is None


def test_lineage_of_a_requirement(small: Scenario, small_run: tuple[pa.Table, Any]) -> None:
    table, _ = small_run
    by_id = lineage(table, requirement="R2", scenario=small)
    assert by_id.subject == "requirement R2" and by_id.outcome == "filled"
    assert by_id.lots and all(x.requirement == "R2" for x in by_id.lots)
    last = max(by_id.lots, key=lambda x: x.done_day or 0.0)
    assert by_id.critical_lot == last.lot and by_id.stages == last.stages
    filled = [r for r in by_id.rows if r.kind == "requirement_filled"]
    assert by_id.excess_days == pytest.approx(filled[0].value)
    assert lineage(table, requirement=1, scenario=small).subject == "requirement R2"


def _closure_scenario(small: Scenario) -> Scenario:
    """The small scenario with the border closed for 30 days from 20 June and R2 due 15 July."""
    d = small.model_dump(by_alias=True)
    d["disruptions"] = [
        {**d["disruptions"][0], "start": dt.date(2025, 6, 20), "duration_days": 30.0},
    ]
    d["requirements"][1]["need_by"] = dt.date(2025, 7, 15)
    return Scenario.model_validate(d)


def test_a_lot_stuck_at_the_closed_border_names_its_queue(small: Scenario) -> None:
    """Lanes closed from 20 June for 30 days: a lot queued there meanwhile waits until they reopen."""
    s = _closure_scenario(small)
    log, result = run(s)
    every = lineages(log.table(), s, end=result.end_day)
    closed = s.day_of(dt.date(2025, 6, 20))
    reopened = closed + 30.0
    stuck = [
        (lg, x)
        for lg in every.values()
        for x in lg.steps
        if x.kind == "queue" and x.resource == "node korczowa_krakovets" and closed <= x.start < reopened
    ]
    assert stuck
    for lg, x in stuck:
        assert x.end is not None and x.end >= reopened - 1e-9  # no lane serves before the border reopens
        (stage,) = [st_ for st_ in lg.stages if st_.name == "handling korczowa_krakovets"]
        assert stage.detail["queue"] == pytest.approx(x.days)
        if lg.late and x.days > lg.wait_days / 2:  # more than half its waiting: the largest wait
            assert lg.culprit is not None
            assert (lg.culprit.kind, lg.culprit.resource) == ("queue", "node korczowa_krakovets")
    assert any(
        lg.late and lg.culprit is not None and lg.culprit.resource == "node korczowa_krakovets" for lg, _ in stuck
    )


def test_steps_agree_with_the_stages_of_a_library_scenario() -> None:
    """The waits and work of each lot are the parts of its stages (which agree with the KPIs)."""
    s = load(FPV)
    log, result = run(s)
    every = lineages(log.table(), s, end=result.end_day)
    assert any(lg.late for lg in every.values())
    for lg in every.values():
        by: dict[tuple[str, str], float] = {}
        for x in lg.steps:
            by[(x.kind, x.resource)] = by.get((x.kind, x.resource), 0.0) + x.days
        vehicle = 0.0
        for st_ in lg.stages:
            if st_.kind == "handling":
                node = f"node {st_.where}"
                assert by.get(("queue", node), 0.0) == pytest.approx(st_.detail.get("queue", 0.0), abs=1e-9)
                assert by.get(("service", node), 0.0) == pytest.approx(st_.detail.get("service", 0.0), abs=1e-9)
                vehicle += st_.detail.get("wait_vehicle", 0.0)
            elif st_.kind == "transit" and st_.end is not None:
                link = f"link {st_.where}"
                assert by.get(("transit", link), 0.0) == pytest.approx(st_.detail.get("travel", 0.0), abs=1e-9)
                assert by.get(("departure", link), 0.0) == pytest.approx(st_.detail.get("loading", 0.0), abs=1e-9)
        assert sum(d for (k, _), d in by.items() if k == "vehicle") == pytest.approx(vehicle, abs=1e-9)
        assert sum(x.days for x in lg.steps) == pytest.approx(sum(st_.days for st_ in lg.stages), abs=1e-6)
        assert lg.no_wait_days + lg.wait_days == pytest.approx(sum(x.days for x in lg.steps))
        if lg.late and lg.waits:
            assert lg.culprit is not None and lg.culprit.days == max(w.days for w in lg.waits)


# --------------------------------------------------------------------------- verify_run


def test_verify_run(tmp_path: Path, small: Scenario) -> None:
    run_dir = make_run_dir(tmp_path / "run", small, ("baseline", "more_lanes"), reps=1)
    assert verify_run(run_dir) == []
    manifest_path = run_dir / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    part = manifest["parts"][0]
    part["end"]["stock"]["brigade_south/charger"] += 1
    part["end"]["requirements"]["R1"]["closed"] = False
    part["counters"]["units_delivered"] = 1
    manifest_path.write_text(json.dumps(manifest))
    problems = verify_run(run_dir)
    assert any("stock.brigade_south/charger" in p for p in problems)
    assert any("requirements.R1.closed" in p for p in problems)
    assert any("counters.units_delivered" in p for p in problems)
    assert all(p.startswith("baseline rep 0:") for p in problems)
    del manifest["parts"][1]["end"]
    manifest_path.write_text(json.dumps(manifest))
    assert any("records no engine end state" in p for p in verify_run(run_dir))
    part_file = run_dir / manifest["parts"][1]["path"]
    part_file.write_bytes(part_file.read_bytes()[:-10])
    assert any("sha256" in p for p in verify_run(run_dir))
    with pytest.raises(AidflowError):
        verify_run(tmp_path / "nowhere")


@pytest.mark.parametrize(
    ("name", "probes"), [("small_routers", 150), ("ramstein_package_2025", 80), ("fpv_drones_2024_2025", 40)]
)
def test_state_at_equals_engine_state_on_library_scenarios(name: str, probes: int, tmp_path: Path) -> None:
    scenario = load(ROOT / "scenarios" / f"{name}.yaml")
    first, _ = _run(scenario, [], [], None)
    t = np.asarray(first.log.table().column("t").to_numpy(), dtype=np.float64)
    uniq = np.unique(t)
    mids = (uniq[:-1] + uniq[1:]) / 2
    rng = np.random.default_rng(7)
    times = sorted(
        {float(mids[min(int(np.searchsorted(uniq, t[i])), len(mids) - 1)]) for i in rng.integers(0, len(t), probes)}
    )
    records: list[tuple[float, dict[str, Any], dict[str, Any]]] = []
    ctx, finished = _run(scenario, times, records, None)
    assert finished
    path = tmp_path / "part.parquet"
    pq.write_table(ctx.log.table(), path, compression="zstd")
    replay = Replay(pq.read_table(path), scenario)
    assert len(records) == len(times)
    busy = 0
    for when, engine, more in records:
        check_state(replay.at(when), scenario, engine, more)
        busy += sum(more["busy"].values()) + sum(more["queue"].values())
    assert busy > 0  # the probes saw work at the stations
    assert end_state_from_log(replay.columns, scenario) == end_state(ctx)
