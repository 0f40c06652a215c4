"""Strategy comparison under common random numbers: paired differences, CIs, a ranking.

Input is the long KPI table of ``results.kpis.kpi_table`` over several strategies and
replications. Replication r of every strategy used the same random streams (design.md §4), so
for each KPI the difference strategy − baseline is taken per replication and summarised with a
paired-t 95% confidence interval; a difference of two fractions lies in [-1, 1], and its
interval is clipped there (``Diff.ci_clipped``; other differences may have either sign and are
not clipped, ``results.stats``). Where the interval spans zero the comparison says so
explicitly ("no significant difference"). Strategies are ranked by one KPI in its better
direction, by default ``lateness_unit_days`` over all items: unit-days late summed over every
*required* unit, an undelivered unit late until the end of the run, so a strategy cannot rank
first by delivering less (the mean lead time counts delivered units only, issue 17).
``delivery_warnings`` names the strategies that deliver significantly more or fewer units of an
item than the baseline: a ranking by a KPI over delivered units alone would mislead there.

Example:
    >>> import pyarrow as pa
    >>> t = pa.table({"kpi": ["x"] * 4, "item": [None] * 4, "node": [None] * 4, "link": [None] * 4,
    ...               "value": [1.0, 2.0, 2.0, 3.5], "strategy": ["baseline", "baseline", "b", "b"],
    ...               "replication": [0, 1, 0, 1]})
    >>> [round(d.mean, 2) for d in paired_differences(t)]
    [1.25]
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from results.stats import clip, difference_domain, t_interval

__all__ = [
    "DEFAULT_RANKING_KPI",
    "DeliveryWarning",
    "Diff",
    "LOWER_IS_BETTER",
    "better_direction",
    "delivery_warnings",
    "halfwidth",
    "paired_differences",
    "rank",
    "t_ci",
]

DEFAULT_RANKING_KPI = "lateness_unit_days"
"""What ``compare`` ranks by unless told: it cannot be won by delivering less."""

LOWER_IS_BETTER = (
    "lead_time",
    "lateness",  # lateness_unit_days
    "units_late",
    "units_undelivered",
    "wait_",
    "queue_",
    "stockout",
    "units_short",
    "units_lost",
    "lost_",
    "last_delivery_day",
    "stage_mean_days",
    "sojourn",
    "wip_",
    "utilisation",
    "busy_mean",
    "cost_",  # transport_cost_eur, total_cost_eur, cost_per_delivered_unit_eur...
    "fees_eur",
)


def better_direction(kpi: str) -> int:
    """-1 when a lower value is better for ``kpi``, +1 otherwise."""
    return -1 if any(kpi.startswith(p) or p in kpi for p in LOWER_IS_BETTER) else 1


def t_ci(values: np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    """Mean and the t-based confidence interval of ``values`` (NaN bounds when n < 2)."""
    return t_interval(values, level)


def halfwidth(values: np.ndarray, level: float = 0.95) -> float:
    """Half-width of the t confidence interval of the mean of ``values``."""
    _, lo, hi = t_ci(values, level)
    return (hi - lo) / 2 if not math.isnan(lo) else math.inf


@dataclass(frozen=True)
class Diff:
    """The paired difference of one KPI between a strategy and the baseline."""

    kpi: str
    item: str | None
    node: str | None
    link: str | None
    strategy: str
    baseline_mean: float
    strategy_mean: float
    mean: float
    ci_low: float
    ci_high: float
    n: int
    var_paired: float
    var_unpaired: float
    ci_clipped: bool = False

    @property
    def significant(self) -> bool:
        """True when the 95% CI excludes zero."""
        return not (math.isnan(self.ci_low) or self.ci_low <= 0 <= self.ci_high)

    @property
    def verdict(self) -> str:
        """'better', 'worse' or 'no significant difference' for the strategy."""
        if not self.significant:
            return "no significant difference"
        return "better" if self.mean * better_direction(self.kpi) > 0 else "worse"

    def as_row(self) -> dict[str, Any]:
        """Plain dict for tables and JSON."""
        return {
            "kpi": self.kpi,
            "item": self.item,
            "node": self.node,
            "link": self.link,
            "strategy": self.strategy,
            "baseline_mean": self.baseline_mean,
            "strategy_mean": self.strategy_mean,
            "diff_mean": self.mean,
            "ci95_low": self.ci_low,
            "ci95_high": self.ci_high,
            "n": self.n,
            "ci_clipped": self.ci_clipped,
            "verdict": self.verdict,
        }


def _grouped(kpis: pa.Table) -> dict[tuple[Any, ...], dict[str, dict[int, float]]]:
    cols = kpis.to_pydict()
    out: dict[tuple[Any, ...], dict[str, dict[int, float]]] = {}
    for k, it, nd, lk, v, s, r in zip(
        cols["kpi"],
        cols["item"],
        cols["node"],
        cols["link"],
        cols["value"],
        cols["strategy"],
        cols["replication"],
        strict=True,
    ):
        if v is None or (isinstance(v, float) and math.isnan(v)):
            continue
        out.setdefault((k, it, nd, lk), {}).setdefault(s, {})[int(r)] = float(v)
    return out


def paired_differences(kpis: pa.Table, baseline: str = "baseline", only: Iterable[str] | None = None) -> list[Diff]:
    """Paired differences (strategy − baseline) of every KPI present in both, per strategy."""
    wanted = set(only) if only is not None else None
    diffs: list[Diff] = []
    for key, by_strategy in sorted(_grouped(kpis).items(), key=lambda kv: tuple(str(x) for x in kv[0])):
        if wanted is not None and key[0] not in wanted:
            continue
        base = by_strategy.get(baseline)
        if not base:
            continue
        for strategy in sorted(by_strategy):
            if strategy == baseline:
                continue
            other = by_strategy[strategy]
            reps = sorted(set(base) & set(other))
            if not reps:
                continue
            b = np.array([base[r] for r in reps])
            s = np.array([other[r] for r in reps])
            d = s - b
            mean, lo, hi = t_ci(d)
            lo, hi, clipped = clip(lo, hi, mean, difference_domain(key[0]))
            n = len(reps)
            var_p = float(np.var(d, ddof=1)) if n > 1 else math.nan
            var_u = float(np.var(s, ddof=1) + np.var(b, ddof=1)) if n > 1 else math.nan
            kpi, item, node, link = key
            means = float(b.mean()), float(s.mean())
            diffs.append(Diff(kpi, item, node, link, strategy, *means, mean, lo, hi, n, var_p, var_u, clipped))
    return diffs


def rank(kpis: pa.Table, kpi: str = DEFAULT_RANKING_KPI, item: str | None = None) -> list[tuple[str, float]]:
    """Strategies ordered best first by the mean of ``kpi`` (over all items when ``item`` is None)."""
    by: dict[str, list[float]] = {}
    for key, by_strategy in _grouped(kpis).items():
        if key[0] != kpi or key[1] != item or key[2] is not None or key[3] is not None:
            continue
        for s, reps in by_strategy.items():
            by.setdefault(s, []).extend(reps.values())
    sign = better_direction(kpi)
    means = [(s, float(np.mean(v))) for s, v in by.items() if v]
    return sorted(means, key=lambda sv: (-sign * sv[1], sv[0]))


@dataclass(frozen=True)
class DeliveryWarning:
    """A strategy that delivers significantly more or fewer units of an item than the baseline."""

    strategy: str
    baseline: str
    item: str
    diff: Diff

    @property
    def text(self) -> str:
        """One line naming the strategies, the item and the difference with its 95% CI."""
        d = self.diff
        more = "more" if d.mean > 0 else "fewer"
        if math.isnan(d.ci_low):
            ci = f"{d.n} replication, no CI"
        else:
            ci = f"95% CI {d.ci_low:+,.0f} .. {d.ci_high:+,.0f}"
        return (
            f"warning: {self.strategy} delivers {abs(d.mean):,.0f} {more} units of {self.item} than "
            f"{self.baseline} ({d.strategy_mean:,.0f} vs {d.baseline_mean:,.0f}, {ci}): "
            "KPIs over delivered units only (lead_time_mean_days...) do not compare like with like"
        )

    def as_row(self) -> dict[str, Any]:
        """Plain dict for JSON."""
        d = self.diff
        return {
            "kind": "units_delivered_differ",
            "strategy": self.strategy,
            "baseline": self.baseline,
            "item": self.item,
            "baseline_mean": d.baseline_mean,
            "strategy_mean": d.strategy_mean,
            "diff_mean": d.mean,
            "ci95_low": d.ci_low,
            "ci95_high": d.ci_high,
            "n": d.n,
            "message": self.text,
        }


def delivery_warnings(kpis: pa.Table, baseline: str = "baseline") -> list[DeliveryWarning]:
    """Per item, the strategies whose ``units_delivered`` differs from the baseline's.

    A difference counts when its paired 95% CI excludes 0 or, with a single replication (no
    CI), when it is not 0: under common random numbers that difference is the strategy's.
    """
    out: list[DeliveryWarning] = []
    for d in paired_differences(kpis, baseline, only=["units_delivered"]):
        if d.item is None or d.node is not None or d.link is not None:
            continue  # the whole-run row adds up different items' units
        if d.significant or (d.n < 2 and d.mean != 0):
            out.append(DeliveryWarning(d.strategy, baseline, d.item, d))
    return out
