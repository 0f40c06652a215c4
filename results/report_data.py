"""Report data: what the HTML report and its PNG figures show, projected from a run directory.

``load_run`` reads a run directory written by ``results.store`` (``manifest.json``,
``scenario.resolved.yaml``, the event parts one at a time, ``kpis.parquet``) and reduces it to
small, plot-ready arrays: cumulative deliveries per strategy and item on a daily grid, weekly
throughput, lead-time samples, daily WIP and queue per node, weekly utilisation per resource,
Sankey flows and link flows, and the bottleneck analysis (``results.bottlenecks.analyse``, active
periods) of each replication. Everything is a pure function of the files; nothing here runs the
engine. Detailed projections (lead times, WIP, utilisation, flows, bottlenecks) are of the
*primary* strategy (``baseline`` when the run has it) so a run of many strategies stays cheap to
report.

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

from scenarios.schema import Agency, Border, Depot, Hub, Scenario, Supplier, effective_channel
from sim.events import (
    ARRIVED,
    CONTRACT_AWARDED,
    DELIVERED,
    DEPARTED,
    FUNDS_COMMITTED,
    LOADED,
    LOT_PRODUCED,
    QUEUED,
    RETURNED,
    SERVICE_FINISHED,
    SERVICE_STARTED,
    TENDER_FINISHED,
    TENDER_STARTED,
)

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


def step_average(t: np.ndarray, delta: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Time-average of a step function over each bin ``[edges[i], edges[i+1])``.

    The level starts at 0 and changes by ``delta`` at ``t`` (any order; changes at one instant
    add up). Returns one average per bin (0 for an empty bin).
    """
    edges = np.asarray(edges, dtype=np.float64)
    if len(edges) < 2:
        return np.zeros(0)
    width = np.diff(edges)
    if len(t) == 0:
        return np.zeros(len(width))
    order = np.argsort(t, kind="stable")
    tt = np.asarray(t, dtype=np.float64)[order]
    level = np.cumsum(np.asarray(delta, dtype=np.float64)[order])
    at = np.r_[0.0, np.cumsum(level[:-1] * np.diff(tt))]  # integral from 0 up to each change
    k = np.searchsorted(tt, edges, side="right") - 1
    kk = np.maximum(k, 0)
    integral = np.where(k >= 0, at[kk] + level[kk] * (edges - tt[kk]), 0.0)
    out = np.zeros(len(width))
    np.divide(np.diff(integral), width, out=out, where=width > 0)
    return out


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
    util: dict[Resource, np.ndarray] = field(default_factory=dict)
    """resource -> weekly utilisation (busy / nominal capacity)."""
    flows: dict[tuple[str, str], float] = field(default_factory=dict)
    """(from, to) -> EUR per replication: funds, contracts and goods carried on links."""
    link_flow: dict[str, dict[str, float]] = field(default_factory=dict)
    """link -> {lots, units, eur, m3} carried per replication."""
    analyses: dict[int, Any] = field(default_factory=dict)
    """replication -> its ``results.bottlenecks.Analysis`` (rule ``saturated``), in replication order."""
    budget: dict[str, np.ndarray] = field(default_factory=dict)
    """donor -> (replications x 2 x day edges): budget plus tranches received, and committed −
    released (``results.costs.donor_budget_series``), at each day edge."""


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
    from results.store import SCENARIO_FILE, StoreError
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
    from results.store import EVENTS_DIR

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


