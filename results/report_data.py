"""Report data: what the HTML report and its PNG figures show, projected from a run directory.

``load_run`` reads a run directory written by ``results.store`` (``manifest.json``,
``scenario.resolved.yaml``, each event part chunk by chunk, ``kpis.parquet``) and reduces it to
small, plot-ready arrays: cumulative deliveries per strategy and item on a daily grid, weekly
throughput, lead-time samples, daily WIP and queue per node, weekly utilisation per resource,
Sankey flows and link flows, and the bottleneck analysis (``results.bottlenecks.analyse``, active
periods) of each replication. Everything is a pure function of the files; nothing here runs the
engine. Detailed projections (lead times, WIP, utilisation, flows, bottlenecks) are of the
*primary* strategy (``baseline`` when the run has it) so a run of many strategies stays cheap to
report. Parts are never read whole (``results.part_stream``, ``results.report_detail``,
``results.bottlenecks.stream``): memory is a chunk of rows plus a few numbers per lot of the part
being read (10^6 lots: about 410 MB peak for ``aidflow report``, against 7.3 GB reading parts
whole), with the same numbers.

Example:
    >>> step_average(np.array([1.0, 3.0]), np.array([1, -1]), np.array([0.0, 2.0, 4.0]))
    array([0.5, 0.5])
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from results.part_stream import step_average
from scenarios.schema import Border, Depot, Hub, Scenario

__all__ = [
    "FOREST_KPIS",
    "MAX_DAY_POINTS",
    "Detail",
    "Resource",
    "RunData",
    "ecdf_points",
    "load_run",
    "mean_band",
    "paired_differences",
    "step_average",
    "summary_index",
]

MAX_DAY_POINTS = 1000
"""Most points of a daily time series; longer horizons are binned coarser."""

FOREST_KPIS: tuple[str, ...] = ("units_delivered", "fill_rate", "otif", "lead_time_mean_days", "lead_time_p90_days")
"""Whole-run KPIs compared between strategies (paired differences against the baseline)."""

HANDLING = (Hub, Border, Depot)


# --------------------------------------------------------------------------- small tools


def mean_band(samples: np.ndarray, confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Mean over replications (rows) and its Student-t interval; the interval is None for n < 2."""
    arr = np.atleast_2d(np.asarray(samples, dtype=np.float64))
    n = arr.shape[0]
    mean = arr.mean(axis=0)
    if n < 2:
        return mean, None, None
    from scipy.special import stdtrit  # Student's t quantile; scipy.stats costs seconds to import

    half = float(stdtrit(n - 1, 1 - (1 - confidence) / 2)) * arr.std(axis=0, ddof=1) / math.sqrt(n)
    return mean, mean - half, mean + half


def ecdf_points(values: np.ndarray, weights: np.ndarray, max_points: int = 500) -> tuple[np.ndarray, np.ndarray]:
    """Points ``(x, F(x))`` of a weighted ECDF, at most ``max_points`` (draw with a step line).

    The first point is ``(min, 0)``; every other point is exact (a jump of the ECDF).

    Example:
        >>> ecdf_points(np.array([2.0, 1.0, 2.0]), np.array([1, 1, 2]))
        (array([1., 1., 2.]), array([0.  , 0.25, 1.  ]))
    """
    v = np.asarray(values, dtype=np.float64)
    if len(v) == 0:
        return np.zeros(0), np.zeros(0)
    order = np.argsort(v, kind="stable")
    v = v[order]
    cw = np.cumsum(np.asarray(weights, dtype=np.float64)[order])
    cw /= cw[-1]
    levels = np.linspace(1.0 / max(max_points - 1, 1), 1.0, max(max_points - 1, 1))
    idx = np.minimum(np.searchsorted(cw, levels * (1 - 1e-12), side="left"), len(v) - 1)
    idx = np.unique(np.searchsorted(v, v[idx], side="right") - 1)  # last of equal values
    return np.r_[v[0], v[idx]], np.r_[0.0, cw[idx]]


# --------------------------------------------------------------------------- data classes


@dataclass(frozen=True)
class Resource:
    """A capacity-limited resource: a handling node, an agency or a link."""

    kind: str
    """``node`` or ``link``."""
    id: str
    label: str
    """``id (hub)``, ``id (rail)``...: what charts show."""
    capacity: float


