"""Disruptions: scheduled and random outages that scale a node's or link's capacity.

A target (station, carrier or supplier line) keeps the list of its active disruptions; its
capacity factor is the smallest factor among them (1 when none), so overlapping outages do not
restore capacity early. A scheduled disruption is one process; a random one is a process with
Poisson arrivals (``rate_per_year``) and sampled durations from its own stream.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Generator
from typing import Any

import simpy

from sim.events import DISRUPTION_ENDED, DISRUPTION_STARTED
from sim.model.context import Context
from sim.rng import Sampler

__all__ = ["Target", "random_disruption", "scheduled_disruption"]

NAN = math.nan


class Target:
    """The active disruptions of one resource and how to apply their combined effect."""

    def __init__(self, apply: Callable[[float, float], None], node: int = -1, link: int = -1) -> None:
        self.apply = apply
        self.node = node
        self.link = link
        self.active: list[tuple[float, float]] = []

    def push(self, factor: float, loss: float) -> None:
        """A disruption starts."""
        self.active.append((factor, loss))
        self._apply()

    def pop(self, factor: float, loss: float) -> None:
        """A disruption ends."""
        self.active.remove((factor, loss))
        self._apply()

    def _apply(self) -> None:
        if self.active:
            self.apply(min(f for f, _ in self.active), max(p for _, p in self.active))
        else:
            self.apply(1.0, 0.0)


def _outage(ctx: Context, target: Target, factor: float, loss: float, days: float) -> Generator[simpy.Event, Any, None]:
    env = ctx.env
    log = ctx.log
    started = log.code(DISRUPTION_STARTED, node=target.node, link=target.link)
    ended = log.code(DISRUPTION_ENDED, node=target.node, link=target.link)
    ctx.put(started, -1, 0, -1, -1, factor)
    ctx.active_disruptions += 1
    target.push(factor, loss)
    yield env.timeout(days)
    ctx.put(ended, -1, 0, -1, -1, factor)
    ctx.active_disruptions -= 1
    target.pop(factor, loss)


def scheduled_disruption(
    ctx: Context, target: Target, start_day: float, days: float, factor: float, loss: float
) -> Generator[simpy.Event, Any, None]:
    """One known outage."""
    env = ctx.env
    if start_day > env.now:
        yield env.timeout(start_day - env.now)
    yield from _outage(ctx, target, factor, loss, days)


def random_disruption(
    ctx: Context, target: Target, gap: Sampler, duration: Sampler, factor: float, loss: float
) -> Generator[simpy.Event, Any, None]:
    """Outages with exponential gaps (Poisson arrivals) for ever."""
    env = ctx.env
    while True:
        yield env.timeout(gap())
        env.process(_outage(ctx, target, factor, loss, duration()))
