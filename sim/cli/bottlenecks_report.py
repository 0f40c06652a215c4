"""The ``bottlenecks`` command's report: the data it prints (``BottleneckReport``, also its JSON) and its tables."""

from __future__ import annotations

import datetime as dt
import math
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.table import Table

    from results.bottlenecks import BoundRow, RankRow, ResponseRow, Span

__all__ = ["BottleneckReport", "print_report"]


@dataclass
class BottleneckReport:
    """Everything the command prints (``--format json`` writes it as one object)."""

    scenario: str
    start: dt.date
    run: str
    strategy: str
    replications: int
    rule: str
    add: str
    ranking: list[RankRow]
    timeline: list[Span]
    bounds: list[BoundRow]
    response: list[ResponseRow]
    chain: list[ResponseRow]
    base_top: str | None
    messages: list[str]
    diverted: dict[str, float] = field(default_factory=dict)
    """Lots diverted per replication (routing on_departure) per node:/link: (``diverted_means``)."""

    def as_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""

        def span(s: Span) -> dict[str, Any]:
            return {
                "start_day": s.start,
                "end_day": s.end,
                "start": _date(self.start, s.start),
                "end": _date(self.start, s.end),
                "resource": s.resource,
                "share": s.share,
                "sole_share": s.sole,
                "also_saturated": list(s.also),
            }

        return {
            "scenario": self.scenario,
            "run": self.run,
            "strategy": self.strategy,
            "replications": self.replications,
            "rule": self.rule,
            "add": self.add,
            "top": self.base_top,
            "ranking": [r.as_dict() for r in self.ranking],
            "timeline": [span(s) for s in self.timeline],
            "bounds": [b.as_dict() for b in self.bounds],
            "response": [r.as_dict() for r in self.response],
            "chain": [r.as_dict() for r in self.chain],
            "messages": self.messages,
            **({"diverted": self.diverted} if self.diverted else {}),  # a static run's JSON is as before
        }


def _date(start: dt.date, day: float) -> str:
    return (start + dt.timedelta(days=math.floor(day + 1e-9))).isoformat()


def _pct(x: float | None) -> str:
    return "" if x is None or math.isnan(x) else f"{100 * x:.1f}%"


def _num(x: float | None, digits: int = 2) -> str:
    return "" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:,.{digits}f}"


def _ci(mean: float, lo: float, hi: float, digits: int = 0, base: float | None = None) -> str:
    if math.isnan(mean):
        return ""
    text = f"{mean:+,.{digits}f}"
    if base is not None and base and math.isfinite(base):
        text += f" ({100 * mean / base:+.1f}%)"
    if not math.isnan(lo):
        text += f" [{lo:+,.{digits}f}, {hi:+,.{digits}f}]"
        if lo <= 0 <= hi:
            text += " n.s."
    return text


def _effect(r: ResponseRow) -> list[str]:
    """Δ units, Δ lead time and the new top, as table cells."""
    return [
        _ci(r.d_units, r.d_units_low, r.d_units_high, 0, r.base_units),
        _ci(r.d_lead_days, r.d_lead_low, r.d_lead_high, 2),
        f"{r.new_top} ({_pct(r.new_top_share)})" if r.new_top else "(none active)",
    ]


def _cap(row: RankRow) -> str:
    return f"{row.capacity:,.6g} {row.unit}"