def load_run(run_dir: str | Path) -> RunData:
    """Read a run directory and project it for the report.

    Raises:
        results.store.StoreError: not a run directory, no event part, an unreadable file.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    from results.kpis import event_arrays, kpi_table
    from results.store import KPIS_FILE, StoreError, read_events, read_manifest

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
    computed: list[Any] = []
    cum: dict[str, dict[str, list[np.ndarray]]] = {s: {} for s in strategies}
    weekly: dict[str, dict[str, list[np.ndarray]]] = {s: {} for s in strategies}
    acc = _DetailAccumulator(resolved[primary], day_edges, week_edges)
    reps: dict[str, list[int]] = {s: [] for s in strategies}
    for strategy, rep, end in parts:
        sc = resolved[strategy]
        ev = event_arrays(read_events(run_dir, strategy, rep), sc)
        reps[strategy].append(rep)
        if kpis is None:
            computed.append(kpi_table(ev, scenario, strategy, rep, end=end))
        dl = ev.of(DELIVERED)
        for k, it in enumerate(sc.items):
            rows = dl[ev.item[dl] == k]
            t, q = ev.t[rows], ev.qty[rows].astype(np.float64)
            cs = np.r_[0.0, np.cumsum(q)]
            cum[strategy].setdefault(it.id, []).append(cs[np.searchsorted(t, day_edges, side="right")])
            weekly[strategy].setdefault(it.id, []).append(np.histogram(t, bins=week_edges, weights=q)[0])
        if strategy == primary:
            acc.add(ev, rep, end)
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
        detail=acc.result(),
    )


class _DetailAccumulator:
    """Adds up the detailed projections of the primary strategy, one replication at a time."""

    def __init__(self, scenario: Scenario, day_edges: np.ndarray, week_edges: np.ndarray) -> None:
        self.s = scenario
        self.day_edges = day_edges
        self.week_edges = week_edges
        self.n = 0
        self.lead: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}
        self.wip: dict[str, list[np.ndarray]] = {}
        self.queue: dict[str, list[np.ndarray]] = {}
        self.util: dict[Resource, list[np.ndarray]] = {}
        self.flows: dict[tuple[str, str], float] = {}
        self.link_flow: dict[str, dict[str, float]] = {}
        self.analyses: dict[int, Any] = {}
        self.budget: dict[str, list[np.ndarray]] = {}
        self.resources = _resources(scenario)

    def add(self, ev: Any, rep: int, end: float | None) -> None:
        """Project replication ``rep``'s event arrays (built for this scenario; ``end``: its end day)."""
        from results.bottlenecks import analyse
        from results.kpis import lot_lead_times

        self.n += 1
        self.analyses[rep] = analyse(ev, self.s, end=end)
        lt = lot_lead_times(ev)
        items = np.asarray(lt.column("item").to_pylist(), dtype=object)
        lead = lt.column("lead_time_days").to_numpy()
        qty = lt.column("qty").to_numpy()
        for it in self.s.items:
            m = items == it.id
            self.lead.setdefault(it.id, []).append((lead[m], qty[m]))
        self._levels(ev)
        self._utilisation(ev)
        self._flows(ev)
        self._budget(ev)

    def _budget(self, ev: Any) -> None:
        from results.costs import donor_budget_series

        series = donor_budget_series(ev, self.s)
        t = series.column("t").to_numpy()
        donor = np.asarray(series.column("donor").to_pylist(), dtype=object)
        added, net = series.column("added_eur").to_numpy(), series.column("net_committed_eur").to_numpy()
        for n in self.s.nodes:
            if n.kind != "donor":
                continue
            m = donor == n.id
            at = np.searchsorted(t[m], self.day_edges, side="right") - 1  # the last row at or before each edge
            pair = np.zeros((2, len(self.day_edges)))
            ok = at >= 0
            pair[0, ok], pair[1, ok] = added[m][at[ok]], net[m][at[ok]]
            self.budget.setdefault(n.id, []).append(pair)

    def _levels(self, ev: Any) -> None:
        t = ev.t
        pr, ar, ld = ev.of(LOT_PRODUCED), ev.of(ARRIVED), ev.of(LOADED)
        qd, ss = ev.of(QUEUED), ev.of(SERVICE_STARTED)
        qd = qd[ev.link[qd] < 0]
        for c, n in enumerate(self.s.nodes):
            if not isinstance(n, (Supplier, *HANDLING)):
                continue
            enter = np.r_[pr[ev.node[pr] == c], ar[ev.node[ar] == c]]
            leave = ld[ev.node[ld] == c]
            delta = np.r_[np.ones(len(enter)), -np.ones(len(leave))]
            self.wip.setdefault(n.id, []).append(step_average(np.r_[t[enter], t[leave]], delta, self.day_edges))
            if isinstance(n, HANDLING):
                a, b = qd[ev.node[qd] == c], ss[ev.node[ss] == c]
                delta = np.r_[np.ones(len(a)), -np.ones(len(b))]
                self.queue.setdefault(n.id, []).append(step_average(np.r_[t[a], t[b]], delta, self.day_edges))

    def _utilisation(self, ev: Any) -> None:
        t = ev.t
        ss, sf = ev.of(SERVICE_STARTED), ev.of(SERVICE_FINISHED)
        ss, sf = ss[ev.value[ss] != 0], sf[ev.value[sf] != 0]  # a server per job: value 0 rides along (serve: vehicle)
        dep, ret = ev.of(DEPARTED), ev.of(RETURNED)
        ts, tf = _distinct_tenders(ev, ev.of(TENDER_STARTED)), _distinct_tenders(ev, ev.of(TENDER_FINISHED))
        node_code = {x: k for k, x in enumerate(ev.nodes)}
        link_code = {x: k for k, x in enumerate(ev.links)}
        for res in self.resources:
            if res.kind == "link":
                c = link_code[res.id]
                a, b = dep[ev.link[dep] == c], ret[ev.link[ret] == c]
            else:
                c = node_code[res.id]
                up, down = (ts, tf) if isinstance(self.s.node(res.id), Agency) else (ss, sf)
                a, b = up[ev.node[up] == c], down[ev.node[down] == c]
            delta = np.r_[np.ones(len(a)), -np.ones(len(b))]
            busy = step_average(np.r_[t[a], t[b]], delta, self.week_edges)
            self.util.setdefault(res, []).append(busy / res.capacity)

    def _flows(self, ev: Any) -> None:
        s = self.s
        agencies = [n.id for n in s.nodes if isinstance(n, Agency)]
        fc, ca = ev.of(FUNDS_COMMITTED), ev.of(CONTRACT_AWARDED)

        def add(src: str, dst: str, eur: float) -> None:
            if eur > 0 and math.isfinite(eur):
                self.flows[(src, dst)] = self.flows.get((src, dst), 0.0) + eur

        for ref, r in enumerate(s.requirements):
            f = fc[ev.ref[fc] == ref]
            c = ca[ev.ref[ca] == ref]
            channel = effective_channel(s, r)
            contracts = [(ev.nodes[ev.node[k]], float(ev.value[k])) for k in c if ev.node[k] >= 0]
            if channel == "agency":
                agency = r.agency or (agencies[0] if len(agencies) == 1 else None)
                if agency is None:
                    continue
                for k in f:
                    add(ev.nodes[ev.node[k]], agency, float(ev.value[k]))
                for sup, eur in contracts:
                    add(agency, sup, eur)
            elif channel == "bilateral":
                paid = np.nan_to_num(ev.value[f])
                total = float(paid.sum())
                for k, eur_k in zip(f, paid, strict=True):
                    for sup, eur in contracts:
                        add(ev.nodes[ev.node[k]], sup, eur * float(eur_k) / total if total > 0 else 0.0)
        ld = ev.of(LOADED)
        ld = ld[ev.link[ld] >= 0]
        value = np.array([it.unit_value_eur for it in s.items] + [0.0])
        volume = np.array([it.volume_m3 for it in s.items] + [0.0])
        q = ev.qty[ld].astype(np.float64)
        n_links = len(ev.links)
        per = {
            "lots": np.bincount(ev.link[ld], minlength=n_links),
            "units": np.bincount(ev.link[ld], weights=q, minlength=n_links),
            "eur": np.bincount(ev.link[ld], weights=q * value[ev.item[ld]], minlength=n_links),
            "m3": np.bincount(ev.link[ld], weights=q * volume[ev.item[ld]], minlength=n_links),
        }
        for c, lk in enumerate(s.links):
            acc = self.link_flow.setdefault(lk.id, dict.fromkeys(per, 0.0))
            for key, arr in per.items():
                acc[key] += float(arr[c])
            add(lk.from_, lk.to, float(per["eur"][c]))

    def result(self) -> Detail:
        """The accumulated projections, flows and link flows per replication."""
        n = max(self.n, 1)
        lead = {
            i: (np.concatenate([a for a, _ in v]), np.concatenate([b for _, b in v]).astype(np.float64))
            for i, v in self.lead.items()
        }
        return Detail(
            lead=lead,
            wip={k: np.vstack(v) for k, v in self.wip.items()},
            queue={k: np.vstack(v) for k, v in self.queue.items()},
            util={k: np.vstack(v) for k, v in self.util.items()},
            flows={k: v / n for k, v in self.flows.items()},
            link_flow={k: {x: y / n for x, y in v.items()} for k, v in self.link_flow.items()},
            analyses=dict(sorted(self.analyses.items())),
            budget={k: np.stack(v) for k, v in self.budget.items()},
        )


def _distinct_tenders(ev: Any, rows: np.ndarray) -> np.ndarray:
    """One row per tender: pooled requirements log one row each (same node, item, day, days)."""
    if len(rows) == 0:
        return rows
    keys = np.stack([ev.node[rows].astype(np.float64), ev.item[rows].astype(np.float64), ev.t[rows], ev.value[rows]])
    order = np.lexsort(keys[::-1])
    sk = np.nan_to_num(keys[:, order], nan=-1.0)
    first = np.r_[True, np.any(sk[:, 1:] != sk[:, :-1], axis=0)]
    return np.sort(rows[order][first])


def _resources(s: Scenario) -> list[Resource]:
    out = []
    for n in s.nodes:
        if isinstance(n, HANDLING):
            out.append(Resource("node", n.id, f"{n.id} ({n.kind})", float(n.servers)))
        elif isinstance(n, Agency):
            out.append(Resource("node", n.id, f"{n.id} (agency)", float(n.staff)))
    for lk in s.links:
        if lk.enabled:
            out.append(Resource("link", lk.id, f"{lk.id} ({lk.mode})", float(lk.vehicles)))
    return out


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
