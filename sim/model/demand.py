"""Requirements and funding: a requirement opens, waits for its funders' money, then orders.

Each requirement is one short process (requirements are few). Funding is all-or-nothing: the
estimated cost (quantity x catalogue unit value, plus the agency's fee for the agency channel)
is committed from the funders in the order listed, among those whose earmarks admit the item,
as soon as their remaining budgets cover it together. While they do not, the requirement waits
(``funds_short``) and retries whenever a donor receives a tranche. Domestic requirements are
paid by Ukraine and skip funding. Then the requirement goes to its agency's tender pool, or,
bilaterally, to the cheapest supplier after the first funder's bilateral lead time, or,
domestically, straight to the cheapest domestic supplier.
"""

from __future__ import annotations

import math
from collections.abc import Generator
from typing import TYPE_CHECKING, Any

import simpy

from sim.events import BUDGET_ADDED, FUNDS_COMMITTED, FUNDS_SHORT, REQUIREMENT_OPENED
from sim.model.procurement import award

if TYPE_CHECKING:
    from sim.model.context import Context, ReqState
    from sim.model.procurement import Agency
    from sim.rng import Sampler

__all__ = ["donor_budget", "requirement_process", "try_commit"]

NAN = math.nan


def try_commit(ctx: Context, r: ReqState, cost_eur: float) -> bool:
    """Commit ``cost_eur`` from ``r``'s eligible funders if they can cover it together."""
    eligible = [d for d in r.funders if (ctx.earmarks[d] is None or r.item in ctx.earmarks[d])]  # type: ignore[operator]
    if not eligible or sum(ctx.budget_eur[d] for d in eligible) + 1e-6 < cost_eur:
        return False
    left = cost_eur
    for d in eligible:
        take = min(left, ctx.budget_eur[d])
        if take <= 0:
            continue
        ctx.budget_eur[d] -= take
        left -= take
        code = ctx.log.code(FUNDS_COMMITTED, item=r.item, node=d)
        ctx.put(code, -1, 0, -1, r.index, take)
        ctx.count("eur_committed", take)
    return True


def donor_budget(
    ctx: Context, donor: int, budget_eur: float, tranches: list[tuple[float, float]]
) -> Generator[simpy.Event, Any, None]:
    """Open the donor's budget, then add each tranche on its day and wake waiting requirements."""
    env = ctx.env
    code = ctx.log.code(BUDGET_ADDED, node=donor)
    ctx.budget_eur[donor] = budget_eur
    ctx.put(code, -1, 0, -1, -1, budget_eur)
    for day, amount in sorted(tranches):
        if day > env.now:
            yield env.timeout(day - env.now)
        ctx.budget_eur[donor] += amount
        ctx.future_tranches -= 1
        ctx.put(code, -1, 0, -1, -1, amount)
        w = ctx.funds_changed
        if w is not None and not w.triggered:
            w.succeed()


def requirement_process(
    ctx: Context,
    r: ReqState,
    open_day: float,
    cost_eur: float,
    agency: Agency | None,
    bilateral_lead: Sampler | None,
) -> Generator[simpy.Event, Any, None]:
    """The life of one requirement up to its contract(s)."""
    env = ctx.env
    if open_day > env.now:
        yield env.timeout(open_day - env.now)
    code = ctx.log.code(REQUIREMENT_OPENED, item=r.item, node=r.unit)
    ctx.put(code, -1, r.qty, -1, r.index, r.need_by_day)
    r.opened = True
    ctx.count("requirements_opened")
    ctx.count("units_required", r.qty)
    if r.channel != "domestic":
        shorted = False
        while not try_commit(ctx, r, cost_eur):
            if not shorted:
                short = ctx.log.code(FUNDS_SHORT, item=r.item, node=r.funders[0])
                ctx.put(short, -1, 0, -1, r.index, cost_eur)
                shorted = True
            r.waiting_funds = True
            w = ctx.funds_changed
            if w is None or w.triggered:
                w = ctx.funds_changed = env.event()
            yield w
        r.waiting_funds = False
    r.funded = True
    if r.channel == "agency":
        assert agency is not None
        agency.submit(r.index)
    elif r.channel == "bilateral":
        assert bilateral_lead is not None
        ctx.pending += 1
        yield env.timeout(bilateral_lead())
        ctx.pending -= 1
        award(ctx, r, "cheapest", domestic=False)
    else:
        award(ctx, r, "cheapest", domestic=True)
