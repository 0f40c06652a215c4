"""The scenario language of the pull side: consumption, stock policies and allocation (issue 14).

Imported by ``scenarios.schema`` (``Unit.consumption``, ``Unit.stock_policies``,
``Depot.stock_policies``, ``Depot.allocation``, ``Product.allocation``); the cross-references
of these fields are checked by ``inventory_problems``, called from
``scenarios.schema.reference_problems``.

Consumption per (unit, item) is a demand drawn every ``every_days`` days: Poisson, negative
binomial (mean and dispersion), truncated normal (mean and cv), an empirical list of daily
values, or fixed, times an optional intensity profile over dates. Stock policies per (node,
item) order from the node's upstream: a unit from a depot (``source``) or a channel, a depot
from a channel. Example (one unit, one item)::

    consumption:
      drone: {dist: negative_binomial, mean_per_day: 400, dispersion: 4,
              intensity: [{from: 2024-10-01, factor: 1.5}]}
    stock_policies:
      drone: {rule: R_Q, reorder_point: 3000, order_qty: 2000, source: pokrovsk_depot}

This module defines its own small base types (the same as ``scenarios.schema``'s), because
``scenarios.schema`` imports it.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal, Union

from pydantic import ConfigDict, Field, StrictInt, model_validator
from pydantic_core import PydanticCustomError

from scenarios.schema_base import Date, Id, NonNegFloat, NonNegQty, PosFloat, Qty
from scenarios.schema_base import Strict as StrictBase

__all__ = [
    "Allocation",
    "Consumption",
    "IntensityPoint",
    "PeriodicQ",
    "PeriodicS",
    "ReorderQ",
    "ReorderS",
    "StockPolicy",
    "inventory_problems",
]

Level = Annotated[StrictInt, Field(ge=-(10**12), le=10**12)]
"""A stock level or inventory position: may be negative (backorders exceed stock)."""

Loc = tuple[str | int, ...]


class Strict(StrictBase):
    """The language's strict base, also filled by field name where a field has an alias (``from``)."""

    model_config = ConfigDict(populate_by_name=True)


# --------------------------------------------------------------------------- consumption


class IntensityPoint(Strict):
    """From a date on, consumption is the base rate times ``factor`` (until the next point)."""

    from_: Date = Field(alias="from", description="First day of this intensity (inside the horizon).")
    factor: NonNegFloat = Field(
        description="Multiplier of the mean daily rate from that day on (0 stops consumption).",
        json_schema_extra={"unit": "share"},
    )


CONSUMPTION_DISTS = ("poisson", "negative_binomial", "truncated_normal", "empirical", "fixed")


class Consumption(Strict):
    """A unit's consumption of one item: a random demand drawn every ``every_days`` days.

    Each draw is the demand of ``every_days`` days, of mean ``mean_per_day x every_days x
    factor`` (the intensity in force): ``poisson``; ``negative_binomial`` (variance mean +
    mean^2 / dispersion); ``truncated_normal`` (standard deviation ``cv x mean``, negative draws
    redrawn; fractions carried over, whole units consumed); ``empirical`` (one of ``values``,
    equally likely or by ``weights``, times ``every_days x factor``); ``fixed`` (exactly the
    mean, fractions carried over as ``consumption_per_day`` does). Draws come from the
    ``consumption`` random stream of this (unit, item), so strategies share them.
    """

    dist: Literal["poisson", "negative_binomial", "truncated_normal", "empirical", "fixed"] = Field(
        "poisson", description="Distribution of the demand of one period."
    )
    mean_per_day: NonNegFloat | None = Field(
        None,
        description="Mean demand per day before intensity; none only with `empirical` (the mean of its values).",
        json_schema_extra={"unit": "units/day"},
    )
    dispersion: PosFloat | None = Field(
        None,
        description="Negative binomial dispersion k: variance = mean + mean^2 / k (required there).",
        json_schema_extra={"unit": "dimensionless"},
    )
    cv: PosFloat | None = Field(
        None,
        description="Truncated normal: standard deviation over mean, before truncation at 0 (required there).",
        json_schema_extra={"unit": "dimensionless"},
    )
    values: list[NonNegFloat] = Field(
        [], description="Empirical: observed demands of one day (required there).", json_schema_extra={"unit": "units"}
    )
    weights: list[PosFloat] | None = Field(
        None,
        description="Empirical: relative weight of each value; none: equally likely.",
        json_schema_extra={"unit": "weight"},
    )
    every_days: Annotated[StrictInt, Field(ge=1, le=3650)] = Field(
        1,
        description="Days between demand draws (each draws that many days' demand).",
        json_schema_extra={"unit": "days"},
    )
    intensity: list[IntensityPoint] = Field(
        [], description="Piecewise-constant multipliers of the rate from dates on, by increasing date; none: 1."
    )

    @model_validator(mode="after")
    def _parameters(self) -> Consumption:
        need = {"negative_binomial": "dispersion", "truncated_normal": "cv"}.get(self.dist)
        if need is not None and getattr(self, need) is None:
            raise PydanticCustomError("consumption", "{dist} needs {field}", {"dist": self.dist, "field": need})
        if self.dist == "empirical":
            if not self.values:
                raise PydanticCustomError("consumption", "empirical needs values", {})
            if self.weights is not None and len(self.weights) != len(self.values):
                raise PydanticCustomError("consumption", "weights must match values one to one", {})
        elif self.mean_per_day is None:
            raise PydanticCustomError("consumption", "{dist} needs mean_per_day", {"dist": self.dist})
        days = [p.from_ for p in self.intensity]
        if days != sorted(days) or len(set(days)) != len(days):
            raise PydanticCustomError("consumption", "intensity points must be in increasing date order", {})
        return self

    def mean_rate(self) -> float:
        """Mean demand per day before intensity (units/day)."""
        if self.mean_per_day is not None:
            return self.mean_per_day
        w = self.weights or [1.0] * len(self.values)
        return sum(v * x for v, x in zip(self.values, w, strict=True)) / sum(w)


