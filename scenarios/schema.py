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
from typing import Annotated, Any, Literal, Union

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    model_validator,
)
from pydantic_core import PydanticCustomError

from scenarios.refs import did_you_mean, id_reference_problems
from scenarios.schema_inventory import Allocation, Consumption, StockPolicy, inventory_problems
from scenarios.schema_routing import Routing

__all__ = [
    "MAX_QTY",
    "MIN_PERIOD_DAYS",
    "MIN_RATE_PER_YEAR",
    "MIN_VOLUME_M3",
    "Agency",
    "Border",
    "Depot",
    "DispatchFull",
    "DispatchImmediate",
    "DispatchScheduled",
    "Dist",
    "Donor",
    "Empirical",
    "Exponential",
    "Fixed",
    "Hub",
    "Item",
    "Link",
    "LotTime",
    "Lognormal",
    "Node",
    "Pledge",
    "Policy",
    "PriceBreak",
    "RandomDisruption",
    "Requirement",
    "RequirementStream",
    "Scenario",
    "ScheduledDisruption",
    "Source",
    "Strategy",
    "Success",
    "Supplier",
    "Triangular",
    "Uniform",
    "Unit",
    "as_dist",
    "due_day",
    "effective_channel",
    "reference_problems",
]

MAX_QTY = 10**12
"""Largest quantity (units, EUR) the language accepts."""

Id = Annotated[str, Field(min_length=1, max_length=80, pattern=r"^[A-Za-z][A-Za-z0-9_\-]*$")]
PosFloat = Annotated[StrictFloat, Field(gt=0, le=1e12)]
NonNegFloat = Annotated[StrictFloat, Field(ge=0, le=1e12)]
Probability = Annotated[StrictFloat, Field(ge=0, le=1)]
Qty = Annotated[StrictInt, Field(gt=0, le=MAX_QTY)]
NonNegQty = Annotated[StrictInt, Field(ge=0, le=MAX_QTY)]
Count = Annotated[StrictInt, Field(gt=0, le=100_000)]
Money = Annotated[StrictFloat, Field(ge=0, le=MAX_QTY)]

MIN_PERIOD_DAYS = 0.0006944
"""Shortest period or outage the language accepts: a minute (1/1440 day, rounded down).

Convoy intervals (``every_days``) and scheduled outages (``duration_days``) shorter than this
are refused: a convoy every nanosecond would keep a run busy for ever without moving a lot.
"""
MIN_VOLUME_M3 = 1e-9
"""Smallest unit volume accepted (a cubic millimetre): vehicle capacity / volume stays finite."""
MIN_RATE_PER_YEAR = 1e-12
"""Smallest random-disruption rate accepted: the mean gap 365 / rate stays a finite number of days."""


def _not_a_number(value: Any) -> Any:
    """Refuse a number (or boolean) where a date goes: ``start: 0`` is not 1970-01-01."""
    if isinstance(value, (int, float)):
        raise PydanticCustomError("date_type", "Input should be a valid date", {})
    return value


Date = Annotated[dt.date, BeforeValidator(_not_a_number)]
"""A calendar date, written ``YYYY-MM-DD``; numbers are refused (no Unix timestamps)."""


def due_day(need_by_day: float) -> float:
    """The instant a need-by date ends: day ``d`` is ``[d, d + 1)``, so a delivery at ``t <= d + 1`` is on time.

    Example:
        >>> due_day(5.0)
        6.0
    """
    return need_by_day + 1.0


