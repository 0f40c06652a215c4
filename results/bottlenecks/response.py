"""What adding capacity to a resource does: the override that adds it, and the paired response.

:func:`capacity_change` turns "+1" or "+25%" for a resource into a dotted-path override
(``nodes.<id>.servers``, ``links.<id>.vehicles``, ``nodes.<id>.staff``,
``nodes.<id>.products.<i>.rate_per_day``); :func:`response` reads the paired differences
(common random numbers) of units delivered and mean lead time of each variant against the base
from a KPI table (``results.compare.paired_differences``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import pyarrow as pa

from results.bottlenecks.resources import Resource, resources
from results.compare import paired_differences
from scenarios.schema import Scenario

__all__ = ["Addition", "BadAddition", "Change", "ResponseRow", "Variant", "capacity_change", "response"]


class BadAddition(ValueError):
    """An ``--add`` amount that cannot be used."""


@dataclass(frozen=True)
class Addition:
    """Capacity to add to a candidate: ``amount`` units (``relative`` False) or a fraction.

    Absolute: ``+n`` servers, vehicles or contracting staff; for a supplier line, ``+n`` lots
    per day on its base rate (``n * lot_size`` units per day). Relative: the count times
    ``1 + fraction`` rounded up, and at least one more; a line's base rate times
    ``1 + fraction``.

    Example:
        >>> Addition.parse("25%"), str(Addition.parse("1"))
        (Addition(amount=0.25, relative=True), '+1')
    """

    amount: float
    relative: bool

    @classmethod
    def parse(cls, text: str) -> Addition:
        """``"1"`` (an integer 1..1000) or ``"25%"`` (0 < p <= 1000).

        Raises:
            BadAddition: Anything else.
        """
        s = text.strip()
        try:
            if s.endswith("%"):
                p = float(s[:-1])
                if not (math.isfinite(p) and 0 < p <= 1000):
                    raise ValueError
                return cls(p / 100.0, True)
            n = int(s)
            if not 1 <= n <= 1000:
                raise ValueError
            return cls(float(n), False)
        except ValueError:
            raise BadAddition(
                f"--add: expected a whole number 1..1000 or a percentage like 25% (got {text!r})"
            ) from None

    def __str__(self) -> str:
        return f"+{self.amount * 100:g}%" if self.relative else f"+{self.amount:g}"

    def count(self, n: int) -> int:
        """``n`` servers/vehicles/staff after the addition."""
        if self.relative:
            return max(n + 1, math.ceil(n * (1 + self.amount) - 1e-9))
        return n + round(self.amount)


@dataclass(frozen=True)
class Change:
    """The override that adds capacity to one resource.

    Attributes:
        resource: The resource name.
        path: The dotted path overridden (``scenarios.strategies`` syntax).
        before: The value before.
        after: The value after.
        text: What a planner reads, e.g. ``servers 2 -> 3``.
        integer: Whether the value is a count (servers, vehicles, staff) or a rate.
    """

    resource: str
    path: str
    before: float
    after: float
    text: str
    integer: bool = True

    @property
    def overrides(self) -> dict[str, Any]:
        """``{path: after}`` for ``scenarios.strategies.apply_overrides``."""
        return {self.path: int(self.after) if self.integer else self.after}


def capacity_change(scenario: Scenario, resource: Resource | str, addition: Addition) -> Change:
    """The override adding ``addition`` to ``resource`` of ``scenario``.

    Raises:
        KeyError: ``resource`` is not a resource of ``scenario``.

    Example:
        >>> from scenarios.load import load
        >>> s = load("scenarios/small_routers.yaml")
        >>> capacity_change(s, "agency:nspa", Addition.parse("1")).overrides
        {'nodes.nspa.staff': 3}
    """
    if isinstance(resource, str):
        by_name = {r.name: r for r in resources(scenario)}
        if resource not in by_name:
            raise KeyError(resource)
        resource = by_name[resource]
    r = resource
    if r.kind == "supplier":
        node = scenario.node(r.id)
        index = next(i for i, p in enumerate(node.products) if p.item == r.item)
        rate = float(node.products[index].rate_per_day)
        if addition.relative:
            new = rate * (1 + addition.amount)
        else:
            new = rate + addition.amount * scenario.item(str(r.item)).lot_size
        new = round(new, 6)
        path = f"nodes.{r.id}.products.{index}.rate_per_day"
        return Change(r.name, path, rate, new, f"rate {rate:,.6g} -> {new:,.6g}/day", integer=False)
    field_name = {"node": "servers", "link": "vehicles", "agency": "staff"}[r.kind]
    before = int(r.capacity)
    after = addition.count(before)
    path = f"{'links' if r.kind == 'link' else 'nodes'}.{r.id}.{field_name}"
    return Change(r.name, path, float(before), float(after), f"{field_name} {before} -> {after}")


@dataclass(frozen=True)
class Variant:
    """A capacity variant of the base: its part label, the change and its new top bottleneck."""

    label: str
    change: Change
    new_top: str | None
    new_top_share: float


@dataclass(frozen=True)
class ResponseRow:
    """The response of the system to one capacity change (paired over replications).

    ``d_units`` is the mean change in units delivered over the run, ``d_lead_days`` the mean
    change in mean lead time (days, all items), each with its 95% paired-t interval (NaN with
    fewer than two replications).
    """

    candidate: str
    change: str
    path: str
    base_units: float
    d_units: float
    d_units_low: float
    d_units_high: float
    base_lead_days: float
    d_lead_days: float
    d_lead_low: float
    d_lead_high: float
    new_top: str | None
    new_top_share: float
    n: int

    def as_dict(self) -> dict[str, Any]:
        """Plain dict (NaN -> None) for JSON."""
        return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in asdict(self).items()}


def response(kpis: pa.Table, base: str, variants: Sequence[Variant]) -> list[ResponseRow]:
    """Paired differences of units delivered and mean lead time, each variant against ``base``.

    Args:
        kpis: Long KPI table (``results.kpis.kpi_table`` rows) holding the base and every
            variant, each under its label in the ``strategy`` column, on the same replication
            numbers (common random numbers).
        base: Label of the base.
        variants: The variants, in the order to report.
    """
    want = ("units_delivered", "lead_time_mean_days")
    diffs = {
        (d.strategy, d.kpi): d
        for d in paired_differences(kpis, baseline=base, only=want)
        if d.item is None and d.node is None and d.link is None
    }
    nan3 = (math.nan, math.nan, math.nan)
    out = []
    for v in variants:
        du = diffs.get((v.label, "units_delivered"))
        dl = diffs.get((v.label, "lead_time_mean_days"))
        u = (du.mean, du.ci_low, du.ci_high) if du else nan3
        lt = (dl.mean, dl.ci_low, dl.ci_high) if dl else nan3
        out.append(
            ResponseRow(
                v.change.resource,
                v.change.text,
                v.change.path,
                du.baseline_mean if du else math.nan,
                *u,
                dl.baseline_mean if dl else math.nan,
                *lt,
                v.new_top,
                v.new_top_share,
                max(du.n if du else 0, dl.n if dl else 0),
            )
        )
    return out
