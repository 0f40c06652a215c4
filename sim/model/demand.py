"""Requirements and funding: a requirement opens, waits for its funders' money, then orders.

Each requirement is one short process (requirements are few). Funding is all-or-nothing: the
estimated cost (quantity x catalogue unit value, plus the agency's fee for the agency channel)
is committed from the funders in the order listed, among those whose earmarks admit the item,
as soon as their remaining budgets cover it together. While they do not, the requirement waits
(``funds_short``) and retries whenever a donor receives a tranche or money is released. Every
channel is paid: a domestic requirement by its funders (donors paying Ukrainian makers), or,
naming none, by Ukraine's state budget (``run.build_context`` makes it the funder). Then the
requirement goes to its agency's tender pool, or, bilaterally, to the cheapest supplier after
the bilateral lead time of the donor who pays (``money.payer``: the largest commitment), or,
domestically, straight to the cheapest domestic supplier. The award re-prices it at contract
price plus fee (``sim.model.money``, ``sim.model.procurement.award``).

A requirement with a ``stream`` is not opened itself: one long-lived process
(``requirement_stream``) opens a copy of it at each arrival, drawing the gaps lazily from the
``demand`` stream, and orders each copy at once when nothing needs waiting for (``open_now``),
so 10^5 arrivals cost a small record each, not a process or a random stream each.
"""

from __future__ import annotations

import math
from collections.abc import Generator, Mapping
from typing import TYPE_CHECKING, Any

import simpy
from simpy.events import NORMAL

from sim.events import BUDGET_ADDED, CONTRACT_AWARDED, FUNDS_SHORT, REQUIREMENT_OPENED
from sim.model.context import ReqState
from sim.model.money import commit, eligible, money_changed, payer, release_rest, try_commit, unit_price
from sim.model.procurement import award, candidates

if TYPE_CHECKING:
    from sim.model.context import Context
    from sim.model.procurement import Agency
    from sim.model.production import Line
    from sim.rng import Sampler

__all__ = ["donor_budget", "open_now", "requirement_process", "requirement_stream", "try_commit"]

NAN = math.nan


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


Leads = Mapping[int, "Sampler"]
"""A bilateral requirement's lead-time sampler per funding donor (node index)."""


def requirement_process(
    ctx: Context,
    r: ReqState,
    open_day: float,
    cost_eur: float,
    agency: Agency | None,
    bilateral_lead: Leads | None,
) -> Generator[simpy.Event, Any, None]:
    """The life of one requirement up to its contract(s)."""
    env = ctx.env
    if open_day > env.now:
        yield env.timeout(open_day - env.now)
    _open(ctx, r)
    yield from _fund_and_order(ctx, r, cost_eur, agency, bilateral_lead)


def _open(ctx: Context, r: ReqState) -> None:
    """Log ``requirement_opened`` (quantity, need-by day) now."""
    code = ctx.log.code(REQUIREMENT_OPENED, item=r.item, node=r.unit)
    ctx.put(code, -1, r.qty, -1, r.index, r.need_by_day)
    r.opened = True
    ctx.count("requirements_opened")
    ctx.count("units_required", r.qty)


def _order(ctx: Context, r: ReqState, agency: Agency | None) -> None:
    """A funded agency requirement joins its pool; a domestic one is awarded at once."""
    if r.channel == "agency":
        assert agency is not None
        agency.submit(r.index)
    else:
        award(ctx, r, "cheapest", domestic=True)


def _fund_and_order(
    ctx: Context, r: ReqState, cost_eur: float, agency: Agency | None, bilateral_lead: Leads | None
) -> Generator[simpy.Event, Any, None]:
    """Wait for the funds (unless already committed), then order by the requirement's channel."""
    env = ctx.env
    if not r.funded:
        shorted = False
        while not try_commit(ctx, r, cost_eur):
            if not shorted:
                short = ctx.log.code(FUNDS_SHORT, item=r.item, node=r.funders[0])
                ctx.put(short, -1, 0, -1, r.index, cost_eur)
                shorted = True
            r.waiting_funds = True
            yield money_changed(ctx)
        r.waiting_funds = False
    r.funded = True
    if r.channel == "bilateral":
        assert bilateral_lead is not None
        ctx.pending += 1
        yield env.timeout(bilateral_lead[payer(r)]())
        ctx.pending -= 1
        award(ctx, r, "cheapest", domestic=False)
    else:
        _order(ctx, r, agency)