class _Strict(BaseModel):
    """Base of every model: closed, frozen, finite."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


# --------------------------------------------------------------------------- distributions


class Fixed(_Strict):
    """A constant duration in days."""

    dist: Literal["fixed"] = Field(
        "fixed", description="Distribution tag: `fixed` (the default; a bare number means a fixed value)."
    )
    value: NonNegFloat = Field(description="The constant duration.", json_schema_extra={"unit": "days"})

    def mean_days(self) -> float:
        """Expected value in days."""
        return self.value


class Exponential(_Strict):
    """Exponential with the given mean (days)."""

    dist: Literal["exponential"] = Field(description="Distribution tag: `exponential`.")
    mean: PosFloat = Field(description="Mean of the exponential.", json_schema_extra={"unit": "days"})

    def mean_days(self) -> float:
        """Expected value in days."""
        return self.mean


class Uniform(_Strict):
    """Uniform on [low, high] days."""

    dist: Literal["uniform"] = Field(description="Distribution tag: `uniform`.")
    low: NonNegFloat = Field(description="Lower bound.", json_schema_extra={"unit": "days"})
    high: NonNegFloat = Field(description="Upper bound, at least `low`.", json_schema_extra={"unit": "days"})

    @model_validator(mode="after")
    def _ordered(self) -> Uniform:
        if self.high < self.low:
            raise PydanticCustomError(
                "order", "high must be >= low (got {low} > {high})", {"low": self.low, "high": self.high}
            )
        return self

    def mean_days(self) -> float:
        """Expected value in days."""
        return (self.low + self.high) / 2


class Triangular(_Strict):
    """Triangular with low <= mode <= high (days)."""

    dist: Literal["triangular"] = Field(description="Distribution tag: `triangular`.")
    low: NonNegFloat = Field(description="Lower bound.", json_schema_extra={"unit": "days"})
    mode: NonNegFloat = Field(
        description="Most likely value, between `low` and `high`.", json_schema_extra={"unit": "days"}
    )
    high: NonNegFloat = Field(description="Upper bound.", json_schema_extra={"unit": "days"})

    @model_validator(mode="after")
    def _ordered(self) -> Triangular:
        if not self.low <= self.mode <= self.high:
            raise PydanticCustomError(
                "order",
                "need low <= mode <= high (got {low}, {mode}, {high})",
                {"low": self.low, "mode": self.mode, "high": self.high},
            )
        return self

    def mean_days(self) -> float:
        """Expected value in days."""
        return (self.low + self.mode + self.high) / 3


class Lognormal(_Strict):
    """Lognormal given by its mean (days) and coefficient of variation."""

    dist: Literal["lognormal"] = Field(description="Distribution tag: `lognormal`.")
    mean: PosFloat = Field(
        description="Mean of the lognormal (not of its logarithm).", json_schema_extra={"unit": "days"}
    )
    cv: Annotated[StrictFloat, Field(gt=0, le=100)] = Field(
        description="Coefficient of variation: standard deviation / mean, in (0, 100].",
        json_schema_extra={"unit": "ratio"},
    )

    def mean_days(self) -> float:
        """Expected value in days."""
        return self.mean


class Empirical(_Strict):
    """Draws one of ``values`` (days) with optional ``weights`` (probabilities summing to 1)."""

    dist: Literal["empirical"] = Field(description="Distribution tag: `empirical`.")
    values: Annotated[list[NonNegFloat], Field(min_length=1, max_length=100_000)] = Field(
        description="The values drawn from, one to 100,000.", json_schema_extra={"unit": "days"}
    )
    weights: list[Probability] | None = Field(
        None,
        description="Probability of each value, one per value, summing to 1; none: all equally likely.",
        json_schema_extra={"unit": "probability"},
    )

    @model_validator(mode="after")
    def _weights(self) -> Empirical:
        if self.weights is not None:
            if len(self.weights) != len(self.values):
                raise PydanticCustomError(
                    "weights",
                    "weights must have one entry per value ({n} values, {m} weights)",
                    {"n": len(self.values), "m": len(self.weights)},
                )
            total = math.fsum(self.weights)
            if abs(total - 1.0) > 1e-9:
                raise PydanticCustomError("weights", "weights must sum to 1 (got {total})", {"total": round(total, 12)})
        return self

    def mean_days(self) -> float:
        """Expected value in days."""
        if self.weights is None:
            return math.fsum(self.values) / len(self.values)
        return math.fsum(v * w for v, w in zip(self.values, self.weights, strict=True))


def _number_is_fixed(value: Any) -> Any:
    """Let a planner write ``transit_days: 2`` for ``{dist: fixed, value: 2}``."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return {"dist": "fixed", "value": value}
    return value