# --------------------------------------------------------------------------- stock policies


class _PolicyBase(Strict):
    safety_stock: NonNegQty = Field(
        0,
        description="Units added to the reorder point and the order-up-to level.",
        json_schema_extra={"unit": "units"},
    )
    shortage: Literal["backorder", "lost_sales"] = Field(
        "backorder",
        description="Demand not met from stock waits for the next receipt (`backorder`) or is lost (`lost_sales`); a depot always backorders.",
    )
    source: Id | None = Field(
        None,
        description="Id of the depot a unit orders from (it must have a policy for the item); none: the channel below.",
    )
    channel: Literal["agency", "bilateral", "domestic"] = Field(
        "domestic", description="Channel of each order when there is no `source`: a requirement bought as any other."
    )
    funders: list[Id] = Field(
        [], description="Ids of the donors paying the orders; none on the domestic channel: the state budget."
    )
    agency: Id | None = Field(None, description="Id of the agency for the agency channel; none: the only agency.")
    need_within_days: NonNegFloat | None = Field(
        None,
        description="Each order is needed this long after it is placed; none: by the last day of the horizon.",
        json_schema_extra={"unit": "days"},
    )
    priority: Annotated[StrictInt, Field(ge=1, le=9)] | None = Field(
        None,
        description="Priority of the orders, 1 (most urgent) to 9; none: the item's.",
        json_schema_extra={"unit": "rank"},
    )


class ReorderS(_PolicyBase):
    """Continuous review (s, S): when the inventory position is at or below s, order up to S."""

    rule: Literal["s_S"] = Field(description="Policy: `s_S`, continuous review (s, S).")
    reorder_point: Level = Field(
        description="s: order when the inventory position is at or below it.", json_schema_extra={"unit": "units"}
    )
    order_up_to: Level = Field(
        description="S: the inventory position an order restores.", json_schema_extra={"unit": "units"}
    )

    @model_validator(mode="after")
    def _levels(self) -> ReorderS:
        if self.order_up_to <= self.reorder_point:
            raise PydanticCustomError("policy", "order_up_to must be above reorder_point", {})
        return self


class ReorderQ(_PolicyBase):
    """Continuous review (R, Q): at or below R, order the smallest multiple of Q that lifts the position above R."""

    rule: Literal["R_Q"] = Field(description="Policy: `R_Q`, continuous review (R, Q).")
    reorder_point: Level = Field(
        description="R: order when the inventory position is at or below it.", json_schema_extra={"unit": "units"}
    )
    order_qty: Qty = Field(
        description="Q: the order quantity (a multiple of it when demand jumps).", json_schema_extra={"unit": "units"}
    )


class PeriodicS(_PolicyBase):
    """Periodic review (T, S): every T days, order up to S."""

    rule: Literal["T_S"] = Field(description="Policy: `T_S`, periodic review (T, S).")
    period_days: PosFloat = Field(description="T: days between reviews.", json_schema_extra={"unit": "days"})
    first_review_day: NonNegFloat = Field(
        0.0, description="Day of the first review.", json_schema_extra={"unit": "days"}
    )
    order_up_to: Level = Field(
        description="S: the inventory position each review restores.", json_schema_extra={"unit": "units"}
    )


