"""KPIs recomputed from the event log read back from disk agree with the engine's own view."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from results.kpis import (
    COUNTER_KEYS,
    KPI_COLUMNS,
    KPI_NAMES,
    STAGES,
    compute_kpis,
    deliveries,
    end_counters,
    event_arrays,
    kpi_table,
    lot_lead_times,
    summarise,
    time_weighted,
    weighted_quantile,
)
from results.store.hashing import table_sha256
from results.store.reading import read_events
from results.store.run_store import RunStore
from scenarios.load import load
from scenarios.schema import Scenario
from scenarios.strategies import apply_overrides
from sim.run import RunResult, build_context, run

SMALL = Path(__file__).resolve().parents[2] / "scenarios" / "small_routers.yaml"
STRATEGIES = ("baseline", "bilateral", "more_lanes")
REPS = 3


@pytest.fixture(scope="module")
def small() -> Scenario:
    return load(SMALL)


@pytest.fixture(scope="module")
def variants(small: Scenario) -> dict[str, Scenario]:
    """The library scenario, and versions that lose lots and run out of stock."""

    def variant(overrides: dict[str, object]) -> Scenario:
        return apply_overrides(small, overrides).model_copy(update={"strategies": small.strategies})

    return {
        "small": small,
        "lossy": variant({"links.road_lviv_east.loss_probability": 0.4}),
        "hungry": variant({"nodes.brigade_south.consumption_per_day": {"charger": 4}}),
    }


Part = tuple[Scenario, str, int, RunResult, pa.Table]


@pytest.fixture(scope="module")
def parts(tmp_path_factory: pytest.TempPathFactory, variants: dict[str, Scenario]) -> list[Part]:
    """Every (variant, strategy, replication) run into a run directory and read back from disk."""
    out: list[Part] = []
    for name, s in variants.items():
        store = RunStore(tmp_path_factory.mktemp("runs") / name, scenario_name=s.name, seeds=[s.seed])
        for strategy in STRATEGIES:
            for rep in range(REPS):
                w = store.open_part(strategy, rep)
                _, res = run(s, strategy, rep, sink=w, rows_per_batch=97)
                sha, rows = w.close()
                store.finish_part(strategy, rep, sha, rows, dataclasses.asdict(res))
        store.set_status("completed")
        for strategy in STRATEGIES:
            for rep in range(REPS):
                out.append((s, strategy, rep, _result(store, strategy, rep), read_events(store.root, strategy, rep)))
    return out


def _result(store: RunStore, strategy: str, rep: int) -> RunResult:
    """The engine's result of a part, as recorded in the manifest."""
    p = next(p for p in store.manifest["parts"] if p["strategy"] == strategy and p["replication"] == rep)
    return RunResult(
        scenario=store.manifest["scenario"],
        strategy=strategy,
        replication=rep,
        seed=p["seed"],
        status=p["status"],
        end_day=p["end_day"],
        horizon_days=p["horizon_days"],
        rows=p["rows"],
        wall_s=p["wall_s"],
        counters=p["counters"],
    )


def test_engine_counters_equal_the_counters_of_the_log(parts: list[Part]) -> None:
    lost: float = 0
    for _, strategy, rep, res, table in parts:
        got = end_counters(table)
        assert set(got) == set(COUNTER_KEYS)
        assert set(res.counters) <= set(COUNTER_KEYS)
        for key in COUNTER_KEYS:
            want = res.counters.get(key, 0)
            if key == "eur_committed":
                assert got[key] == pytest.approx(want, rel=1e-12, abs=1e-6), (strategy, rep, key)
            else:
                assert got[key] == want, (strategy, rep, key)
        lost += got["units_lost"]
    assert lost > 0  # the lossy variant exercised lost lots


def test_stage_shares_sum_to_one_and_stages_add_up_to_the_lead_time(parts: list[Part]) -> None:
    for s, strategy, _, res, table in parts:
        k = compute_kpis(table, s.with_strategy(strategy), end=res.end_day)
        for item in [i.id for i in s.items] + [None]:
            shares = [k[(f"stage_share_{st}", item, None, None)] for st in STAGES]
            assert all(x is not None and 0.0 <= x <= 1.0 for x in shares)
            assert math.fsum(x for x in shares if x is not None) == pytest.approx(1.0, abs=1e-12)
            means = [k[(f"stage_mean_days_{st}", item, None, None)] or 0.0 for st in STAGES]
            assert math.fsum(means) == pytest.approx(k[("lead_time_mean_days", item, None, None)], rel=1e-9)
            p50, p90, p95 = (k[(f"lead_time_p{q}_days", item, None, None)] for q in (50, 90, 95))
            assert p50 is not None and p90 is not None and p95 is not None
            assert 0 < p50 <= p90 <= p95
        lots = lot_lead_times(table)
        stage_sum = sum(lots.column(f"{st}_days").to_numpy() for st in STAGES)
        np.testing.assert_allclose(stage_sum, lots.column("lead_time_days").to_numpy(), rtol=0, atol=1e-9)
        for st in STAGES:
            assert pc.min(lots.column(f"{st}_days")).as_py() >= 0.0
        assert lots.num_rows == res.counters["lots_done"] - _lost_lots(table)


def _lost_lots(table: pa.Table) -> int:
    return int(pc.sum(pc.equal(table.column("kind").cast(pa.string()), "lost")).as_py() or 0)