_DistUnion = Annotated[
    Union[Fixed, Exponential, Uniform, Triangular, Lognormal, Empirical],
    Field(discriminator="dist"),
]

Dist = Annotated[
    _DistUnion,
    # json_schema_input_type: the JSON Schema must also admit the bare-number shorthand.
    BeforeValidator(_number_is_fixed, json_schema_input_type=Union[NonNegFloat, _DistUnion]),
]
"""A duration distribution in days; a bare number means ``fixed``."""


def as_dist(value: float) -> Fixed:
    """A fixed distribution, for code that builds scenarios."""
    return Fixed(value=value)


# --------------------------------------------------------------------------- catalogue, sources


class Source(_Strict):
    """A citation: the document, the exact phrase quoted from it, and what it supports."""

    id: Id = Field(description="Id of the source, named by `cite` lists.")
    document: Annotated[str, Field(min_length=1, max_length=300)] = Field(
        description="The document cited: title, publisher, date or URL."
    )
    phrase: Annotated[str, Field(min_length=3, max_length=2000)] = Field(
        description="The exact phrase quoted from the document."
    )
    supports: Annotated[str, Field(min_length=1, max_length=500)] = Field(
        description="What in the scenario the phrase supports."
    )


class Item(_Strict):
    """A catalogue entry."""

    id: Id = Field(description="Id of the item, named by products, requirements, pledges and earmarks.")
    name: str = Field("", description="Readable name.")
    unit_value_eur: Money = Field(
        description="Catalogue value of one unit: the estimate committed when a requirement opens.",
        json_schema_extra={"unit": "EUR/unit"},
    )
    volume_m3: Annotated[
        StrictFloat,
        Field(
            ge=MIN_VOLUME_M3,
            le=1e6,
            description="Volume of one unit (m3), at least 1e-9 (a cubic millimetre).",
            json_schema_extra={"unit": "m3"},
        ),
    ]
    lot_size: Qty = Field(
        description="Units per lot, the moving entity of the flow.", json_schema_extra={"unit": "units/lot"}
    )
    priority: Annotated[StrictInt, Field(ge=1, le=9)] = Field(
        5,
        description="Priority class, 1 (most urgent) to 9; `policy.item_priority` and a requirement's `priority` override it.",
        json_schema_extra={"unit": "rank"},
    )
    cite: list[Id] = Field([], description="Ids of the sources behind these numbers.")


class Location(_Strict):
    """WGS84 coordinates."""

    lat: Annotated[StrictFloat, Field(ge=-90, le=90)] = Field(
        description="Latitude, WGS84.", json_schema_extra={"unit": "degrees"}
    )
    lon: Annotated[StrictFloat, Field(ge=-180, le=180)] = Field(
        description="Longitude, WGS84.", json_schema_extra={"unit": "degrees"}
    )


# --------------------------------------------------------------------------- nodes


class _NodeBase(_Strict):
    id: Id = Field(description="Id of the node, unique among nodes and links.")
    name: str = Field("", description="Readable name.")
    location: Location | None = Field(None, description="Coordinates, for maps and distances; none: not placed.")
    cite: list[Id] = Field([], description="Ids of the sources behind these numbers.")


class Tranche(_Strict):
    """Money that becomes available to a donor on a date."""

    date: Date = Field(description="The day the money becomes available (inside the horizon).")
    amount_eur: Money = Field(
        description="Money added to the donor's budget that day.", json_schema_extra={"unit": "EUR"}
    )


