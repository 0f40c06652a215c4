"""Distributions of the scenario language: fixed, exponential, uniform, triangular, lognormal, empirical.

A duration or quantity written as a plain number is a ``Fixed`` distribution (``as_dist``);
otherwise the ``dist`` tag selects the model. Means are in the field's own unit (days, units).
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal, Union

from pydantic import (
    BeforeValidator,
    Field,
    StrictFloat,
    model_validator,
)
from pydantic_core import PydanticCustomError

from scenarios.schema_base import (
    NonNegFloat,
    PosFloat,
    Probability,
    Strict,
)

# --------------------------------------------------------------------------- distributions


class Fixed(Strict):
    """A constant duration in days."""

    dist: Literal["fixed"] = Field(
        "fixed", description="Distribution tag: `fixed` (the default; a bare number means a fixed value)."
    )
    value: NonNegFloat = Field(description="The constant duration.", json_schema_extra={"unit": "days"})

    def mean_days(self) -> float:
        """Expected value in days."""
        return self.value


class Exponential(Strict):
    """Exponential with the given mean (days)."""

    dist: Literal["exponential"] = Field(description="Distribution tag: `exponential`.")
    mean: PosFloat = Field(description="Mean of the exponential.", json_schema_extra={"unit": "days"})

    def mean_days(self) -> float:
        """Expected value in days."""
        return self.mean


class Uniform(Strict):
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


class Triangular(Strict):
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


class Lognormal(Strict):
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


class Empirical(Strict):
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
