"""Per-item headline rows in calendar dates: what a planner asks first about each item.

For each (strategy, item) of a long KPI table (``results.kpis.kpi_table`` of every part, as in
``kpis.parquet``): units delivered (of units required), the date of the last delivery and the
on-time share (OTIF), each as a mean across replications with its 95% interval
(``results.stats.kpi_interval``: counts never below 0, shares inside [0, 1], Wilson when every
replication is 0% or 100%).

- Units delivered of an item are its ``delivered_units`` summed over the units (nodes) it went
  to; units required are ``delivered / fill_rate`` of a replication that delivered some, else
  the sum of the item's requirements when none of them is a stream (a stream's quantity is
  random), else unknown.
- A day ``t`` from the scenario's start falls on the date ``start + floor(t)`` (day ``d`` is
  ``[d, d + 1)``, as ``sim trace`` prints); the mean and the interval of the last delivery day
  across the replications that delivered the item print as dates the same way.
- Different items are never added up here: each row is one item, in its own units.

Example:
    >>> import datetime as dt
    >>> date_of(dt.date(2025, 5, 1), 30.4)
    '2025-05-31'
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from results.stats import Interval, kpi_interval
from scenarios.schema import Scenario

__all__ = ["ItemHeadline", "cells", "date_of", "item_headline", "report_answer"]


@dataclass(frozen=True)
class ItemHeadline:
    """One item of one strategy (or sweep point) across its replications.

    Days are from the scenario's start; ``*_date`` are the ISO dates they fall on ("" when
    there is none). ``n`` counts the replications; ``n_delivered`` those that delivered the
    item at all (the last delivery date is over those).
    """

    strategy: str
    item: str
    n: int
    delivered_units: Interval
    required_units: float | None
    last_delivery_day: Interval
    last_delivery_date: str
    last_delivery_low_date: str
    last_delivery_high_date: str
    n_delivered: int
    on_time_share: Interval

    def as_row(self) -> dict[str, Any]:
        """Plain values for JSON output."""
        return {
            "strategy": self.strategy,
            "item": self.item,
            "replications": self.n,
            "delivered_units_mean": self.delivered_units.mean,
            "delivered_units_ci95": [self.delivered_units.low, self.delivered_units.high],
            "required_units": self.required_units,
            "last_delivery_date": self.last_delivery_date or None,
            "last_delivery_ci95": [self.last_delivery_low_date or None, self.last_delivery_high_date or None],
            "last_delivery_day_mean": self.last_delivery_day.mean,
            "replications_delivering": self.n_delivered,
            "on_time_share_mean": self.on_time_share.mean,
            "on_time_share_ci95": [self.on_time_share.low, self.on_time_share.high],
        }


def date_of(start: dt.date, day: float | None) -> str:
    """The ISO date on which day ``day`` from ``start`` falls (``""`` for None or NaN).

    Example:
        >>> date_of(dt.date(2025, 8, 1), 0.0), date_of(dt.date(2025, 8, 1), 30.999)
        ('2025-08-01', '2025-08-31')
    """
    if day is None or not math.isfinite(day):
        return ""
    return (start + dt.timedelta(days=math.floor(day))).isoformat()


def _static_required(scenario: Scenario) -> dict[str, int | None]:
    """Units required per item from the requirements as written (None where a stream makes it random)."""
    out: dict[str, int | None] = {it.id: 0 for it in scenario.items}
    for r in scenario.requirements:
        if r.stream is not None:
            out[r.item] = None
        elif out.get(r.item) is not None:
            out[r.item] = int(out[r.item] or 0) + r.qty
    return out


def item_headline(
    kpis: Any, scenario: Scenario, items: Iterable[str] | None = None, strategies: Iterable[str] | None = None
) -> list[ItemHeadline]:
    """Per-item headline rows of a long KPI table, in scenario item order within each strategy.

    Args:
        kpis: Long KPI table (``pyarrow.Table`` with ``kpi, item, node, link, value, strategy,
            replication``) of one or more strategies.
        scenario: The scenario run (its start dates the days; its items order the rows).
        items: Only these items (default: every item of the scenario).
        strategies: Only these strategies, in this order (default: as first seen in ``kpis``).

    Returns:
        One ``ItemHeadline`` per (strategy, item), strategies in order, items in scenario order.
    """
    wanted = [it.id for it in scenario.items] if items is None else list(items)
    cols = {c: kpis.column(c).to_pylist() for c in ("kpi", "item", "node", "link", "value", "strategy", "replication")}
    reps: dict[str, list[int]] = {}
    delivered: dict[tuple[str, str, int], float] = {}
    per_rep: dict[tuple[str, str, str, int], float | None] = {}
    for kpi, item, node, link, value, strategy, rep in zip(*cols.values(), strict=True):
        if rep not in reps.setdefault(strategy, []):
            reps[strategy].append(rep)
        if item is None or link is not None:
            continue
        if kpi == "delivered_units" and node is not None:
            key = (strategy, item, rep)
            delivered[key] = delivered.get(key, 0.0) + (value or 0.0)
        elif kpi in ("last_delivery_day", "otif", "fill_rate") and node is None:
            per_rep[(kpi, strategy, item, rep)] = value
    static = _static_required(scenario)
    order = list(reps) if strategies is None else [s for s in strategies if s in reps]
    out: list[ItemHeadline] = []
    for strategy in order:
        rs = sorted(reps[strategy])
        for item in wanted:
            units = [delivered.get((strategy, item, r), 0.0) for r in rs]
            last = [per_rep.get(("last_delivery_day", strategy, item, r)) for r in rs]
            last_days = [x for x in last if x is not None and math.isfinite(x)]
            otif = [per_rep.get(("otif", strategy, item, r)) for r in rs]
            required = []
            for u, r in zip(units, rs, strict=True):
                fr = per_rep.get(("fill_rate", strategy, item, r))
                if fr is not None and fr > 0:
                    required.append(round(u / fr))
            need = sum(required) / len(required) if required else static.get(item)
            ld = kpi_interval("last_delivery_day", last_days)
            out.append(
                ItemHeadline(
                    strategy=strategy,
                    item=item,
                    n=len(rs),
                    delivered_units=kpi_interval("delivered_units", units),
                    required_units=None if need is None else float(need),
                    last_delivery_day=ld,
                    last_delivery_date=date_of(scenario.start, ld.mean),
                    last_delivery_low_date=date_of(scenario.start, ld.low),
                    last_delivery_high_date=date_of(scenario.start, ld.high),
                    n_delivered=len(last_days),
                    on_time_share=kpi_interval("otif", [x for x in otif if x is not None and math.isfinite(x)]),
                )
            )
    return out


def cells(r: ItemHeadline) -> dict[str, str]:
    """The row as printed (``results.fmt``): units delivered, of required, last delivery date, on time, CIs.

    ``required`` is ``?`` when unknown; ``last`` says ``none delivered`` when no replication
    delivered the item and how many did when only some did; ``on_time`` says ``no requirement``
    when the item has none.
    """
    from results.fmt import interval, value

    d, o = r.delivered_units, r.on_time_share
    out = {
        "units": value("delivered_units", d.mean),
        "required": "?" if r.required_units is None else value("units_required", r.required_units),
        "units_ci": interval("delivered_units", d.low, d.high, method=d.method, clipped=d.clipped),
        "last": "none delivered",
        "last_ci": "",
        "on_time": "no requirement",
        "on_time_ci": "",
    }
    if r.n_delivered:
        out["last"] = r.last_delivery_date + ("" if r.n_delivered == r.n else f" ({r.n_delivered} of {r.n})")
        if r.last_delivery_low_date:
            out["last_ci"] = f"[{r.last_delivery_low_date}, {r.last_delivery_high_date}]"
    if o.mean is not None:
        out["on_time"] = value("otif", o.mean)
        out["on_time_ci"] = interval("otif", o.low, o.high, method=o.method, clipped=o.clipped)
    return out


def report_answer(run_dir: Any, scenario: Scenario, kpis: Any, strategies: list[str]) -> dict[str, Any]:
    """What the report's summary leads with: the success lines and the per-item rows as strings."""
    from results.success import evaluate_run, success_lines

    met = evaluate_run(run_dir, scenario, kpis, strategies)
    rows = item_headline(kpis, scenario, None, strategies)
    first = {item: k for k, item in reversed(list(enumerate(r.item for r in rows)))}
    rows.sort(key=lambda r: first[r.item])
    return {
        "success": success_lines(met, several=len(strategies) > 1),
        "items": [{"item": r.item, "strategy": r.strategy, "n": r.n, **cells(r)} for r in rows],
    }