class Donor(_NodeBase):
    """A donor: budget available at start, tranches later, optional item earmarks.

    ``state_budget: true`` makes it Ukraine's state budget: it pays the domestic requirements
    that name no funders (at most one per scenario). Only the state budget may be
    ``budget_eur: unlimited`` (then it has no tranches).
    """

    kind: Literal["donor"] = Field(description="Node kind: `donor`.")
    budget_eur: Money | Literal["unlimited"] = Field(
        description="Money available at start, or `unlimited` (the state budget only).",
        json_schema_extra={"unit": "EUR"},
    )
    state_budget: StrictBool = Field(
        False,
        description="This donor is Ukraine's state budget: it pays domestic requirements that name no funders (at most one).",
    )
    tranches: list[Tranche] = Field([], description="Money added later, on dates.")
    earmarks: list[Id] | None = Field(None, description="Items this donor may fund; none: any item.")
    bilateral_lead_days: Dist = Field(
        default=Fixed(value=30.0),
        description="Time from funding to contract on the bilateral channel when this donor pays most.",
        json_schema_extra={"unit": "days"},
    )


class Agency(_NodeBase):
    """An NSPA-style procurement agency pooling requirements into tenders."""

    kind: Literal["agency"] = Field(description="Node kind: `agency`.")
    staff: Count = Field(
        description="Contracting staff: tenders run at the same time.", json_schema_extra={"unit": "tenders"}
    )
    tender_days: Dist = Field(
        description="Time from a tender's start to its award.", json_schema_extra={"unit": "days"}
    )
    fee_share: Annotated[StrictFloat, Field(ge=0, lt=1)] = Field(
        0.0, description="Agency fee as a share of each contract, in [0, 1).", json_schema_extra={"unit": "share"}
    )
    award_policy: Literal["cheapest", "fastest", "split"] = Field(
        "cheapest",
        description="How a tender picks suppliers: `cheapest` unit price, `fastest` finish, or `split` across suppliers.",
    )
    pool_days: NonNegFloat = Field(
        0.0,
        description="Requirements reaching the agency within this time are pooled into one tender per item.",
        json_schema_extra={"unit": "days"},
    )


class RampPoint(_Strict):
    """From ``day`` on, the line runs at ``factor`` times its base rate (linear in between)."""

    day: NonNegFloat = Field(description="Day from start at which `factor` holds.", json_schema_extra={"unit": "days"})
    factor: Annotated[StrictFloat, Field(ge=0, le=1e6)] = Field(
        description="Multiple of the line's base rate from `day` on (linear between points).",
        json_schema_extra={"unit": "factor"},
    )


class LotTime(_Strict):
    """A lot's work content: ``lot size`` times a draw of mean 1 (``fixed``: exactly 1).

    ``exponential`` has cv 1 (a busy line releases lots as a Poisson process); ``lognormal``
    takes its ``cv``. The line works through the content at its rate, ramp and disruptions
    included, so the mean lot time at a constant rate stays ``lot size / rate``.
    """

    dist: Literal["fixed", "exponential", "lognormal"] = Field(
        description="How a lot's work content varies: `fixed` (none), `exponential` (cv 1) or `lognormal` (cv given)."
    )
    cv: Annotated[StrictFloat, Field(gt=0, le=100)] | None = Field(
        None, description="Coefficient of variation, for `lognormal` only.", json_schema_extra={"unit": "ratio"}
    )

    @model_validator(mode="after")
    def _cv(self) -> LotTime:
        if (self.dist == "lognormal") != (self.cv is not None):
            raise PydanticCustomError("cv", "cv is given for lognormal lot times, and only for them", {})
        return self


def _name_is_lot_time(value: Any) -> Any:
    """Let a planner write ``lot_time: exponential`` for ``{dist: exponential}``."""
    if isinstance(value, str):
        return {"dist": value}
    return value


class PriceBreak(_Strict):
    """A quantity discount: an order of at least ``min_qty`` units costs ``unit_price_eur`` a unit."""

    min_qty: Qty = Field(
        description="Smallest order quantity the price applies to.", json_schema_extra={"unit": "units"}
    )
    unit_price_eur: Money = Field(
        description="Price of one unit from `min_qty` on.", json_schema_extra={"unit": "EUR/unit"}
    )


