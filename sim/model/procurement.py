"""Procurement: the agency's pooled tenders and the award of contracts to supplier lines.

The agency pools requirements that reach it within ``pool_days`` into one tender per item;
tenders queue for its contracting staff (a ``simpy.Resource`` of ``staff`` officers — tenders
are few, so a process per tender is cheap), take ``tender_days``, and award contracts by the
agency's policy: ``cheapest`` (lowest unit price), ``fastest`` (earliest finish given each
line's backlog and current rate) or ``split`` (across every capable supplier in proportion to
its rate, in whole lots). Agency and bilateral purchases prefer foreign suppliers; domestic
requirements go to Ukrainian co-production. A contract is one (requirement, supplier) order.

Prices: a line's unit price for a contract is its product's price at the *basis quantity*,
after its ``price_breaks``: the pooled quantity of the tender for an agency requirement (every
requirement of the tender), the requirement's own quantity otherwise. An agency contract pays
the agency's ``fee_share`` on top (a ``fee_charged`` row). The award re-prices the requirement
at contract price plus fee and commits the difference, or shrinks to what its funders can pay;
the rest waits for money and is awarded when it comes, at the same basis, without a new tender
or lead time (``sim.model.money``; scenarios/LANGUAGE.md, "Money").
"""

from __future__ import annotations

import math
from collections.abc import Generator
from typing import TYPE_CHECKING, Any

import simpy

from scenarios.errors import RunError
from sim.events import CONTRACT_AWARDED, FEE_CHARGED, FUNDS_SHORT, TENDER_FINISHED, TENDER_STARTED
from sim.model.money import TOL_EUR, available, commit, eligible, money_changed, release_rest, unit_price

if TYPE_CHECKING:
    from sim.model.context import Context, ReqState
    from sim.model.production import Line
    from sim.rng import Sampler

__all__ = ["Agency", "agency_process", "award", "candidates"]


class Agency:
    """An NSPA-style agency: pending requirements, contracting staff, award policy."""

    def __init__(
        self,
        ctx: Context,
        node: int,
        staff: int,
        tender: Sampler,
        policy: str,
        pool_days: float,
        fee_share: float = 0.0,
    ) -> None:
        self.ctx = ctx
        self.fee_share = fee_share
        self.node = node
        self.staff = simpy.Resource(ctx.env, capacity=staff)
        self.staff_count = staff
        self.tender = tender
        self.policy = policy
        self.pool_days = pool_days
        self.pending: list[int] = []
        self.wake: simpy.Event | None = None
        self.busy_days = 0.0

    def submit(self, req: int) -> None:
        """A funded requirement joins the pool."""
        self.pending.append(req)
        w = self.wake
        if w is not None and not w.triggered:
            w.succeed()


def agency_process(ctx: Context, a: Agency) -> Generator[simpy.Event, Any, None]:
    """Pool pending requirements and start one tender per item."""
    env = ctx.env
    while True:
        while not a.pending:
            a.wake = env.event()
            yield a.wake
        if a.pool_days > 0:
            ctx.pending += 1
            yield env.timeout(a.pool_days)
            ctx.pending -= 1
        batch, a.pending = a.pending, []
        by_item: dict[int, list[int]] = {}
        for req in batch:
            by_item.setdefault(ctx.requirements[req].item, []).append(req)
        for reqs in by_item.values():
            env.process(_tender(ctx, a, reqs))


def _tender(ctx: Context, a: Agency, reqs: list[int]) -> Generator[simpy.Event, Any, None]:
    env = ctx.env
    item = ctx.requirements[reqs[0]].item
    with a.staff.request() as officer:
        yield officer
        days = a.tender()
        started = ctx.log.code(TENDER_STARTED, item=item, node=a.node)
        for req in reqs:
            ctx.put(started, -1, ctx.requirements[req].qty, -1, req, days)
        ctx.pending += 1
        a.busy_days += days
        yield env.timeout(days)
        ctx.pending -= 1
        finished = ctx.log.code(TENDER_FINISHED, item=item, node=a.node)
        for req in reqs:
            ctx.put(finished, -1, ctx.requirements[req].qty, -1, req, days)
    pooled = sum(ctx.requirements[req].qty for req in reqs)  # the price breaks' basis
    for req in reqs:
        award(
            ctx, ctx.requirements[req], a.policy, domestic=False, fee_share=a.fee_share, basis_qty=pooled, agency=a.node
        )


def candidates(ctx: Context, r: ReqState, domestic: bool) -> list[Line]:
    """Lines that may serve ``r``: the network's rule (``network.routing.suitable_suppliers``).

    Domestic requirements take domestic lines only; agency and bilateral ones take foreign
    lines, or any line when no foreign supplier makes the item; of those, the ones whose
    supplier reaches the unit.
    """
    makers = [ln for (_, item), ln in ctx.lines.items() if item == r.item]
    if domestic:
        pool = [ln for ln in makers if ln.domestic]
    else:
        pool = [ln for ln in makers if not ln.domestic] or makers
    return [ln for ln in pool if (ln.supplier, r.unit) in ctx.routes]


