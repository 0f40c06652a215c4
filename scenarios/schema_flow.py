"""Links, demand and disruptions of the scenario language.

Links carry lots between nodes under a dispatch rule; requirements (one-off or streamed) and
pledges drive the flow; scheduled and random disruptions cut a node's or link's capacity.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal, Union

from pydantic import (
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    model_validator,
)
from pydantic_core import PydanticCustomError

from scenarios.schema_base import (
    MIN_PERIOD_DAYS,
    MIN_RATE_PER_YEAR,
    Count,
    Date,
    Id,
    Money,
    NonNegFloat,
    PosFloat,
    Probability,
    Qty,
    Strict,
)
from scenarios.schema_dists import (
    Dist,
)

# --------------------------------------------------------------------------- links


class DispatchImmediate(Strict):
    """A vehicle leaves as soon as it holds a lot."""

    rule: Literal["immediate"] = Field("immediate", description="Dispatch rule: `immediate` (the default).")


class DispatchFull(Strict):
    """A vehicle leaves when full by volume, or after ``max_wait_days`` with what it has."""

    rule: Literal["full"] = Field(description="Dispatch rule: `full`.")
    max_wait_days: NonNegFloat = Field(
        description="Longest a loading vehicle waits to fill before it leaves with what it has.",
        json_schema_extra={"unit": "days"},
    )


class DispatchScheduled(Strict):
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


class Link(Strict):
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


class RequirementStream(Strict):
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


class Requirement(Strict):
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


class Pledge(Strict):
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


class ScheduledDisruption(Strict):
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


class RandomDisruption(Strict):
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