class Product(_Strict):
    """One production line of a supplier."""

    item: Id = Field(description="Id of the item this line makes.")
    rate_per_day: PosFloat = Field(
        description="Base production rate of the line.", json_schema_extra={"unit": "units/day"}
    )
    unit_price_eur: Money = Field(
        description="Contract price of one unit (before price breaks).", json_schema_extra={"unit": "EUR/unit"}
    )
    initial_stock: NonNegQty = Field(
        0, description="Units in stock at start; they ship first.", json_schema_extra={"unit": "units"}
    )
    ramp: list[RampPoint] = Field(
        [], description="Rate changes over time, by increasing `day`; none: the base rate throughout."
    )
    lot_time: Annotated[
        LotTime | None,
        BeforeValidator(
            _name_is_lot_time, json_schema_input_type=Union[Literal["fixed", "exponential"], LotTime, None]
        ),
    ] = Field(None, description="How a lot's making time varies around `lot size / rate`; none: it does not.")
    price_breaks: list[PriceBreak] = Field(
        [],
        description="Lower unit prices from a quantity on, by increasing `min_qty` (applied to the quantity tendered).",
    )
    allocation: Allocation = Field(
        default=Allocation(rule="priority"),
        description="Which order the line's next lot goes to: by `priority` then award order (the default), `fifo` or `fair_share`.",
    )


class Supplier(_NodeBase):
    """A producer: its lines, its country, and whether it is domestic (Ukrainian)."""

    kind: Literal["supplier"] = Field(description="Node kind: `supplier`.")
    country: str = Field("", description="Country of production.")
    domestic: StrictBool = Field(False, description="A Ukrainian (domestic) producer, serving the `domestic` channel.")
    products: Annotated[list[Product], Field(min_length=1)] = Field(description="Its production lines, one per item.")


class _Handling(_NodeBase):
    servers: Count = Field(
        description="Handling teams or clearance lanes working at the same time.", json_schema_extra={"unit": "servers"}
    )
    service_days: Dist = Field(
        description="Service time of one job (a lot, or a vehicle's load with `serve: vehicle`).",
        json_schema_extra={"unit": "days"},
    )
    storage_cap_lots: Count | None = Field(
        None,
        description="Most lots held (waiting, in service, or loaded towards it); a full node blocks its senders. None: no cap.",
        json_schema_extra={"unit": "lots"},
    )
    serve: Literal["lot", "vehicle"] = Field(
        "lot",
        description="`lot`: each lot is one job; `vehicle`: the load of one arriving vehicle is one job (one service time).",
    )


class Hub(_Handling):
    """A logistics hub: handling teams, service time per lot, optional storage cap."""

    kind: Literal["hub"] = Field(description="Node kind: `hub` (a logistics hub).")


class Border(_Handling):
    """A border crossing; its servers are clearance lanes."""

    kind: Literal["border"] = Field(description="Node kind: `border` (a border crossing).")


class Depot(_Handling):
    """A depot inside Ukraine; with stock policies it holds stock and issues it to units (issue 14)."""

    kind: Literal["depot"] = Field(description="Node kind: `depot` (a depot inside Ukraine).")
    initial_stock: dict[Id, NonNegQty] = Field(
        {}, description="Units of each item in stock at start (items with a stock policy).", json_schema_extra={"unit": "units"}
    )
    stock_policies: dict[Id, StockPolicy] = Field(
        {}, description="Replenishment policy per item id; none: lots pass through without stock."
    )
    allocation: Allocation = Field(
        default=Allocation(rule="fifo"), description="Who gets scarce stock first among the units' waiting orders."
    )


