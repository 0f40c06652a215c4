"""The scenario's question answered: its ``success`` criteria checked in each replication.

A scenario may state criteria about its items (``scenarios.schema.Success``). Each is met or
not in each replication; across ``n`` replications the share met, ``k / n``, gets the Wilson
score interval (``results.stats.wilson_interval``, inside [0, 1] even when ``k`` is 0 or ``n``),
printed as "met in k of n replications (p, 95% Wilson CI)".

- ``delivered_units_at_least`` with ``by``: units of the item delivered (to any unit) at
  ``t <= due_day(day of by)`` — the whole date, as a need-by date — counted from the
  ``delivered`` rows of the replication's log, read a row group at a time
  (``results.store.iter_event_batches``); without ``by``, every delivery of the run (the
  ``delivered_units`` KPIs).
- ``on_time_share_at_least``: the item's ``otif`` KPI is at least the share (not met when the
  item has no opened requirement: there is nothing to be on time for).
- ``last_delivery_by``: every required unit delivered (``fill_rate`` 1) and the item's
  ``last_delivery_day`` by the end of the date.

Example:
    >>> from scenarios.schema import Success
    >>> import datetime as dt
    >>> describe(Success(item="router", delivered_units_at_least=1000, by=dt.date(2025, 8, 31)))
    'router: at least 1,000 units delivered by 2025-08-31'
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from results.stats import wilson_interval
from scenarios.schema import Scenario, Success, due_day

__all__ = [
    "ALL_CRITERIA",
    "CriterionResult",
    "criterion_met",
    "delivered_by",
    "describe",
    "evaluate_run",
    "success_lines",
]

ALL_CRITERIA = "all criteria"
"""Label of the result that counts replications meeting every criterion at once."""

_EPS = 1e-9
"""Tolerance of an instant against the end of a date (as ``results.kpis.lead``'s OTIF)."""


def describe(c: Success) -> str:
    """The criterion in words, e.g. ``router: at least 1,000 units delivered by 2025-08-31``."""
    if c.delivered_units_at_least is not None:
        when = f"by {c.by.isoformat()}" if c.by is not None else "by the end of the run"
        return f"{c.item}: at least {c.delivered_units_at_least:,} units delivered {when}"
    if c.on_time_share_at_least is not None:
        return f"{c.item}: on-time share (OTIF) at least {100 * c.on_time_share_at_least:g}%"
    assert c.last_delivery_by is not None
    return f"{c.item}: every required unit delivered by {c.last_delivery_by.isoformat()}"


def _end_of(scenario: Scenario, date: Any) -> float:
    """The instant the whole date ends, in days from the start (``due_day``)."""
    return due_day(scenario.day_of(date))


def criterion_met(
    c: Success,
    scenario: Scenario,
    *,
    units_by: float,
    otif: float | None,
    fill_rate: float | None,
    last_delivery_day: float | None,
) -> bool:
    """Whether ``c`` holds in one replication, given that replication's numbers.

    Args:
        c: The criterion.
        scenario: The scenario (its start dates the criterion's dates).
        units_by: Units of ``c.item`` delivered by the criterion's date (all of the run without one).
        otif: The item's on-time share (None: no opened requirement).
        fill_rate: The item's units delivered / units required (None: nothing required).
        last_delivery_day: Day of the item's last delivery (None: none delivered).
    """
    if c.delivered_units_at_least is not None:
        return units_by >= c.delivered_units_at_least
    if c.on_time_share_at_least is not None:
        return otif is not None and math.isfinite(otif) and otif >= c.on_time_share_at_least - 1e-12
    assert c.last_delivery_by is not None
    if last_delivery_day is None or not math.isfinite(last_delivery_day):
        return False
    filled = fill_rate is None or fill_rate >= 1.0 - 1e-12
    return filled and last_delivery_day <= _end_of(scenario, c.last_delivery_by) + _EPS


def delivered_by(run_dir: str | Path, strategy: str, rep: int, wanted: list[tuple[str, float]]) -> list[int]:
    """Units of each (item, instant) of ``wanted`` delivered at ``t <= instant`` in one part.

    The part is read once, a row group at a time, whatever the number of pairs.

    Args:
        run_dir: The run directory.
        strategy: The part's strategy label.
        rep: The replication.
        wanted: (item, instant in days from the start) pairs.

    Returns:
        Units delivered per pair, in the order of ``wanted`` (0 when none).

    Raises:
        results.store.StoreError: no such part, or it cannot be read.
    """
    from results.store.reading import iter_event_batches

    out = [0] * len(wanted)
    if not wanted:
        return out
    for batch in iter_event_batches(run_dir, strategy, rep, columns=("t", "kind", "item", "qty")):
        kind, item = (_encoded(batch.column(k)) for k in (1, 2))
        kind_names = kind.dictionary.to_pylist()
        if "delivered" not in kind_names:
            continue
        rows = np.flatnonzero(kind.indices.to_numpy(zero_copy_only=False) == kind_names.index("delivered"))
        if not len(rows):
            continue
        t = batch.column(0).to_numpy(zero_copy_only=False)[rows]
        qty = batch.column(3).to_numpy(zero_copy_only=False)[rows]
        codes = item.indices.to_numpy(zero_copy_only=False)[rows]
        names = item.dictionary.to_pylist()
        for j, (name, until) in enumerate(wanted):
            if name in names:
                sel = (codes == names.index(name)) & (t <= until + _EPS)
                out[j] += int(qty[sel].sum())
    return out


def _encoded(column: Any) -> Any:
    """``column`` dictionary-encoded (as the log writes it; a plain string column is encoded here)."""
    import pyarrow as pa

    return column if pa.types.is_dictionary(column.type) else column.dictionary_encode()


@dataclass(frozen=True)
class CriterionResult:
    """One criterion (or ``ALL_CRITERIA``) of one strategy across its replications."""

    strategy: str
    label: str
    met: list[bool] = field(default_factory=list)
    """Met or not, per replication, in replication order."""

    @property
    def k(self) -> int:
        """Replications in which it was met."""
        return sum(self.met)

    @property
    def n(self) -> int:
        """Replications."""
        return len(self.met)

    @property
    def share(self) -> float:
        """k / n."""
        return self.k / self.n if self.n else math.nan

    def interval(self) -> tuple[float, float]:
        """The 95% Wilson interval of the share met."""
        return wilson_interval(self.k, self.n)

    def text(self) -> str:
        """``met in k of n replications (p, 95% Wilson CI [lo, hi])``."""
        if not self.n:
            return f"{self.label}: no replication"
        lo, hi = self.interval()
        return (
            f"{self.label}: met in {self.k} of {self.n} replication{'s' if self.n != 1 else ''} "
            f"({_pct(self.share)}, 95% Wilson CI [{_pct(lo)}, {_pct(hi)}])"
        )

    def as_row(self) -> dict[str, Any]:
        """Plain values for JSON output."""
        lo, hi = self.interval() if self.n else (None, None)
        return {
            "strategy": self.strategy,
            "criterion": self.label,
            "met": self.k,
            "replications": self.n,
            "share": self.share if self.n else None,
            "ci95": [lo, hi],
        }


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def evaluate_run(
    run_dir: str | Path, scenario: Scenario, kpis: Any, strategies: Iterable[str] | None = None
) -> list[CriterionResult]:
    """Every criterion of ``scenario.success``, per strategy, over the replications of ``kpis``.

    Args:
        run_dir: The run directory (its event parts, read only for criteria with a ``by`` date).
        scenario: The scenario as written (its criteria; a strategy does not change the question).
        kpis: The long KPI table of the run (``kpis.parquet``).
        strategies: Strategy labels to evaluate, in order (default: as first seen in ``kpis``).

    Returns:
        Per strategy: one result per criterion, then ``ALL_CRITERIA`` when there are several.
        Empty when the scenario states no criterion.
    """
    criteria = list(scenario.success)
    if not criteria:
        return []
    cols = {c: kpis.column(c).to_pylist() for c in ("kpi", "item", "node", "link", "value", "strategy", "replication")}
    reps: dict[str, list[int]] = {}
    units: dict[tuple[str, str, int], float] = {}
    per_rep: dict[tuple[str, str, str, int], float | None] = {}
    for kpi, item, node, link, value, strategy, rep in zip(*cols.values(), strict=True):
        if rep not in reps.setdefault(strategy, []):
            reps[strategy].append(rep)
        if item is None or link is not None:
            continue
        if kpi == "delivered_units" and node is not None:
            units[(strategy, item, rep)] = units.get((strategy, item, rep), 0.0) + (value or 0.0)
        elif kpi in ("otif", "fill_rate", "last_delivery_day") and node is None:
            per_rep[(kpi, strategy, item, rep)] = value
    dated = [(i, c) for i, c in enumerate(criteria) if c.delivered_units_at_least is not None and c.by is not None]
    out: list[CriterionResult] = []
    for strategy in list(reps) if strategies is None else [s for s in strategies if s in reps]:
        met: list[list[bool]] = [[] for _ in criteria]
        for rep in sorted(reps[strategy]):
            wanted = [(c.item, _end_of(scenario, c.by)) for _, c in dated if c.by is not None]
            by_units = dict(zip((i for i, _ in dated), delivered_by(run_dir, strategy, rep, wanted), strict=True))
            for i, c in enumerate(criteria):
                ok = criterion_met(
                    c,
                    scenario,
                    units_by=by_units[i] if i in by_units else units.get((strategy, c.item, rep), 0.0),
                    otif=per_rep.get(("otif", strategy, c.item, rep)),
                    fill_rate=per_rep.get(("fill_rate", strategy, c.item, rep)),
                    last_delivery_day=per_rep.get(("last_delivery_day", strategy, c.item, rep)),
                )
                met[i].append(ok)
        out += [CriterionResult(strategy, describe(c), m) for c, m in zip(criteria, met, strict=True)]
        if len(criteria) > 1:
            every = [all(m[r] for m in met) for r in range(len(met[0]))]
            out.append(CriterionResult(strategy, ALL_CRITERIA, every))
    return out


def success_lines(results: list[CriterionResult], several: bool | None = None) -> list[str]:
    """One line per result; prefixed by the strategy when ``several`` (default: more than one strategy)."""
    if several is None:
        several = len({r.strategy for r in results}) > 1
    return [f"{r.strategy}: {r.text()}" if several else r.text() for r in results]