def test_otif_fill_rate_and_deliveries(parts: list[Part]) -> None:
    otifs = []
    for s, strategy, _, res, table in parts:
        k = compute_kpis(table, s.with_strategy(strategy), end=res.end_day)
        for item in [i.id for i in s.items] + [None]:
            otif = k[("otif", item, None, None)]
            assert otif is not None and 0.0 <= otif <= 1.0
            otifs.append(otif)
            fill = k[("fill_rate", item, None, None)]
            assert fill is not None and 0.0 <= fill <= 1.0
        d = deliveries(table)
        assert pc.sum(d.column("qty")).as_py() == res.counters["units_delivered"]
        last: dict[tuple[str, str], int] = {}
        for item, unit, cum in zip(*(d.column(c).to_pylist() for c in ("item", "unit", "cum_qty")), strict=True):
            assert cum > last.get((item, unit), 0)
            last[(item, unit)] = cum
        for (item, unit), cum in last.items():
            assert k[("delivered_units", item, unit, None)] == cum
    assert min(otifs) < 1.0 < max(otifs) + 1e-9  # some requirement missed (lossy, hungry variants)


def test_resource_kpis_are_in_range_and_stockouts_are_counted(parts: list[Part]) -> None:
    short = 0.0
    for s, strategy, _, res, table in parts:
        k = compute_kpis(table, s.with_strategy(strategy), end=res.end_day)
        assert {key[0] for key in k} <= set(KPI_NAMES)
        for (kpi, _, _, _), v in k.items():
            if kpi == "utilisation":
                assert v is not None and 0.0 <= v <= 1.0
            if kpi.startswith(("queue_", "wait_", "wip_", "busy_")) and v is not None:
                assert v >= 0.0
        lanes = k[("capacity", None, "korczowa_krakovets", None)]
        assert lanes == (5.0 if strategy == "more_lanes" else 3.0)
        short += k[("units_short", "charger", "brigade_south", None)] or 0.0
        if s.name == "small_routers" and strategy == "bilateral":
            assert k[("tenders", None, "nspa", None)] == 0.0
    assert short > 0


def test_time_weighted_kpis_match_the_engines_busy_time(variants: dict[str, Scenario]) -> None:
    """Busy servers, vehicles and officers integrated from the log == the engine's own sums."""
    s = variants["small"]
    ctx = build_context(s, replication=1)
    ctx.env.run(until=s.horizon_days)
    k = compute_kpis(ctx.log.table(), s, end=s.horizon_days)
    T = s.horizon_days
    for node, st in ctx.stations.items():
        busy = k[("busy_mean", None, ctx.node_ids[node], None)]
        assert busy is not None and busy * T == pytest.approx(st.busy_time, rel=1e-9)
    for link, c in ctx.carriers.items():
        away = k[("busy_mean", None, None, ctx.link_ids[link])]
        assert away is not None and away * T == pytest.approx(c.busy_vehicle_days, rel=1e-9)


def test_kpis_are_deterministic(tmp_path: Path, small: Scenario) -> None:
    shas = []
    for name in ("a", "b"):
        store = RunStore(tmp_path / name)
        w = store.open_part("more_lanes", 2)
        _, res = run(small, "more_lanes", 2, sink=w)
        w.close()
        table = read_events(store.root, "more_lanes", 2)
        shas.append(table_sha256(kpi_table(table, small, "more_lanes", 2, end=res.end_day)))
    assert shas[0] == shas[1]


def test_kpi_table_and_summary(parts: list[Part], small: Scenario) -> None:
    tables = [kpi_table(table, s, strategy, rep, res.end_day) for s, strategy, rep, res, table in parts if s is small]
    for tb in tables:
        assert tuple(tb.column_names) == KPI_COLUMNS
        assert tb.schema.field("value").type == pa.float64()
    base = summarise([t for t in tables if t.column("strategy")[0].as_py() == "baseline"])
    rows = {(r["kpi"], r["item"], r["node"], r["link"]): r for r in base.to_pylist()}
    lead = rows[("lead_time_mean_days", "router", None, None)]
    vals = [
        v
        for tb in tables[:REPS]
        for v, kpi, item in zip(*(tb.column(c).to_pylist() for c in ("value", "kpi", "item")), strict=True)
        if kpi == "lead_time_mean_days" and item == "router"
    ]
    assert lead["n"] == REPS and lead["strategy"] == "baseline"
    assert lead["mean"] == pytest.approx(np.mean(vals)) and lead["std"] == pytest.approx(np.std(vals, ddof=1))
    assert lead["ci95_low"] < lead["mean"] < lead["ci95_high"]
    half = 4.302652729911275 * lead["std"] / math.sqrt(REPS)  # t(0.975, 2)
    assert lead["ci95_high"] - lead["mean"] == pytest.approx(half)
    assert rows[("units_delivered", None, None, None)]["std"] == 0.0
    assert rows[("wait_mean_days", None, "korczowa_krakovets", None)]["n"] == REPS


def test_kpi_helpers() -> None:
    g = np.array([0, 1, 0, 0, 1])
    t = np.array([0.0, 1.0, 2.0, 2.0, 5.0])
    d = np.array([1, 1, 1, -1, -1])
    integral, peak = time_weighted(g, t, d, 2, 10.0)
    assert integral.tolist() == [10.0, 4.0]  # node 0: 1 the whole time (2 at t=2 for no time)
    assert peak.tolist() == [1.0, 1.0]
    assert weighted_quantile(np.array([1.0, 2.0, 3.0]), np.array([1, 1, 8]), 0.2) == 2.0
    assert math.isnan(weighted_quantile(np.zeros(0), np.zeros(0), 0.5))


def test_event_arrays_refuse_several_replications(parts: list[Part]) -> None:
    two = pa.concat_tables(
        [
            tb.append_column("replication", pa.array([rep] * tb.num_rows, type=pa.int64()))
            for _, strategy, rep, _, tb in parts[:2]
        ]
    )
    with pytest.raises(ValueError, match="replication"):
        event_arrays(two)