class Unit(_NodeBase):
    """A receiving unit, with optional daily consumption and opening stock per item."""

    kind: Literal["unit"] = Field(description="Node kind: `unit` (a receiving unit).")
    consumption_per_day: dict[Id, NonNegFloat] = Field(
        {}, description="Units of each item consumed per day, by item id.", json_schema_extra={"unit": "units/day"}
    )
    initial_stock: dict[Id, NonNegQty] = Field(
        {}, description="Units of each item in stock at start, by item id.", json_schema_extra={"unit": "units"}
    )
    consumption: dict[Id, Consumption] = Field(
        {}, description="Random consumption per item id (an item is in this or in `consumption_per_day`)."
    )
    stock_policies: dict[Id, StockPolicy] = Field(
        {}, description="Replenishment policy per item id; none: the unit only receives its requirements."
    )


Node = Annotated[
    Union[Donor, Agency, Supplier, Hub, Border, Depot, Unit],
    Field(discriminator="kind"),
]

HANDLING_KINDS = ("hub", "border", "depot")

# --------------------------------------------------------------------------- links


class DispatchImmediate(_Strict):
    """A vehicle leaves as soon as it holds a lot."""

    rule: Literal["immediate"] = Field("immediate", description="Dispatch rule: `immediate` (the default).")


class DispatchFull(_Strict):
    """A vehicle leaves when full by volume, or after ``max_wait_days`` with what it has."""

    rule: Literal["full"] = Field(description="Dispatch rule: `full`.")
    max_wait_days: NonNegFloat = Field(
        description="Longest a loading vehicle waits to fill before it leaves with what it has.",
        json_schema_extra={"unit": "days"},
    )


class DispatchScheduled(_Strict):
    """Convoys leave every ``every_days`` from ``first_day``, with whatever waits."""

    rule: Literal["scheduled"] = Field(description="Dispatch rule: `scheduled`.")
    every_days: Annotated[
        StrictFloat,
        Field(
            ge=MIN_PERIOD_DAYS,
            le=1e12,
            description="Days between departures, at least 0.0006944 (a minute).",
            json_schema_extra={"unit": "days"},
        ),
    ]
    first_day: NonNegFloat = Field(0.0, description="Day of the first departure.", json_schema_extra={"unit": "days"})


Dispatch = Annotated[
    Union[DispatchImmediate, DispatchFull, DispatchScheduled],
    Field(discriminator="rule"),
]


