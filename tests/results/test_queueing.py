"""Queueing theory checks of the engine and the KPIs, on logs read back from disk.

- M/M/c: the mean wait in queue at a hub matches Erlang C within a 99% confidence interval
  over independent replications.
- Little's law: on a drained run the time-average number of lots at a node equals the arrival
  rate times the mean sojourn (a sample-path identity, so up to float rounding).

Poisson arrivals at the hub are built from the engine's own features: a supplier whose stock
covers every lot at day 0 feeds a link with one vehicle that holds one lot, leaves at once
(``immediate``), travels an exponential time of mean 1/lambda and is back instantly. Its
departures, hence the hub's arrivals, form a renewal process with exponential gaps: a
Poisson process of rate lambda, because the link's queue never runs dry. The hub has ``c``
servers with exponential service; a link with a fast vehicle of ample capacity takes the
lots on to the unit, so nothing blocks the hub.
"""

from __future__ import annotations

import dataclasses
import math
from collections import defaultdict
from pathlib import Path

import pyarrow as pa
import pytest
from scipy import stats

from results.kpis import compute_kpis, kpi_table, summarise
from results.store.reading import read_events
from results.store.run_store import RunStore
from scenarios.load import load
from scenarios.schema import Scenario
from sim.run import RunResult, run

SMALL = Path(__file__).resolve().parents[2] / "scenarios" / "small_routers.yaml"

LOTS = 6_000
"""Lots per replication (arrivals at the hub)."""
REPS = 10
"""Independent replications per M/M/c case."""


def erlang_c_wait(lam: float, mu: float, c: int) -> float:
    """Mean wait in queue of M/M/c (Erlang C): ``C(c, a) / (c mu - lambda)``, ``a = lambda / mu``."""
    a = lam / mu
    rho = a / c
    assert rho < 1
    tail = a**c / math.factorial(c) / (1 - rho)
    p_wait = tail / (sum(a**k / math.factorial(k) for k in range(c)) + tail)
    return p_wait / (c * mu - lam)


def mmc_scenario(lam: float, mu: float, c: int, lots: int, seed: int = 7) -> Scenario:
    """Poisson(lam) arrivals of ``lots`` one-unit lots at a hub with ``c`` Exp(mu) servers."""
    horizon = lots / lam * 1.3 + 200.0
    return Scenario.model_validate(
        {
            "name": f"mm{c}",
            "start": "2025-01-01",
            "horizon_days": horizon,
            "seed": seed,
            "items": [{"id": "box", "unit_value_eur": 1, "volume_m3": 1.0, "lot_size": 1}],
            "nodes": [
                {
                    "id": "src",
                    "kind": "supplier",
                    "domestic": True,
                    "products": [{"item": "box", "rate_per_day": 1, "unit_price_eur": 1, "initial_stock": lots}],
                },
                {"id": "hub", "kind": "hub", "servers": c, "service_days": {"dist": "exponential", "mean": 1 / mu}},
                {"id": "unit", "kind": "unit"},
                {"id": "ua_state", "kind": "donor", "state_budget": True, "budget_eur": "unlimited"},
            ],
            "links": [
                {
                    "id": "feed",
                    "from": "src",
                    "to": "hub",
                    "mode": "road",
                    "vehicles": 1,
                    "capacity_m3": 1.0,
                    "transit_days": {"dist": "exponential", "mean": 1 / lam},
                    "return_days": 0,
                    "dispatch": {"rule": "immediate"},
                },
                {
                    "id": "away",
                    "from": "hub",
                    "to": "unit",
                    "mode": "road",
                    "vehicles": 1,
                    "capacity_m3": 1e9,
                    "transit_days": 0,
                    "return_days": 0,
                },
            ],
            "requirements": [
                {"id": "R", "unit": "unit", "item": "box", "qty": lots, "need_by": "2025-01-02", "channel": "domestic"}
            ],
        }
    )


def run_to_disk(root: Path, s: Scenario, reps: int) -> list[tuple[RunResult, pa.Table]]:
    """Run ``reps`` replications into a run directory and read each part back."""
    store = RunStore(root, scenario_name=s.name, seeds=[s.seed])
    out = []
    for rep in range(reps):
        w = store.open_part("baseline", rep)
        _, res = run(s, "baseline", rep, sink=w)
        sha, rows = w.close()
        store.finish_part("baseline", rep, sha, rows, dataclasses.asdict(res))
        out.append((res, read_events(root, "baseline", rep)))
    store.set_status("completed")
    return out


