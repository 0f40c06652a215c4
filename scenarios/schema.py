"""The scenario language: strict, frozen pydantic v2 models of the whole domain.

A scenario describes donors, an NSPA-style agency, suppliers, handling nodes (hubs, border
crossings, depots), Ukrainian units, the transport links between them, the requirements that
drive the flow, disruptions, and named strategies (overlays of the base scenario).

Conventions (design.md section 7): ``extra="forbid"``, ``frozen=True``, finite numbers only,
tagged unions on ``kind`` (nodes, disruptions), ``dist`` (distributions) and ``rule``
(dispatch); cross-references are checked in one ``model_validator(mode="after")`` which reports
every broken reference at once, each with its own field path.

Time is in days from ``start``; dates in the file are calendar dates.

Example:
    >>> from scenarios.schema import Fixed
    >>> Fixed(value=2.0).mean_days()
    2.0
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Annotated, Any, Literal

from pydantic import (
    Field,
    StrictFloat,
    StrictInt,
    model_validator,
)
from pydantic_core import PydanticCustomError

from scenarios.refs import did_you_mean, id_reference_problems
from scenarios.schema_base import (
    MAX_QTY,
    MIN_PERIOD_DAYS,
    MIN_RATE_PER_YEAR,
    MIN_VOLUME_M3,
    Count,
    Date,
    Id,
    Money,
    NonNegFloat,
    NonNegQty,
    PosFloat,
    Probability,
    Qty,
    Strict,
    due_day,
)
from scenarios.schema_dists import (
    Dist,
    Empirical,
    Exponential,
    Fixed,
    Lognormal,
    Triangular,
    Uniform,
    as_dist,
)
from scenarios.schema_flow import (
    MAX_STREAM_ARRIVALS,
    Dispatch,
    DispatchFull,
    DispatchImmediate,
    DispatchScheduled,
    Disruption,
    Link,
    Pledge,
    RandomDisruption,
    Requirement,
    RequirementStream,
    ScheduledDisruption,
)
from scenarios.schema_inventory import inventory_problems
from scenarios.schema_nodes import (
    HANDLING_KINDS,
    Agency,
    Border,
    Depot,
    Donor,
    Hub,
    Item,
    Location,
    LotTime,
    Node,
    PriceBreak,
    Product,
    RampPoint,
    Source,
    Supplier,
    Tranche,
    Unit,
)
from scenarios.schema_routing import Routing

__all__ = [
    "HANDLING_KINDS",
    "MAX_QTY",
    "MAX_STREAM_ARRIVALS",
    "MIN_PERIOD_DAYS",
    "MIN_RATE_PER_YEAR",
    "MIN_VOLUME_M3",
    "Agency",
    "Border",
    "Count",
    "Date",
    "Depot",
    "Dispatch",
    "DispatchFull",
    "DispatchImmediate",
    "DispatchScheduled",
    "Disruption",
    "Dist",
    "Donor",
    "Empirical",
    "Exponential",
    "Fixed",
    "Hub",
    "Id",
    "Item",
    "Link",
    "Location",
    "Lognormal",
    "LotTime",
    "Money",
    "Node",
    "NonNegFloat",
    "NonNegQty",
    "Pledge",
    "Policy",
    "PosFloat",
    "PriceBreak",
    "Probability",
    "Product",
    "Qty",
    "RampPoint",
    "RandomDisruption",
    "Requirement",
    "RequirementStream",
    "Scenario",
    "ScheduledDisruption",
    "Source",
    "Strategy",
    "Strict",
    "Success",
    "Supplier",
    "Tranche",
    "Triangular",
    "Uniform",
    "Unit",
    "as_dist",
    "due_day",
    "effective_channel",
    "reference_problems",
]


# --------------------------------------------------------------------------- policy, strategies


class Policy(Strict):
    """Scenario-wide policy choices that strategies typically change."""

    channel: Literal["agency", "bilateral", "domestic"] | None = Field(
        None, description="Channel every non-domestic requirement uses; none: each requirement's own."
    )
    routing_weight: Literal["transit_days", "distance_km", "hops"] = Field(
        "transit_days", description="What a route minimises: `transit_days`, `distance_km` or `hops`."
    )
    queue_discipline: Literal["fifo", "priority"] = Field(
        "fifo", description="Order of waiting lots: `fifo` or by `priority`."
    )
    item_priority: dict[Id, Annotated[StrictInt, Field(ge=1, le=9)]] = Field(
        {},
        description="Priority per item id, 1 (most urgent) to 9, overriding the catalogue's.",
        json_schema_extra={"unit": "rank"},
    )


class Strategy(Strict):
    """A named overlay: dotted-path overrides of the base scenario."""

    name: Id = Field(description="Name of the strategy (`baseline` is the unchanged scenario).")
    description: str = Field("", description="What the strategy changes, in words.")
    overrides: dict[Annotated[str, Field(min_length=1, max_length=300)], Any] = Field(
        {}, description="Dotted paths of the base scenario and their new values, e.g. `links.rail_pl_ua.vehicles: 12`."
    )


# --------------------------------------------------------------------------- success criteria

SUCCESS_KINDS = ("delivered_units_at_least", "on_time_share_at_least", "last_delivery_by")
"""The criteria a ``Success`` entry may state, exactly one per entry."""


class Success(Strict):
    """One criterion of the scenario's question about one item, checked in each replication.

    State exactly one of: ``delivered_units_at_least`` (units of the item delivered by the end
    of ``by``, or of the run without it), ``on_time_share_at_least`` (the item's OTIF: share of
    its requirements filled in full by the end of their need-by date) or ``last_delivery_by``
    (every required unit of the item delivered, the last by the end of that date). A date is
    the whole day, as a need-by date. The criteria never change a run; ``run`` and ``compare``
    print in how many replications each was met (``results.success``).
    """

    item: Id = Field(description="Id of the item the criterion is about.")
    delivered_units_at_least: NonNegQty | None = Field(
        None,
        description="Met when at least this many units of the item are delivered (to any unit) by the end of `by`.",
        json_schema_extra={"unit": "units"},
    )
    by: Date | None = Field(
        None,
        description="Date by whose end `delivered_units_at_least` must be reached (inside the horizon); none: the end of the run.",
    )
    on_time_share_at_least: Probability | None = Field(
        None,
        description="Met when the item's on-time share (OTIF: requirements filled in full by the end of their need-by date) is at least this.",
        json_schema_extra={"unit": "share"},
    )
    last_delivery_by: Date | None = Field(
        None,
        description="Met when every required unit of the item is delivered and the last by the end of this date (inside the horizon).",
    )
    cite: list[Id] = Field([], description="Ids of the sources behind the criterion.")

    @model_validator(mode="after")
    def _one_criterion(self) -> Success:
        given = [k for k in SUCCESS_KINDS if getattr(self, k) is not None]
        if len(given) != 1:
            raise PydanticCustomError(
                "success",
                "state exactly one of {kinds} (got {given})",
                {"kinds": ", ".join(SUCCESS_KINDS), "given": ", ".join(given) or "none"},
            )
        if self.by is not None and self.delivered_units_at_least is None:
            raise PydanticCustomError("success", "by goes with delivered_units_at_least", {})
        return self


# --------------------------------------------------------------------------- scenario


def _dup_problems(ids: list[str], field: str) -> list[tuple[tuple[str | int, ...], str]]:
    seen: dict[str, int] = {}
    problems: list[tuple[tuple[str | int, ...], str]] = []
    for i, ident in enumerate(ids):
        if ident in seen:
            problems.append(((field, i, "id"), f"duplicate id {ident!r} (first at {field}[{seen[ident]}])"))
        else:
            seen[ident] = i
    return problems


class Scenario(Strict):
    """A whole scenario; cross-references are checked after the fields."""

    name: Id = Field(description="Id of the scenario.")
    question: str = Field("", description="The question the scenario answers, in words.")
    description: str = Field("", description="What the scenario models, in words.")
    start: Date = Field(description="Calendar date of day 0.")
    horizon_days: Annotated[StrictFloat, Field(gt=0, le=36_500)] = Field(
        description="Length of a run; the horizon holds whole dates only.", json_schema_extra={"unit": "days"}
    )
    seed: Annotated[StrictInt, Field(ge=0, le=2**63 - 1)] = Field(0, description="Root seed of the random streams.")
    replications: Annotated[StrictInt, Field(ge=1, le=10_000)] = Field(
        1, description="Independent runs per strategy.", json_schema_extra={"unit": "runs"}
    )
    sources: list[Source] = Field([], description="Documents cited by `cite` lists.")
    items: Annotated[list[Item], Field(min_length=1)] = Field(description="The catalogue.")
    nodes: Annotated[list[Node], Field(min_length=1)] = Field(
        description="Donors, agencies, suppliers, hubs, borders, depots and units, tagged by `kind`."
    )
    links: list[Link] = Field([], description="Transport links between nodes.")
    requirements: list[Requirement] = Field([], description="What units need, by when.")
    pledges: list[Pledge] = Field([], description="Donors' announced promises; each becomes or names requirements.")
    disruptions: list[Disruption] = Field([], description="Scheduled and random outages of nodes and links.")
    policy: Policy = Field(default=Policy(), description="Scenario-wide policy choices.")
    routing: Routing = Field(
        default=Routing(),
        description="How lots choose their route: `static` (fixed shortest) or `on_departure` (by expected time).",
    )
    strategies: list[Strategy] = Field([], description="Named overlays of this scenario, compared by `compare`.")
    success: list[Success] = Field(
        [], description="Criteria of the scenario's question, each checked in every replication (`run`, `compare`)."
    )

    @model_validator(mode="before")
    @classmethod
    def _pledges_become_requirements(cls, data: Any) -> Any:
        from scenarios.pledges import expand_pledges

        return expand_pledges(data)

    # ----------------------------------------------------------------- derived lookups

    def day_of(self, date: dt.date) -> float:
        """Days from ``start`` to ``date``."""
        return float((date - self.start).days)

    def node(self, node_id: str) -> Any:
        """The node with this id (KeyError if none)."""
        for n in self.nodes:
            if n.id == node_id:
                return n
        raise KeyError(node_id)

    def item(self, item_id: str) -> Item:
        """The item with this id (KeyError if none)."""
        for it in self.items:
            if it.id == item_id:
                return it
        raise KeyError(item_id)

    def with_strategy(self, name: str) -> Scenario:
        """The resolved, validated scenario with strategy ``name`` applied."""
        from scenarios.strategies import apply_strategy

        return apply_strategy(self, name)

    # ----------------------------------------------------------------- cross-references

    @model_validator(mode="after")
    def _references(self) -> Scenario:
        problems = reference_problems(self)
        if problems:
            raise PydanticCustomError(
                "reference",
                "{count} reference problem(s)",
                {"count": len(problems), "problems": problems},
            )
        return self


Loc = tuple[str | int, ...]


def effective_channel(s: Scenario, r: Requirement) -> str:
    """The channel ``r`` uses: ``policy.channel`` overrides every non-domestic requirement."""
    if r.channel == "domestic" or s.policy.channel is None:
        return r.channel
    return s.policy.channel


def reference_problems(s: Scenario) -> list[tuple[Loc, str]]:
    """Every broken cross-reference of ``s`` as ``(field path, message)``, in file order."""
    problems: list[tuple[Loc, str]] = []
    problems += _dup_problems([i.id for i in s.items], "items")
    problems += _dup_problems([n.id for n in s.nodes], "nodes")
    problems += _dup_problems([lk.id for lk in s.links], "links")
    first_node: dict[str, int] = {}
    for i, n in enumerate(s.nodes):
        first_node.setdefault(n.id, i)
    for i, lk in enumerate(s.links):
        if lk.id in first_node:
            problems.append(
                (
                    ("links", i, "id"),
                    f"{lk.id!r} is already the id of nodes[{first_node[lk.id]}]: nodes and links share one "
                    "namespace (a disruption's target names either)",
                )
            )
    problems += _dup_problems([r.id for r in s.requirements], "requirements")
    problems += _dup_problems([d.id for d in s.disruptions], "disruptions")
    problems += _dup_problems([x.id for x in s.sources], "sources")
    names = [st.name for st in s.strategies]
    for i, nm in enumerate(names):
        if nm in names[:i]:
            problems.append((("strategies", i, "name"), f"duplicate strategy name {nm!r}"))

    sources = {x.id for x in s.sources}
    try:
        end = s.start + dt.timedelta(days=s.horizon_days)
    except OverflowError:  # start near 9999-12-31: report it instead of crashing
        end = dt.date.max
        problems.append((("horizon_days",), f"start + horizon_days is past {dt.date.max.isoformat()}"))

    # a date is the whole day [d, d + 1): the run [0, horizon_days) must hold all of it
    last_day = math.floor(s.horizon_days) - 1

    def in_horizon(loc: Loc, date: dt.date) -> None:
        if not s.start <= date or (date - s.start).days > last_day:
            last = (s.start + dt.timedelta(days=last_day)).isoformat() if last_day >= 0 and end < dt.date.max else "-"
            problems.append(
                (
                    loc,
                    f"date {date.isoformat()} is outside the horizon {s.start.isoformat()}..{last} "
                    f"(horizon_days {s.horizon_days:g} from {s.start.isoformat()} holds these dates whole)",
                )
            )

    def cites(loc: Loc, refs: list[str]) -> None:  # for pledge_problems; the other cites are id_reference_problems'
        for j, c in enumerate(refs):
            if c not in sources:
                problems.append(((*loc, "cite", j), f"unknown source {c!r}{did_you_mean(c, sources)}"))

    problems += id_reference_problems(s)  # unknown ids and wrong kinds, with "did you mean"
    state_budget: int | None = None
    for i, n in enumerate(s.nodes):
        if isinstance(n, Donor):
            if n.state_budget:
                if state_budget is not None:
                    problems.append(
                        (("nodes", i, "state_budget"), f"a second state budget (the first is nodes[{state_budget}])")
                    )
                state_budget = i if state_budget is None else state_budget
            if n.budget_eur == "unlimited" and not n.state_budget:
                problems.append((("nodes", i, "budget_eur"), "only the state budget (state_budget: true) is unlimited"))
            if n.budget_eur == "unlimited" and n.tranches:
                problems.append((("nodes", i, "tranches"), "an unlimited budget has no tranches"))
            for j, tr in enumerate(n.tranches):
                in_horizon(("nodes", i, "tranches", j, "date"), tr.date)
        elif isinstance(n, Supplier):
            made = [p.item for p in n.products]
            for j, p in enumerate(n.products):
                if p.item in made[:j]:
                    problems.append((("nodes", i, "products", j, "item"), f"item {p.item!r} listed twice"))
                breaks = [b.min_qty for b in p.price_breaks]
                if any(breaks[k + 1] <= breaks[k] for k in range(len(breaks) - 1)):
                    problems.append(
                        (
                            ("nodes", i, "products", j, "price_breaks"),
                            "price breaks must be in increasing min_qty order",
                        )
                    )
                days = [r.day for r in p.ramp]
                if days != sorted(days):
                    problems.append(
                        (("nodes", i, "products", j, "ramp"), "ramp points must be in increasing day order")
                    )
    for i, lk in enumerate(s.links):
        if lk.from_ == lk.to:
            problems.append((("links", i, "to"), "a link cannot start and end at the same node"))
    agencies = [n.id for n in s.nodes if n.kind == "agency"]
    for i, r in enumerate(s.requirements):
        channel = effective_channel(s, r)
        if channel != "domestic" and not r.funders:
            problems.append(
                (("requirements", i, "funders"), f"a {channel} requirement needs at least one funding donor")
            )
        elif not r.funders and state_budget is None:
            problems.append(
                (
                    ("requirements", i, "funders"),
                    "a domestic requirement without funders is paid by Ukraine's state budget: "
                    "name its funders or declare a donor with state_budget: true",
                )
            )
        if r.agency is None and channel == "agency" and len(agencies) != 1:
            problems.append(
                (("requirements", i, "agency"), f"name the agency: the scenario has {len(agencies)} agencies")
            )
        in_horizon(("requirements", i, "need_by"), r.need_by)
        if r.opens is not None:
            in_horizon(("requirements", i, "opens"), r.opens)
            if r.need_by < r.opens:
                problems.append(
                    (
                        ("requirements", i, "need_by"),
                        f"need_by {r.need_by.isoformat()} is before opens {r.opens.isoformat()}",
                    )
                )
        if r.stream is not None:
            until = r.stream.until
            in_horizon(("requirements", i, "stream", "until"), until)
            if r.opens is not None and until < r.opens:
                problems.append(
                    (("requirements", i, "stream", "until"), f"until {until.isoformat()} is before opens {r.opens}")
                )
            if until > r.need_by:
                problems.append(
                    (("requirements", i, "stream", "until"), f"until {until.isoformat()} is after need_by {r.need_by}")
                )
            if r.expected_arrivals(s.start) > MAX_STREAM_ARRIVALS:
                problems.append(
                    (
                        ("requirements", i, "stream", "interarrival_days"),
                        f"about {r.expected_arrivals(s.start):.3g} arrivals expected (at most {MAX_STREAM_ARRIVALS:,})",
                    )
                )
    for i, d in enumerate(s.disruptions):
        if isinstance(d, ScheduledDisruption):
            in_horizon(("disruptions", i, "start"), d.start)
    for i, c in enumerate(s.success):
        for field in ("by", "last_delivery_by"):
            when = getattr(c, field)
            if when is not None:
                in_horizon(("success", i, field), when)
    for i, lk in enumerate(s.links):
        if lk.cost_per_km_eur > 0 and lk.distance_km is None:
            problems.append((("links", i, "cost_per_km_eur"), "cost_per_km_eur needs the link's distance_km"))
    from scenarios.pledges import pledge_problems

    problems += pledge_problems(s, in_horizon, cites)
    problems += inventory_problems(s)
    return problems