class Link(_Strict):
    """A transport link with a vehicle pool."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, populate_by_name=True)

    id: Id = Field(description="Id of the link, unique among nodes and links.")
    from_: Id = Field(alias="from", description="Id of the node the link leaves: a supplier, hub, border or depot.")
    to: Id = Field(description="Id of the node the link reaches: a hub, border, depot or unit.")
    mode: Literal["road", "rail", "air", "sea"] = Field(description="Transport mode.")
    transit_days: Dist = Field(
        description="Time of one trip, from departure to arrival.", json_schema_extra={"unit": "days"}
    )
    vehicles: Count = Field(description="Vehicles in the link's pool.", json_schema_extra={"unit": "vehicles"})
    capacity_m3: PosFloat = Field(description="Volume one vehicle carries.", json_schema_extra={"unit": "m3"})
    return_days: Dist | None = Field(
        None,
        description="Time of the empty trip back; none: a draw of `transit_days`.",
        json_schema_extra={"unit": "days"},
    )
    dispatch: Dispatch = Field(
        default=DispatchImmediate(), description="When a vehicle leaves: `immediate`, `full` or `scheduled`."
    )
    loss_probability: Probability = Field(
        0.0, description="Probability that a lot is lost in transit.", json_schema_extra={"unit": "probability"}
    )
    distance_km: NonNegFloat | None = Field(
        None, description="Length of the link; none: unknown.", json_schema_extra={"unit": "km"}
    )
    enabled: StrictBool = Field(True, description="Whether the link may be used (a strategy may close it).")
    cite: list[Id] = Field([], description="Ids of the sources behind these numbers.")
    cost_per_trip_eur: Money = Field(
        0.0,
        description="Cost of one departure (a `departed` row), the return leg included.",
        json_schema_extra={"unit": "EUR/trip"},
    )
    cost_per_km_eur: Money = Field(
        0.0,
        description="Cost per km of `distance_km` for one departure (needs `distance_km`).",
        json_schema_extra={"unit": "EUR/km"},
    )

    def trip_cost_eur(self) -> float:
        """EUR one departure costs: ``cost_per_trip_eur + cost_per_km_eur * distance_km``."""
        return self.cost_per_trip_eur + self.cost_per_km_eur * (self.distance_km or 0.0)


# --------------------------------------------------------------------------- demand, disruptions


class RequirementStream(_Strict):
    """Requirements arriving as a stream: one every ``interarrival_days`` until the end of ``until``.

    Each arrival opens a requirement of its own for the requirement's ``qty``, needed within
    ``need_within_days`` of opening (and by ``need_by`` at the latest).
    """

    interarrival_days: Dist = Field(
        description="Time between arrivals; its mean must be > 0.", json_schema_extra={"unit": "days"}
    )
    until: Date = Field(description="Last day an arrival may open (inside the horizon, not after `need_by`).")
    need_within_days: NonNegFloat | None = Field(
        None,
        description="Each arrival is needed this long after it opens (never after `need_by`); none: by `need_by`.",
        json_schema_extra={"unit": "days"},
    )

    @model_validator(mode="after")
    def _gaps(self) -> RequirementStream:
        if self.interarrival_days.mean_days() <= 0:
            raise PydanticCustomError("gap", "interarrival_days must have a mean > 0", {})
        return self


MAX_STREAM_ARRIVALS = 10**7
"""Most arrivals a requirement stream may expect (interval / mean interarrival)."""


class Requirement(_Strict):
    """A unit's need for a quantity of an item by a date, or a stream of such needs (``stream``)."""

    id: Id = Field(description="Id of the requirement.")
    unit: Id = Field(description="Id of the receiving unit.")
    item: Id = Field(description="Id of the item needed.")
    qty: Qty = Field(description="Quantity needed (per arrival for a stream).", json_schema_extra={"unit": "units"})
    opens: Date | None = Field(None, description="Day the requirement opens; none: the scenario's start.")
    need_by: Date = Field(description="Need-by date: on time if delivered by the end of that day.")
    priority: Annotated[StrictInt, Field(ge=1, le=9)] | None = Field(
        None,
        description="Priority, 1 (most urgent) to 9; none: the item's priority.",
        json_schema_extra={"unit": "rank"},
    )
    funders: list[Id] = Field(
        [],
        description="Ids of the donors that pay, first listed first; none on a domestic requirement: the state budget.",
    )
    channel: Literal["agency", "bilateral", "domestic"] = Field(
        "agency",
        description="How it is bought: `agency` (pooled tender), `bilateral` (a donor buys directly) or `domestic` (Ukrainian makers).",
    )
    agency: Id | None = Field(
        None, description="Id of the agency for the agency channel; none: the scenario's only agency."
    )
    cite: list[Id] = Field([], description="Ids of the sources behind these numbers.")
    stream: RequirementStream | None = Field(
        None,
        description="Open a requirement of `qty` at each arrival of this stream, from `opens` (or start) on; none: a single requirement.",
    )

    def expected_arrivals(self, start: dt.date) -> float:
        """Requirements this entry opens, on average: 1, or a stream's interval over its mean gap."""
        if self.stream is None:
            return 1.0
        first = self.opens or start
        return ((self.stream.until - first).days + 1) / self.stream.interarrival_days.mean_days()


