"""Money of a requirement: commitments from its funders, releases, and contract prices.

A requirement's money moves in three steps (scenarios/LANGUAGE.md, "Money: commitments,
contracts and fees"):

1. **Estimate.** When it opens, ``qty x catalogue unit value`` (plus the agency's fee on the
   agency channel) is committed from its eligible funders (those whose earmarks admit the
   item), in the order listed, all or nothing (``try_commit``).
2. **Re-price at award.** The contract is ``qty x unit price`` (after price breaks) plus the
   agency's fee on it. If that costs more than the money still held for the requirement, the
   difference is committed from the funders' remaining budgets (``commit``); if they cannot
   pay it all, the award shrinks to what they can pay and the rest waits for tranches
   (``sim.model.procurement.award``).
3. **Release.** Once the whole quantity is under contract, what is left of the commitment is
   given back to the funders, last committed first (``release_rest``).

A donor only ever commits what it has left, so its money spent (committed less released)
never exceeds its budget plus the tranches it received so far. Every step is one row of the
log (``funds_committed`` / ``funds_released``); ``ReqState.paid`` keeps the net commitment per
donor, ``ReqState.spent_eur`` the contract value plus fees so far.

An unlimited donor (Ukraine's state budget declared ``budget_eur: unlimited``) always pays;
its ``budget_eur`` in the context goes negative by what it spent.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import simpy

from sim.events import FUNDS_COMMITTED, FUNDS_RELEASED

if TYPE_CHECKING:
    from sim.model.context import Context, ReqState
    from sim.model.production import Line

__all__ = [
    "TOL_EUR",
    "available",
    "commit",
    "eligible",
    "money_changed",
    "payer",
    "release_rest",
    "try_commit",
    "unit_price",
]

TOL_EUR = 1e-6
"""Float tolerance on money comparisons (EUR)."""


def eligible(ctx: Context, r: ReqState) -> list[int]:
    """``r``'s funders whose earmarks admit its item, in the order listed."""
    item = r.item
    marks = ctx.earmarks
    return [d for d in r.funders if (m := marks.get(d)) is None or item in m]


def available(ctx: Context, donors: list[int]) -> float:
    """What ``donors`` can still commit together (``inf`` with an unlimited one)."""
    total = 0.0
    for d in donors:
        if d in ctx.unlimited:
            return math.inf
        total += max(0.0, ctx.budget_eur[d])
    return total


def commit(ctx: Context, r: ReqState, donors: list[int], amount_eur: float) -> float:
    """Commit up to ``amount_eur`` for ``r`` from ``donors`` in order; return what was committed.

    Each donor gives at most what it has left (all of it from an unlimited donor), so no donor
    ever commits more than its budget plus tranches received.
    """
    left = amount_eur
    paid = r.paid
    if paid is None:
        paid = r.paid = {}
    for d in donors:
        if left <= 0:
            break
        take = left if d in ctx.unlimited else min(left, ctx.budget_eur[d])
        if take <= 0:
            continue
        ctx.budget_eur[d] -= take
        left -= take
        paid[d] = paid.get(d, 0.0) + take
        ctx.put(ctx.log.code(FUNDS_COMMITTED, item=r.item, node=d), -1, 0, -1, r.index, take)
        ctx.count("eur_committed", take)
    return amount_eur - left


def try_commit(ctx: Context, r: ReqState, cost_eur: float) -> bool:
    """Commit ``cost_eur`` (the estimate) from ``r``'s eligible funders if they can cover it together."""
    donors = eligible(ctx, r)
    if not donors or available(ctx, donors) + TOL_EUR < cost_eur:
        return False
    commit(ctx, r, donors, cost_eur)
    if r.paid is None:  # a zero estimate: funded, nothing committed
        r.paid = {}
    return True


def release_rest(ctx: Context, r: ReqState) -> None:
    """Give back what ``r`` holds beyond its contracts and fees, last committed donor first."""
    paid = r.paid
    if not paid:
        return
    rest = sum(paid.values()) - r.spent_eur
    if rest <= TOL_EUR:
        return
    for d in reversed(list(paid)):
        give = min(rest, paid[d])
        if give <= 0:
            continue
        paid[d] -= give
        ctx.budget_eur[d] += give
        rest -= give
        ctx.put(ctx.log.code(FUNDS_RELEASED, item=r.item, node=d), -1, 0, -1, r.index, give)
        ctx.count("eur_released", give)
        if rest <= 0:
            break
    w = ctx.funds_changed  # the money may let a waiting requirement go on
    if w is not None and not w.triggered:
        w.succeed()


def payer(r: ReqState) -> int:
    """The donor who pays ``r``: the largest commitment, the first listed on a tie."""
    paid = r.paid or {}
    best, most = r.funders[0], -1.0
    for d in r.funders:
        v = paid.get(d, 0.0)
        if v > most:
            best, most = d, v
    return best


def unit_price(ctx: Context, ln: Line, qty: int) -> float:
    """``ln``'s unit price for an order of ``qty`` units: the last price break reached, else its price."""
    price = ln.unit_price_eur
    for min_qty, p in ctx.price_breaks.get((ln.supplier, ln.item), ()):
        if qty >= min_qty:
            price = p
        else:
            break
    return price


def money_changed(ctx: Context) -> simpy.Event:
    """The event that fires when money next arrives or is released (shared by every waiter)."""
    w = ctx.funds_changed
    if w is None or w.triggered:
        w = ctx.funds_changed = ctx.env.event()
    return w
