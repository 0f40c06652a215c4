"""The language's shared ground: the strict base model, bounded number types, dates and limits.

Every model of the scenario language derives from ``Strict`` (closed, frozen, finite); the
annotated types here (``Id``, ``Qty``, ``Money``, ``Date`` ...) carry the bounds every field shares.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictFloat,
    StrictInt,
)
from pydantic_core import PydanticCustomError

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


class Strict(BaseModel):
    """Base of every model: closed, frozen, finite."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
