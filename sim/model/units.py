"""Units: deliveries fill requirements; optional daily consumption draws stock down.

A delivered lot adds to the unit's stock of its item and to its requirement; a lost lot only to
the requirement's lost quantity. A requirement is closed (``requirement_filled``) once every
ordered unit is delivered or lost; ``value`` is its lateness in days against need-by.
A consumption process per (unit, item) ticks daily: it consumes the day's demand from stock
and logs any unmet part as ``stockout``.
"""

from __future__ import annotations

import math
from collections.abc import Generator
from typing import TYPE_CHECKING, Any

import simpy

from sim.events import CONSUMED, DELIVERED, REQUIREMENT_FILLED, STOCKOUT

if TYPE_CHECKING:
    from sim.model.context import Context

__all__ = ["consumption", "deliverer", "lot_lost"]

NAN = math.nan


def _close_if_done(ctx: Context, req: int) -> None:
    r = ctx.requirements[req]
    if not r.closed and r.funded and r.ordered == r.qty and r.delivered + r.lost == r.qty:
        r.closed = True
        code = ctx.log.code(REQUIREMENT_FILLED, item=r.item, node=r.unit)
        ctx.rec((ctx.env.now, code, -1, r.delivered, -1, req, ctx.env.now - r.need_by_day))
        ctx.count("requirements_closed")


def deliverer(ctx: Context, unit: int) -> Any:
    """The callback that hands a lot to ``unit``."""
    code = ctx.log.code(DELIVERED, node=unit)

    def deliver(lot: int) -> None:
        qty = ctx.lot_qty[lot]
        req = ctx.lot_req[lot]
        item = ctx.log.lot_item[lot]
        ctx.rec((ctx.env.now, code, lot, qty, -1, req, NAN))
        key = (unit, item)
        ctx.stock[key] = ctx.stock.get(key, 0) + qty
        ctx.requirements[req].delivered += qty
        ctx.count("lots_done")
        ctx.count("units_delivered", qty)
        _close_if_done(ctx, req)

    return deliver


def lot_lost(ctx: Context, lot: int) -> None:
    """Account a lot lost in transit (the carrier logged ``lost``)."""
    req = ctx.lot_req[lot]
    ctx.requirements[req].lost += ctx.lot_qty[lot]
    ctx.count("lots_done")
    ctx.count("units_lost", ctx.lot_qty[lot])
    _close_if_done(ctx, req)


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
            ctx.rec((env.now, c_consumed, -1, used, -1, -1, NAN))
        if demand > used:
            ctx.rec((env.now, c_stockout, -1, demand - used, -1, -1, NAN))