class Pledge(_Strict):
    """A donor's announced promise of ``qty`` of an item by ``deliver_by``; it becomes requirements.

    Either it lists the requirements that deliver it (``requirements``), or it names a ``unit``
    and becomes one requirement of its own id (opens on ``announced``, needed by
    ``deliver_by``, funded by ``donor`` through ``channel``); see LANGUAGE.md, "Pledges".
    """

    id: Id = Field(description="Id of the pledge (and of the requirement it becomes when it names a unit).")
    donor: Id = Field(description="Id of the donor that pledges.")
    item: Id = Field(description="Id of the item pledged.")
    qty: Qty = Field(description="Quantity pledged.", json_schema_extra={"unit": "units"})
    announced: Date = Field(description="Day the pledge is announced (the requirement opens then).")
    deliver_by: Date = Field(description="Day by whose end the pledge should be delivered.")
    requirements: list[Id] = Field(
        [], description="Ids of the requirements that deliver the pledge (or name a `unit` instead)."
    )
    unit: Id | None = Field(
        None, description="Id of the receiving unit: the pledge becomes one requirement of its own id."
    )
    channel: Literal["agency", "bilateral", "domestic"] = Field(
        "bilateral", description="Channel of the requirement the pledge becomes."
    )
    agency: Id | None = Field(None, description="Id of the agency, for the agency channel.")
    cite: list[Id] = Field([], description="Ids of the sources behind these numbers.")


class ScheduledDisruption(_Strict):
    """A known outage: capacity of a node or link times ``capacity_factor`` for a while."""

    kind: Literal["scheduled"] = Field(description="Disruption kind: `scheduled` (a known outage).")
    id: Id = Field(description="Id of the disruption.")
    target: Id = Field(description="Id of the node (hub, border, depot, supplier) or link disrupted.")
    start: Date = Field(description="First day of the outage.")
    duration_days: Annotated[
        StrictFloat,
        Field(
            ge=MIN_PERIOD_DAYS,
            le=1e12,
            description="Length of the outage in days, at least 0.0006944 (a minute).",
            json_schema_extra={"unit": "days"},
        ),
    ]
    capacity_factor: Probability = Field(
        0.0,
        description="Share of the target's capacity left while it lasts; 0 closes it.",
        json_schema_extra={"unit": "share"},
    )
    loss_probability: Probability = Field(
        0.0,
        description="Probability that a lot at the target is lost while it lasts (a strike at a node).",
        json_schema_extra={"unit": "probability"},
    )


class RandomDisruption(_Strict):
    """Outages arriving at ``rate_per_year`` (Poisson) with random durations."""

    kind: Literal["random"] = Field(description="Disruption kind: `random` (outages arriving as a Poisson process).")
    id: Id = Field(description="Id of the disruption.")
    target: Id = Field(description="Id of the node (hub, border, depot, supplier) or link disrupted.")
    rate_per_year: Annotated[
        StrictFloat,
        Field(
            ge=MIN_RATE_PER_YEAR,
            le=3650,
            description="Expected outages per year (Poisson), from 1e-12 (practically never) to 3650 (ten a day).",
            json_schema_extra={"unit": "per year"},
        ),
    ]
    duration_days: Dist = Field(description="Length of each outage.", json_schema_extra={"unit": "days"})
    capacity_factor: Probability = Field(
        0.0,
        description="Share of the target's capacity left during an outage; 0 closes it.",
        json_schema_extra={"unit": "share"},
    )
    loss_probability: Probability = Field(
        0.0,
        description="Probability that a lot at the target is lost during an outage.",
        json_schema_extra={"unit": "probability"},
    )


Disruption = Annotated[Union[ScheduledDisruption, RandomDisruption], Field(discriminator="kind")]

# --------------------------------------------------------------------------- policy, strategies


class Policy(_Strict):
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


class Strategy(_Strict):
    """A named overlay: dotted-path overrides of the base scenario."""

    name: Id = Field(description="Name of the strategy (`baseline` is the unchanged scenario).")
    description: str = Field("", description="What the strategy changes, in words.")
    overrides: dict[Annotated[str, Field(min_length=1, max_length=300)], Any] = Field(
        {}, description="Dotted paths of the base scenario and their new values, e.g. `links.rail_pl_ua.vehicles: 12`."
    )


# --------------------------------------------------------------------------- success criteria

SUCCESS_KINDS = ("delivered_units_at_least", "on_time_share_at_least", "last_delivery_by")
"""The criteria a ``Success`` entry may state, exactly one per entry."""


class Success(_Strict):
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


class Scenario(_Strict):
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
