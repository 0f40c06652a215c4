"""Catalogue and nodes of the scenario language: sources, items, donors, agencies, suppliers, handling nodes, units.

``Node`` is the tagged union on ``kind``; ``HANDLING_KINDS`` names the nodes that serve lots
(hubs, border crossings, depots).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import (
    BeforeValidator,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    model_validator,
)
from pydantic_core import PydanticCustomError

from scenarios.schema_base import (
    MIN_VOLUME_M3,
    Count,
    Date,
    Id,
    Money,
    NonNegFloat,
    NonNegQty,
    PosFloat,
    Qty,
    Strict,
)
from scenarios.schema_dists import (
    Dist,
    Fixed,
)
from scenarios.schema_inventory import Allocation, Consumption, StockPolicy

# --------------------------------------------------------------------------- catalogue, sources


class Source(Strict):
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


class Item(Strict):
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


class Location(Strict):
    """WGS84 coordinates."""

    lat: Annotated[StrictFloat, Field(ge=-90, le=90)] = Field(
        description="Latitude, WGS84.", json_schema_extra={"unit": "degrees"}
    )
    lon: Annotated[StrictFloat, Field(ge=-180, le=180)] = Field(
        description="Longitude, WGS84.", json_schema_extra={"unit": "degrees"}
    )


# --------------------------------------------------------------------------- nodes


class _NodeBase(Strict):
    id: Id = Field(description="Id of the node, unique among nodes and links.")
    name: str = Field("", description="Readable name.")
    location: Location | None = Field(None, description="Coordinates, for maps and distances; none: not placed.")
    cite: list[Id] = Field([], description="Ids of the sources behind these numbers.")


class Tranche(Strict):
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


class RampPoint(Strict):
    """From ``day`` on, the line runs at ``factor`` times its base rate (linear in between)."""

    day: NonNegFloat = Field(description="Day from start at which `factor` holds.", json_schema_extra={"unit": "days"})
    factor: Annotated[StrictFloat, Field(ge=0, le=1e6)] = Field(
        description="Multiple of the line's base rate from `day` on (linear between points).",
        json_schema_extra={"unit": "factor"},
    )


class LotTime(Strict):
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


class PriceBreak(Strict):
    """A quantity discount: an order of at least ``min_qty`` units costs ``unit_price_eur`` a unit."""

    min_qty: Qty = Field(
        description="Smallest order quantity the price applies to.", json_schema_extra={"unit": "units"}
    )
    unit_price_eur: Money = Field(
        description="Price of one unit from `min_qty` on.", json_schema_extra={"unit": "EUR/unit"}
    )


class Product(Strict):
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
        {},
        description="Units of each item in stock at start (items with a stock policy).",
        json_schema_extra={"unit": "units"},
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