def open_now(ctx: Context, r: ReqState, cost_eur: float, agency: Agency | None, bilateral_lead: Leads | None) -> None:
    """Open ``r`` now and order it at once when nothing needs waiting for (no process then).

    A funded domestic requirement is awarded at once, a funded agency one joins its agency's
    pool; a requirement short of funds, or a bilateral one (its lead time), continues in a process.
    """
    _open(ctx, r)
    if r.channel != "bilateral" and try_commit(ctx, r, cost_eur):
        r.funded = True
        _order(ctx, r, agency)
        return
    ctx.env.process(_fund_and_order(ctx, r, cost_eur, agency, bilateral_lead))


def requirement_stream(
    ctx: Context,
    spec: ReqState,
    first_day: float,
    end_day: float,
    gap: Sampler,
    need_within_days: float | None,
    cost_eur: float,
    agency: Agency | None,
    bilateral_lead: Leads | None,
) -> Generator[simpy.Event, Any, None]:
    """Open a copy of ``spec`` at each arrival: gaps from ``gap``, from ``first_day`` until ``end_day``.

    The first arrival comes one gap after ``first_day`` (a renewal process started then);
    arrivals at or after ``end_day`` are not made. Each arrival is a requirement of its own
    (``<id>#<n>``, the next index of ``ctx.requirements``) whose need-by date is the date
    ``need_within_days`` after it opens (the day number ``floor(opened + need_within_days)``, a
    whole day like any date), capped by ``spec``'s need-by date. ``spec`` itself
    stays unopened and is marked opened and closed when the stream ends. The stream waits
    with one re-armed ``Timeout``; gaps are drawn lazily, in blocks, from its ``demand`` sampler.
    """
    env = ctx.env
    reqs = ctx.requirements
    log = ctx.log
    put = log.put
    counters = ctx.counters
    ctx.pending += 1
    # a domestic arrival paid by an unlimited budget (the state budget) is awarded at once to the
    # cheapest domestic line, which does not change: the rows ``open_now`` would log, logged
    # inline (the codes, the line and its price looked up once)
    direct: Line | None = None
    opened_code = awarded_code = 0
    price = 0.0
    payers = eligible(ctx, spec)
    if spec.channel == "domestic" and payers and payers[0] in ctx.unlimited:
        lines = candidates(ctx, spec, domestic=True)
        if lines:
            direct = min(lines, key=lambda ln: unit_price(ctx, ln, spec.qty))
            price = unit_price(ctx, direct, spec.qty)
            opened_code = log.code(REQUIREMENT_OPENED, item=spec.item, node=spec.unit)
            awarded_code = log.code(CONTRACT_AWARDED, item=spec.item, node=direct.supplier)
    state = payers[:1]
    qty, prio, unit, item, channel, funders, name = (
        spec.qty,
        spec.priority,
        spec.unit,
        spec.item,
        spec.channel,
        spec.funders,
        spec.id,
    )
    t = first_day + gap()
    n = 0
    tick: simpy.Timeout | None = None
    cap = spec.need_by_day
    while t < end_day:
        delay = t - env.now
        if tick is None:
            tick = simpy.Timeout(env, delay)
        else:
            tick.callbacks = []
            env.schedule(tick, NORMAL, delay)
        yield tick
        n += 1
        now = env.now
        need_by = cap if need_within_days is None else min(cap, float(math.floor(now + need_within_days)))
        index = len(reqs)
        r = ReqState(index, f"{name}#{n}", unit, item, qty, prio, channel, need_by, funders=funders)
        reqs.append(r)
        if direct is None:
            open_now(ctx, r, cost_eur, agency, bilateral_lead)
        else:
            put(now, opened_code, -1, qty, -1, index, need_by)
            r.opened = r.funded = True
            counters["requirements_opened"] = counters.get("requirements_opened", 0) + 1
            counters["units_required"] = counters.get("units_required", 0) + qty
            commit(ctx, r, state, cost_eur)  # the estimate
            value = qty * price
            if value > cost_eur:  # re-priced at the contract: the difference
                commit(ctx, r, state, value - cost_eur)
            put(now, awarded_code, -1, qty, -1, index, value)
            counters["units_ordered"] = counters.get("units_ordered", 0) + qty
            r.ordered = qty
            r.spent_eur = value
            release_rest(ctx, r)
            direct.add_order(index, qty, prio)
        t += gap()
    ctx.pending -= 1
    spec.opened = spec.closed = True