@dataclass
class Detail:
    """Projections of the primary strategy (per-replication arrays have one row per replication)."""

    lead: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    """item -> (lead days, units) of every delivered lot, pooled over replications."""
    wip: dict[str, np.ndarray] = field(default_factory=dict)
    """node -> daily time-average lots at the node (entered .. loaded out)."""
    queue: dict[str, np.ndarray] = field(default_factory=dict)
    """handling node -> daily time-average lots waiting for service."""
    backlog: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    """supplier -> item -> daily time-average lots ordered (``contract_awarded``) and not yet
    produced (``lot_produced``): the line's order backlog, in lots of the item."""
    util: dict[Resource, np.ndarray] = field(default_factory=dict)
    """resource -> weekly utilisation (busy / nominal capacity)."""
    flows: dict[tuple[str, str], float] = field(default_factory=dict)
    """(from, to) -> EUR per replication: funds, contracts and goods carried on links."""
    link_flow: dict[str, dict[str, float]] = field(default_factory=dict)
    """link -> {lots, units, eur, m3} carried per replication."""
    item_flow: dict[str, dict[tuple[str, str], float]] = field(default_factory=dict)
    """item -> (from, to) -> units of the item loaded on the links from -> to, per replication."""
    analyses: dict[int, Any] = field(default_factory=dict)
    """replication -> its ``results.bottlenecks.Analysis`` (rule ``saturated``), in replication order."""
    budget: dict[str, np.ndarray] = field(default_factory=dict)
    """donor -> (replications x 2 x day edges): budget plus tranches received, and committed −
    released (``results.costs.donor_budget_series``), at each day edge."""
    inventory: dict[tuple[str, str], np.ndarray] = field(default_factory=dict)
    """(node, item) with inventory rows -> (2 x daily bins): mean on-hand units and backorders
    over the replications (``results.inventory_series``)."""


@dataclass
class RunData:
    """A run directory reduced to what the report shows."""

    run_dir: Path
    manifest: dict[str, Any]
    scenario: Scenario
    resolved: dict[str, Scenario]
    strategies: list[str]
    primary: str
    replications: dict[str, list[int]]
    kpis: Any
    """The long KPI table (``results.kpis.kpi_table`` of every part)."""
    day_edges: np.ndarray
    week_edges: np.ndarray
    cum: dict[str, dict[str, np.ndarray]]
    """strategy -> item -> cumulative units delivered at each day edge (replications x edges)."""
    weekly: dict[str, dict[str, np.ndarray]]
    """strategy -> item -> units delivered in each week (replications x weeks)."""
    detail: Detail

    @property
    def baseline(self) -> str:
        """The strategy others are compared with: ``baseline`` if run, else the first."""
        return "baseline" if "baseline" in self.strategies else self.strategies[0]

    def dates(self, days: Iterable[float]) -> list[str]:
        """Calendar dates (ISO) of days from the scenario start."""
        start = dt.datetime.combine(self.scenario.start, dt.time())
        out = []
        for d in days:
            x = start + dt.timedelta(days=float(d))
            out.append(x.date().isoformat() if x.time() == dt.time() else x.isoformat(timespec="minutes"))
        return out


# --------------------------------------------------------------------------- loading


def _load_scenario(run_dir: Path) -> Scenario:
    from results.store.layout import SCENARIO_FILE, StoreError
    from scenarios.errors import ScenarioError
    from scenarios.load import load

    path = run_dir / SCENARIO_FILE
    if not path.is_file():
        raise StoreError(f"{run_dir}: no {SCENARIO_FILE}")
    try:
        return load(path)
    except ScenarioError as exc:
        raise StoreError(f"{path}: invalid scenario: {exc}") from None


def _parts(run_dir: Path, manifest: dict[str, Any]) -> list[tuple[str, int, float | None]]:
    """(strategy, replication, end day) of every part file present, in (strategy, rep) order."""
    from results.store.layout import EVENTS_DIR

    end: dict[tuple[str, int], float | None] = {}
    for p in manifest.get("parts", []):
        end[(str(p["strategy"]), int(p["replication"]))] = p.get("end_day")
    found = []
    for f in (run_dir / EVENTS_DIR).glob("strategy=*/rep=*.parquet"):
        s = f.parent.name.removeprefix("strategy=")
        r = f.stem.removeprefix("rep=")
        if r.isdigit():
            found.append((s, int(r), end.get((s, int(r)))))
    return sorted(found, key=lambda x: (x[0] != "baseline", x[0], x[1]))


