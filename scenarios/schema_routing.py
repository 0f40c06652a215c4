"""The scenario language of routing: how lots choose their way (issue 15).

Imported by ``scenarios.schema`` as the scenario-level field ``routing``; a strategy changes it
with dotted-path overrides like any other field (``routing.policy: on_departure``)::

    routing: {policy: on_departure, k_paths: 3, reroute_in_queue: true}

- ``static`` (the default): each (supplier, unit) pair has one route, the shortest by
  ``policy.routing_weight``, fixed when the run is built; a closure makes lots wait.
- ``on_departure``: a lot leaving a node with a choice (a supplier, hub, border or depot with two
  or more enabled links out) takes the next link of the alternative route with the smallest
  expected time to its unit. The alternatives are the ``k_paths`` shortest simple paths by
  ``policy.routing_weight``, computed once when the run is built.
- ``reroute_in_queue``: under ``on_departure``, when a node or link closes, lots waiting at a
  node for a vehicle of a link out of it whose planned route crosses the closed resource
  decide again.

What routing knows (``sim.model.routing``): scheduled disruptions from the start of the run (a
known closure's start and end), random ones only once they have started (then expected to last
their mean duration). The engine's own module docstring gives the expected-time formula.

This module defines its own small base type (the same as ``scenarios.schema``'s), because
``scenarios.schema`` imports it.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StrictBool, StrictInt, model_validator
from pydantic_core import PydanticCustomError

from scenarios.schema_base import Strict

__all__ = ["ROUTING_POLICIES", "Routing"]

ROUTING_POLICIES: tuple[str, ...] = ("static", "on_departure")
"""The routing policies, in the order the docs list them."""


class Routing(Strict):
    """How lots choose their route: fixed when the run is built, or at each departure.

    Routing knows scheduled disruptions in advance and random ones once they start (then
    expected to last their mean duration); see scenarios/LANGUAGE.md, "Routing".
    """

    policy: Literal["static", "on_departure"] = Field(
        "static",
        description=(
            "`static`: one shortest route per (supplier, unit), fixed when the run is built. "
            "`on_departure`: a lot leaving a node with two or more links out takes the next link of the "
            "alternative route (of `k_paths`) with the smallest expected time to its unit: transit, current "
            "queues and waits at the nodes and links ahead, and known closures (scheduled disruptions in "
            "advance, random ones once started, expected to last their mean duration)."
        ),
    )
    k_paths: Annotated[StrictInt, Field(ge=1, le=16)] = Field(
        3,
        description="Alternative routes per (node, unit): the k shortest simple paths by `policy.routing_weight`.",
        json_schema_extra={"unit": "routes"},
    )
    reroute_in_queue: StrictBool = Field(
        False,
        description=(
            "Under `on_departure`: when a node or link closes, lots waiting at a node for a vehicle of a link "
            "whose planned route crosses it decide again."
        ),
    )

    @model_validator(mode="after")
    def _in_queue_needs_departure(self) -> Routing:
        if self.reroute_in_queue and self.policy != "on_departure":
            raise PydanticCustomError(
                "routing", "reroute_in_queue needs policy: on_departure (a static route never changes)"
            )
        return self