def award(
    ctx: Context,
    r: ReqState,
    policy: str,
    domestic: bool,
    fee_share: float = 0.0,
    basis_qty: int = 0,
    agency: int = -1,
) -> None:
    """Award what is left of ``r`` to supplier lines as far as its funders can pay; the rest waits.

    Args:
        ctx: The run context.
        r: The requirement (funded: its estimate is committed).
        policy: ``cheapest``, ``fastest`` or ``split``.
        domestic: Domestic lines only (else foreign ones first).
        fee_share: The agency's fee on the contract value (0 off the agency channel).
        basis_qty: The quantity the price breaks apply to (0: ``r.qty``).
        agency: The agency node charging the fee (-1: none).
    """
    lines = candidates(ctx, r, domestic)
    if not lines:
        raise RunError(f"requirement {r.id}: no supplier of {ctx.item_ids[r.item]} reaches {ctx.node_ids[r.unit]}")
    if _award_affordable(ctx, r, lines, policy, fee_share, basis_qty or r.qty, agency):
        return
    # short of money: log what the rest costs beyond the money held for it, and wait
    basis = basis_qty or r.qty
    rest = _cost(ctx, _allocate(ctx, r, lines, policy, r.qty - r.ordered, basis), basis, fee_share)
    held = sum((r.paid or {}).values()) - r.spent_eur
    short = ctx.log.code(FUNDS_SHORT, item=r.item, node=r.funders[0])
    ctx.put(short, -1, 0, -1, r.index, rest - held)
    ctx.env.process(_rest_of(ctx, r, lines, policy, fee_share, basis_qty or r.qty, agency))


def _rest_of(
    ctx: Context, r: ReqState, lines: list[Line], policy: str, fee_share: float, basis_qty: int, agency: int
) -> Generator[simpy.Event, Any, None]:
    """Wait for money (a tranche, a release) and award the rest of ``r`` as it comes."""
    while True:
        r.waiting_funds = True
        yield money_changed(ctx)
        r.waiting_funds = False
        if _award_affordable(ctx, r, lines, policy, fee_share, basis_qty, agency):
            return


def _allocate(
    ctx: Context, r: ReqState, lines: list[Line], policy: str, qty: int, basis: int
) -> list[tuple[Line, int]]:
    """The award policy's split of ``qty`` units of ``r`` across ``lines``."""
    if qty <= 0:
        return []
    lot = ctx.lot_size[r.item]
    if policy == "split" and len(lines) > 1:
        total_rate = sum(ln.rate_per_day for ln in lines)
        lots = math.ceil(qty / lot)
        shares = [math.floor(lots * ln.rate_per_day / total_rate) for ln in lines]
        order = sorted(range(len(lines)), key=lambda i: (-lines[i].rate_per_day, i))
        k = 0
        while sum(shares) < lots:
            shares[order[k % len(order)]] += 1
            k += 1
        allocation: list[tuple[Line, int]] = []
        left = qty
        for ln, n in zip(lines, shares, strict=True):
            q = min(left, n * lot)
            if q > 0:
                allocation.append((ln, q))
                left -= q
        return allocation
    if policy == "fastest":
        now = ctx.now

        def finish(ln: Line) -> float:
            rate = ln.rate(now)
            return math.inf if rate <= 0 else max(0, ln.backlog + qty - ln.stock) / rate

        return [(min(lines, key=finish), qty)]
    return [(min(lines, key=lambda ln: unit_price(ctx, ln, basis)), qty)]


def _cost(ctx: Context, allocation: list[tuple[Line, int]], basis: int, fee_share: float) -> float:
    """Contract value plus fee of ``allocation`` (EUR)."""
    return sum(q * unit_price(ctx, ln, basis) for ln, q in allocation) * (1.0 + fee_share)


def _award_affordable(
    ctx: Context, r: ReqState, lines: list[Line], policy: str, fee_share: float, basis: int, agency: int
) -> bool:
    """Award as much of the rest of ``r`` as the money held for it and its funders can pay.

    The whole rest if affordable, else the largest quantity found by bisection whose contract
    plus fee fits (nothing when not one unit does). Commits the extra over the money held;
    once all of ``r`` is under contract, releases what is left. True when nothing is left.
    """
    left = r.qty - r.ordered
    allocation = _allocate(ctx, r, lines, policy, left, basis)
    cost = _cost(ctx, allocation, basis, fee_share)
    paid = r.paid or {}
    held = sum(paid.values()) - r.spent_eur
    donors = eligible(ctx, r)
    if cost > held + TOL_EUR:
        can = held + available(ctx, donors)
        if cost > can + TOL_EUR:
            lo, hi = 0, left  # cost(lo) fits, cost(hi) does not
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if _cost(ctx, _allocate(ctx, r, lines, policy, mid, basis), basis, fee_share) <= can + TOL_EUR:
                    lo = mid
                else:
                    hi = mid
            allocation = _allocate(ctx, r, lines, policy, lo, basis)
            cost = _cost(ctx, allocation, basis, fee_share)
        if cost > held:
            commit(ctx, r, donors, cost - held)
    for ln, q in allocation:
        value = q * unit_price(ctx, ln, basis)
        code = ctx.log.code(CONTRACT_AWARDED, item=r.item, node=ln.supplier)
        ctx.put(code, -1, q, -1, r.index, value)
        if agency >= 0:
            ctx.put(ctx.log.code(FEE_CHARGED, item=r.item, node=agency), -1, 0, -1, r.index, value * fee_share)
        ctx.count("units_ordered", q)
        r.ordered += q
        r.spent_eur += value * (1.0 + fee_share)
        ln.add_order(r.index, q, r.priority)
    if r.ordered < r.qty:
        return False
    release_rest(ctx, r)
    return True