class PeriodicQ(_PolicyBase):
    """Periodic review (T, Q): every T days, if at or below R, order the smallest multiple of Q lifting the position above R."""

    rule: Literal["T_Q"] = Field(description="Policy: `T_Q`, periodic review (T, Q).")
    period_days: PosFloat = Field(description="T: days between reviews.", json_schema_extra={"unit": "days"})
    first_review_day: NonNegFloat = Field(
        0.0, description="Day of the first review.", json_schema_extra={"unit": "days"}
    )
    order_qty: Qty = Field(description="Q: the order quantity.", json_schema_extra={"unit": "units"})
    reorder_point: Level = Field(
        0, description="R: a review orders only at or below it.", json_schema_extra={"unit": "units"}
    )


StockPolicy = Annotated[Union[ReorderS, ReorderQ, PeriodicS, PeriodicQ], Field(discriminator="rule")]


# --------------------------------------------------------------------------- allocation


class Allocation(Strict):
    """Who gets scarce stock (a depot) or the next lot (a production line) first."""

    rule: Literal["fifo", "priority", "fair_share"] = Field(
        description="`fifo`: in order of arrival; `priority`: by priority, then arrival; `fair_share`: in proportion to `by`."
    )
    by: Literal["backorders", "consumption"] = Field(
        "backorders",
        description="fair_share basis: each waiting order's quantity (equal progress) or its unit's mean consumption rate.",
    )


# --------------------------------------------------------------------------- cross-references


def inventory_problems(s: Any) -> list[tuple[Loc, str]]:
    """Broken references of consumption, stock policies and allocation, as ``(field path, message)``.

    ``s`` is a ``scenarios.schema.Scenario`` (typed loosely: that module imports this one).
    """
    from scenarios.refs import did_you_mean

    problems: list[tuple[Loc, str]] = []
    items = {i.id for i in s.items}
    kinds = {n.id: n.kind for n in s.nodes}
    state_budget = any(getattr(n, "state_budget", False) for n in s.nodes)
    agencies = [n.id for n in s.nodes if n.kind == "agency"]
    depot_items = {n.id: set(getattr(n, "stock_policies", {})) for n in s.nodes if n.kind == "depot"}
    try:
        horizon_end = s.start + dt.timedelta(days=max(0, int(s.horizon_days) - 1))
    except OverflowError:  # reported by reference_problems
        horizon_end = dt.date.max

    def item_ok(loc: Loc, item: str) -> None:
        if item not in items:
            problems.append((loc, f"unknown item {item!r}{did_you_mean(item, items)}"))

    for i, n in enumerate(s.nodes):
        for item, c in getattr(n, "consumption", {}).items():
            if item in getattr(n, "consumption_per_day", {}):
                problems.append(
                    (("nodes", i, "consumption", item), "item also in consumption_per_day: give one of the two")
                )
            for j, p in enumerate(c.intensity):
                if not s.start <= p.from_ <= horizon_end:
                    problems.append(
                        (("nodes", i, "consumption", item, "intensity", j, "from"), "date outside the horizon")
                    )
        for item, p in getattr(n, "stock_policies", {}).items():
            loc: Loc = ("nodes", i, "stock_policies", item)
            if n.kind == "depot":
                if p.source is not None:
                    problems.append(((*loc, "source"), "a depot orders through a channel, not from another node"))
                if p.shortage != "backorder":
                    problems.append(((*loc, "shortage"), "a depot backorders (its demand is the units' orders)"))
            if p.source is not None:  # an unknown id or another kind is scenarios.refs's to report
                if kinds.get(p.source) == "depot" and item not in depot_items[p.source]:
                    problems.append(((*loc, "source"), f"depot {p.source!r} has no stock policy for {item!r}"))
                continue
            if p.channel != "domestic" and not p.funders:
                problems.append(((*loc, "funders"), f"a {p.channel} order needs at least one funding donor"))
            if p.channel == "domestic" and not p.funders and not state_budget:
                problems.append(
                    ((*loc, "funders"), "name the funders or declare a donor with state_budget: true (it pays)")
                )
            if p.channel == "agency" and p.agency is None and len(agencies) != 1:
                problems.append(((*loc, "agency"), f"name the agency: the scenario has {len(agencies)} agencies"))
    return problems