def test_erlang_c_formula() -> None:
    assert erlang_c_wait(0.5, 1.0, 1) == pytest.approx(0.5 / (1.0 - 0.5))  # M/M/1: rho / (mu - lambda)
    # M/M/2, a = 1: C = 1/3, Wq = C / (2 mu - lambda) = 1/3
    assert erlang_c_wait(1.0, 1.0, 2) == pytest.approx(1 / 3)


@pytest.mark.parametrize(("rho", "c"), [(0.5, 1), (0.8, 3), (0.8, 10)])
def test_mean_wait_at_an_mmc_hub_matches_erlang_c(tmp_path: Path, rho: float, c: int) -> None:
    lam = 1.0
    mu = lam / (c * rho)
    s = mmc_scenario(lam, mu, c, LOTS)
    tables = []
    for rep, (res, table) in enumerate(run_to_disk(tmp_path / "run", s, REPS)):
        assert res.status == "completed"
        assert res.counters["lots_done"] == LOTS
        tables.append(kpi_table(table, s, "baseline", rep, end=res.end_day))
    summary = {(r["kpi"], r["node"]): r for r in summarise(tables).to_pylist()}
    wait = summary[("wait_mean_days", "hub")]
    n, mean, std = wait["n"], wait["mean"], wait["std"]
    assert n == REPS
    half = float(stats.t.ppf(0.995, n - 1)) * std / math.sqrt(n)
    expected = erlang_c_wait(lam, mu, c)
    assert abs(mean - expected) <= half, f"Wq {mean:.4f} ± {half:.4f}, Erlang C {expected:.4f}"
    assert half < 0.5 * expected  # the interval is informative
    # the servers served every lot, each for a mean of 1/mu
    busy = summary[("busy_mean", "hub")]["mean"]
    served = summary[("throughput_lots", "hub")]["mean"]
    assert served == LOTS
    assert busy * s.horizon_days / served == pytest.approx(1 / mu, rel=0.03)


def _littles_law(s: Scenario, res: RunResult, table: pa.Table, nodes: list[str]) -> None:
    """L (time-average lots at the node) == lambda * W, each side computed its own way."""
    assert res.counters["lots_produced"] == res.counters["lots_done"]  # drained
    T = res.end_day
    k = compute_kpis(table, s, end=T)
    cols = {c: table.column(c).to_pylist() for c in ("t", "kind", "lot", "node")}
    entered: dict[tuple[str, int], float] = {}
    sojourn: dict[str, list[float]] = defaultdict(list)
    for t, kind, lot, node in zip(cols["t"], cols["kind"], cols["lot"], cols["node"], strict=True):
        if node not in nodes:
            continue
        if kind in ("arrived", "lot_produced"):
            entered[(node, lot)] = t
        elif kind == "loaded":
            sojourn[node].append(t - entered.pop((node, lot)))
    assert not entered  # every lot left every node
    for node in nodes:
        n = len(sojourn[node])
        assert n > 0
        lam = n / T
        W = math.fsum(sojourn[node]) / n
        L = k[("wip_mean_lots", None, node, None)]
        assert L is not None
        assert lam * W == pytest.approx(L, rel=1e-9, abs=1e-12), node
        assert k[("arrivals_lots", None, node, None)] == n
        assert k[("sojourn_mean_days", None, node, None)] == pytest.approx(W, rel=1e-9)


def test_littles_law_at_every_handling_node_of_small_routers(tmp_path: Path) -> None:
    base = load(SMALL)
    handling = [n.id for n in base.nodes if n.kind in ("hub", "border", "depot")]
    suppliers = [n.id for n in base.nodes if n.kind == "supplier"]
    for strategy in ("baseline", "more_lanes"):
        s = base.with_strategy(strategy)
        root = tmp_path / strategy
        store = RunStore(root)
        for rep in range(3):
            w = store.open_part(strategy, rep)
            _, res = run(base, strategy, rep, sink=w, rows_per_batch=50)
            w.close()
            assert res.status == "completed"
            _littles_law(s, res, read_events(root, strategy, rep), handling + suppliers)


def test_littles_law_at_the_mmc_hub(tmp_path: Path) -> None:
    s = mmc_scenario(1.0, 1.0 / 3.75, 3, 4000, seed=11)
    [(res, table)] = run_to_disk(tmp_path / "run", s, 1)
    _littles_law(s, res, table, ["hub", "src"])