def _edges(horizon: float, step: float) -> np.ndarray:
    e = np.arange(0.0, horizon, step)
    return np.r_[e, horizon] if len(e) == 0 or e[-1] < horizon else e


def _kpi_rows(kpis: Any, strategy: str, rep: int) -> dict[Any, float | None]:
    """The part's rows of a long KPI table as ``compute_kpis`` keys them (empty if none)."""
    import pyarrow.compute as pc

    rows = kpis.filter(pc.and_(pc.equal(kpis.column("strategy"), strategy), pc.equal(kpis.column("replication"), rep)))
    return {
        (r["kpi"], r["item"], r["node"], r["link"]): r["value"]
        for r in rows.select(["kpi", "item", "node", "link", "value"]).to_pylist()
    }


def _kpi_table_of_part(run_dir: Path, scenario: Scenario, strategy: str, rep: int, end: float | None) -> Any:
    """The KPI table of one part: streamed by ``results.kpis.kpi_table_of_part`` where it exists."""
    import results.kpis as kpis_module

    of_part = getattr(kpis_module, "kpi_table_of_part", None)
    if of_part is not None:
        return of_part(run_dir, scenario, strategy, rep, end=end)
    from results.store.reading import read_events

    ev = kpis_module.event_arrays(
        read_events(run_dir, strategy, rep),
        scenario.with_strategy(strategy) if any(x.name == strategy for x in scenario.strategies) else scenario,
    )
    return kpis_module.kpi_table(ev, scenario, strategy, rep, end=end)