def _tables(report: BottleneckReport) -> list[Table]:
    from rich.table import Table

    cut_items: dict[str, list[str]] = {}
    for b in report.bounds:
        for name in b.min_cut:
            cut_items.setdefault(name, []).append(b.item)
    rank_t = Table(
        "#",
        "resource",
        "capacity",
        "util",
        "queue",
        "wait d",
        "lead-time share",
        "active",
        "sole",
        "shifting",
        "top in",
        "min-cut of",
        title=f"Bottleneck ranking of {report.scenario} ({report.strategy}, {report.replications} replication(s), "
        f"rule {report.rule}): by sole + shifting share, then utilisation",
    )
    for r in report.ranking:
        rank_t.add_row(
            str(r.rank),
            r.resource,
            _cap(r),
            _pct(r.utilisation),
            _num(r.queue_mean),
            _num(r.wait_mean_days),
            _pct(r.lead_time_share),
            _pct(r.active_share),
            _pct(r.sole_share),
            _pct(r.shifting_share),
            f"{r.top_in}/{r.n}",
            ", ".join(cut_items.get(r.resource, [])),
        )
    time_t = Table(
        "from",
        "to",
        "days",
        "dominant bottleneck",
        "bottleneck share",
        "sole",
        "also saturated (>= 75% of it)",
        title="When it binds (momentary bottleneck, dominant per period; other resources active most of it)",
    )
    for sp in report.timeline:
        time_t.add_row(
            _date(report.start, sp.start),
            _date(report.start, sp.end),
            f"{sp.end - sp.start:,.0f}",
            sp.resource or "(none active)",
            _pct(sp.share) if sp.resource else "",
            _pct(sp.sole) if sp.resource else "",
            ", ".join(sp.also),
        )
    bound_t = Table(
        "item",
        "units delivered [95% CI]",
        "horizon bound (stock counted)",
        "of bound",
        "rate units/day",
        "rate bound/day",
        "min-cut (structural bottleneck)",
        title="Units delivered against the max-flow bound over the horizon (stock counted, network.horizon)",
    )
    for b in report.bounds:
        ci = "" if math.isnan(b.units_ci_low) else f" [{b.units_ci_low:,.0f}, {b.units_ci_high:,.0f}]"
        cut = ", ".join(f"{r} ({b.by_resource.get(r, 0):,.1f}/d)" for r in b.min_cut) or "(unbounded)"
        bound = "inf" if math.isinf(b.bound) else f"{b.bound:,.1f}"
        h_bound = "inf" if math.isinf(b.horizon_units) else _num(b.horizon_units, 0)
        flag = " EXCEEDS" if b.exceeds else ""
        bound_t.add_row(
            b.item, f"{_num(b.units, 0)}{ci}", h_bound, _pct(b.units_ratio) + flag, _num(b.units_per_day, 1), bound, cut
        )
    out = [rank_t, time_t, bound_t]
    if report.diverted:  # routing on_departure: where lots left their route, and for which link
        div_t = Table("where", "lots diverted per replication", title="Diversions (a diversion moves the load)")
        for key, n in report.diverted.items():
            div_t.add_row(key if key.startswith("node:") else f"onto {key}", f"{n:,.1f}")
        out.append(div_t)
    if report.response:
        resp_t = Table(
            "candidate",
            "added",
            "Δ units delivered [95% CI]",
            "Δ mean lead time days [95% CI]",
            "new top bottleneck",
            title=f"Response to added capacity ({report.add}; paired over {report.replications} replications, "
            "common random numbers)",
        )
        for rr in report.response:
            resp_t.add_row(rr.candidate, rr.change, *_effect(rr))
        out.append(resp_t)
    if report.chain:
        chain_t = Table(
            "step",
            "relieved so far",
            "Δ units delivered [95% CI]",
            "Δ mean lead time days [95% CI]",
            "top bottleneck next",
            title="The chain: relieve the top bottleneck, then the next (reliefs add up)",
        )
        chain_t.add_row("0", "(base)", "", "", report.base_top or "(none active)")
        for k, step in enumerate(report.chain, 1):
            chain_t.add_row(str(k), step.change, *_effect(step))
        out.append(chain_t)
    return out


def print_report(report: BottleneckReport) -> None:
    from rich.console import Console

    out = Console(highlight=False, width=None if sys.stdout.isatty() else 160)
    for t in _tables(report):
        out.print(t)
    if report.ranking:
        r = report.ranking[0]
        out.print(
            f"top bottleneck: {report.base_top or '(none active)'}"
            + (
                f" — sole {_pct(r.sole_share)}, shifting {_pct(r.shifting_share)} of the time, utilisation "
                f"{_pct(r.utilisation)}"
                if report.base_top
                else ""
            ),
            markup=False,
        )
    if report.chain:
        steps = [report.base_top or "?", *(r.new_top or "(none)" for r in report.chain)]
        out.print("chain: " + " -> ".join(steps), markup=False)
    out.print(f"run directory: {report.run}", markup=False)
