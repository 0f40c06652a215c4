"""Units: deliveries fill requirements; optional daily consumption draws stock down.

A delivered lot adds to the unit's stock of its item and to its requirement; a lost lot only to
the requirement's lost quantity. A requirement is closed (``requirement_filled``) once every
ordered unit is delivered or lost; ``value`` is its lateness in days against the end of the need-by date (``due_day``).
A consumption process per (unit, item) ticks daily: it consumes the day's demand from stock
and logs any unmet part as ``stockout``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any

import simpy

from scenarios.schema import due_day
from sim.events import CONSUMED, REQUIREMENT_FILLED, STOCKOUT

if TYPE_CHECKING:
    from sim.model.context import Context, Lot, ReqState

__all__ = ["close_if_done", "consumption", "deliverer", "lot_lost"]

NAN = math.nan


def close_if_done(ctx: Context, r: ReqState) -> None:
    """Log ``requirement_filled`` once every ordered unit of ``r`` is delivered or lost.

    A closed requirement opened while the run goes (a stream's arrival, a stock policy's order)
    is then freed from ``ctx.requirements``: nothing reads it again (``sim.model.req_table``).
    The scenario's own requirements stay (few, and ``sim.run.end_state`` reports them).
    """
    if not r.closed and r.funded and r.ordered == r.qty and r.delivered + r.lost == r.qty:
        r.closed = True
        code = ctx.log.code(REQUIREMENT_FILLED, item=r.item, node=r.unit)
        ctx.put(code, -1, r.delivered, -1, r.index, ctx.env.now - due_day(r.need_by_day))
        ctx.count("requirements_closed")
        if r.index >= len(ctx.scenario.requirements):
            ctx.requirements.free(r.index)


def deliverer(ctx: Context, unit: int) -> Callable[[Lot], None]:
    """The callback that hands a lot to ``unit`` (the carrier logged ``arrived`` and ``delivered``)."""
    stock = ctx.stock
    reqs = ctx.requirements.live

    def deliver(lot: Lot) -> None:
        qty = lot.qty
        key = (unit, lot.item)
        stock[key] = stock.get(key, 0) + qty
        r = reqs[lot.req]
        r.delivered += qty
        ctx.lots_done += 1
        ctx.units_delivered += qty
        if r.delivered + r.lost == r.qty:
            close_if_done(ctx, r)

    return deliver


def lot_lost(ctx: Context, lot: Lot) -> None:
    """Account a lot lost in transit (the carrier logged ``lost``)."""
    r = ctx.requirements[lot.req]
    r.lost += lot.qty
    ctx.lots_done += 1
    ctx.units_lost += lot.qty
    close_if_done(ctx, r)


def consumption(ctx: Context, unit: int, item: int, per_day: float) -> Generator[simpy.Event, Any, None]:
    """Consume ``per_day`` units of ``item`` at ``unit`` every day; log stockouts."""
    env = ctx.env
    c_consumed = ctx.log.code(CONSUMED, item=item, node=unit)
    c_stockout = ctx.log.code(STOCKOUT, item=item, node=unit)
    owed = 0.0
    key = (unit, item)
    while True:
        yield env.timeout(1.0)
        owed += per_day
        demand = math.floor(owed + 1e-9)
        if demand <= 0:
            continue
        owed -= demand
        have = ctx.stock.get(key, 0)
        used = min(have, demand)
        if used:
            ctx.stock[key] = have - used
            ctx.put(c_consumed, -1, used, -1, -1, NAN)
        if demand > used:
            ctx.put(c_stockout, -1, demand - used, -1, -1, NAN)