def load_run(run_dir: str | Path, batch_rows: int | None = None) -> RunData:
    """Read a run directory and project it for the report.

    Every event part is read chunk by chunk (``results.part_stream``): memory is a chunk of
    rows plus a few numbers per lot of the part being read, however long the run.

    Args:
        run_dir: The run directory.
        batch_rows: Rows read at a time (``results.part_stream.CHUNK_ROWS`` by default).

    Raises:
        results.store.StoreError: not a run directory, no event part, an unreadable file.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    from results.part_stream import CHUNK_ROWS, last_time, part_chunks
    from results.report_detail import Curves, DetailAccumulator
    from results.store.layout import KPIS_FILE, StoreError
    from results.store.run_store import read_manifest

    run_dir = Path(run_dir)
    manifest = read_manifest(run_dir)
    scenario = _load_scenario(run_dir)
    parts = _parts(run_dir, manifest)
    if not parts:
        raise StoreError(f"{run_dir}: the run has no event part to report")
    strategies = list(dict.fromkeys(s for s, _, _ in parts))
    primary = strategies[0]
    resolved = {
        s: scenario.with_strategy(s) if any(x.name == s for x in scenario.strategies) else scenario for s in strategies
    }
    horizon = float(scenario.horizon_days)
    day_edges = _edges(horizon, float(max(1, math.ceil(horizon / MAX_DAY_POINTS))))
    week_edges = _edges(horizon, 7.0)
    kpi_path = run_dir / KPIS_FILE
    kpis: Any = None
    if kpi_path.is_file():
        try:
            kpis = pq.read_table(kpi_path)
        except (OSError, pa.ArrowException) as exc:
            raise StoreError(f"{kpi_path}: cannot read: {exc}") from None
    rows = batch_rows or CHUNK_ROWS
    computed: list[Any] = []
    cum: dict[str, dict[str, list[np.ndarray]]] = {s: {} for s in strategies}
    weekly: dict[str, dict[str, list[np.ndarray]]] = {s: {} for s in strategies}
    acc = DetailAccumulator(resolved[primary], day_edges, week_edges, Resource)
    reps: dict[str, list[int]] = {s: [] for s in strategies}
    for strategy, rep, end in parts:
        sc = resolved[strategy]
        reps[strategy].append(rep)
        part_kpis = None
        if kpis is None:
            part_kpis = _kpi_table_of_part(run_dir, scenario, strategy, rep, end)
            computed.append(part_kpis)
        curves = Curves(sc, day_edges, week_edges)
        if strategy == primary:

            def chunks(columns: Any, strategy: str = strategy, rep: int = rep, sc: Scenario = sc) -> Any:
                return part_chunks(run_dir, strategy, rep, sc, columns, batch_rows=rows)

            T = float(end) if end is not None else max(horizon, last_time(run_dir, strategy, rep))
            found = _kpi_rows(part_kpis if part_kpis is not None else kpis, strategy, rep)
            if not found:
                found = _kpi_rows(_kpi_table_of_part(run_dir, scenario, strategy, rep, T), strategy, rep)
            acc.add(chunks, rep, T, found, also=curves.feed)
        else:
            for ev in part_chunks(run_dir, strategy, rep, sc, columns=("item", "qty"), batch_rows=rows):
                curves.feed(ev)
        for k, it in enumerate(sc.items):
            cum[strategy].setdefault(it.id, []).append(curves.cum[k])
            weekly[strategy].setdefault(it.id, []).append(curves.weekly[k])
    if kpis is None:
        kpis = pa.concat_tables(computed)
    return RunData(
        run_dir=run_dir,
        manifest=manifest,
        scenario=scenario,
        resolved=resolved,
        strategies=strategies,
        primary=primary,
        replications=reps,
        kpis=kpis,
        day_edges=day_edges,
        week_edges=week_edges,
        cum={s: {i: np.vstack(v) for i, v in d.items()} for s, d in cum.items()},
        weekly={s: {i: np.vstack(v) for i, v in d.items()} for s, d in weekly.items()},
        detail=_detail(acc),
    )


def _detail(acc: Any) -> Detail:
    """The accumulated projections, flows and link flows per replication."""
    n = max(acc.n, 1)
    lead = {
        i: (np.concatenate([a for a, _ in v]), np.concatenate([b for _, b in v]).astype(np.float64))
        for i, v in acc.lead.items()
    }
    return Detail(
        lead=lead,
        wip={k: np.vstack(v) for k, v in acc.wip.items()},
        queue={k: np.vstack(v) for k, v in acc.queue.items()},
        backlog={k: {i: np.vstack(a) for i, a in v.items()} for k, v in acc.backlog.items()},
        util={k: np.vstack(v) for k, v in acc.util.items()},
        flows={k: v / n for k, v in acc.flows.items()},
        link_flow={k: {x: y / n for x, y in v.items()} for k, v in acc.link_flow.items()},
        item_flow={k: {x: y / n for x, y in v.items()} for k, v in acc.item_flow.items()},
        analyses=dict(sorted(acc.analyses.items())),
        budget={k: np.stack(v) for k, v in acc.budget.items()},
        inventory=acc.inventory.result(),
    )


# --------------------------------------------------------------------------- KPI views


def summary_index(kpis: Any) -> dict[tuple[str | None, ...], dict[str, Any]]:
    """``results.kpis.summarise`` keyed by ``(strategy, kpi, item, node, link)``."""
    from results.kpis import summarise

    out: dict[tuple[str | None, ...], dict[str, Any]] = {}
    for row in summarise(kpis).to_pylist():
        out[(row["strategy"], row["kpi"], row["item"], row["node"], row["link"])] = row
    return out


def paired_differences(
    kpis: Any, baseline: str, strategies: list[str], names: tuple[str, ...] = FOREST_KPIS
) -> list[dict[str, Any]]:
    """Whole-run rows of ``results.compare.paired_differences`` (strategy - baseline), as dicts
    for the forest plot: mean difference with its paired-t 95% interval (None for n < 2)."""
    from results.compare import paired_differences as paired

    found = {
        (d.strategy, d.kpi): d
        for d in paired(kpis, baseline, only=names)
        if d.item is None and d.node is None and d.link is None
    }
    out = []
    for strategy in strategies:
        for kpi in names:
            d = found.get((strategy, kpi))
            if strategy == baseline or d is None:
                continue
            ci = (None, None) if math.isnan(d.ci_low) else (d.ci_low, d.ci_high)
            out.append(
                {
                    "strategy": strategy,
                    "kpi": kpi,
                    "n": d.n,
                    "baseline_mean": d.baseline_mean,
                    "strategy_mean": d.strategy_mean,
                    "diff": d.mean,
                    "lo": ci[0],
                    "hi": ci[1],
                }
            )
    return out
