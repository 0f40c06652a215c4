"""Inventory at units and depots: stock on hand, on order and backordered, and replenishment policies.

One ``StockPoint`` per (node, item) with random consumption or a stock policy. Its stock on
hand is ``ctx.stock[(node, item)]`` (the same number deliveries add to); on order is what its
open orders still wait for (``qty - delivered - lost`` of each); backorders are units of
demand waiting for stock. The inventory position is ``on hand + on order - backorders``.

Within an instant, receipts come first, then demand, then periodic reviews: demand and review
ticks are scheduled with the late priorities ``DEMAND`` and ``REVIEW`` (SimPy orders events of
one instant by priority, then by scheduling), so a lot arriving at day t is on hand for the
demand of day t whatever was scheduled first.

Policies (``scenarios.schema_inventory``; s, R and S are raised by the safety stock):

- ``s_S``: after each demand, if the position is at or below s, order up to S;
- ``R_Q``: after each demand, if at or below R, order the smallest multiple of Q that lifts it
  above R (one order);
- ``T_S``: every T days, order up to S (if below);
- ``T_Q``: every T days, if at or below R, order the smallest multiple of Q that lifts it above R.

An order is a requirement of its own (``<node>/<item>#<n>``, the next index of
``ctx.requirements``), logged ``order_placed`` (value = the position when it decided) and then
``requirement_opened``. A unit sourcing from a depot claims the depot's stock: what the depot
has goes at once (``stock_issued``, a new lot routed to the unit); the rest is a depot
stockout (value 1: backordered) and waits, served by the depot's allocation rule
(``sim.model.allocation``) as stock arrives, each part logged ``backorder_filled`` (node =
depot, lot = the new lot, ref = the unit's order) — so at a depot, as at a unit, on hand =
opening + received - issued - backorders filled, and backorders = backordered stockouts -
backorders filled. Any other order goes through its channel (``sim.model.demand.open_now``):
funding, tender, production and transport apply unchanged. Lots bought for a depot end their
route there (``DepotIntake``): after the depot's handling they enter its stock
(``stock_received``). At a unit, ``delivered`` is the receipt; backorders are then filled
first (``backorder_filled``).

Demand at a unit: the period's draw (``sim.model.consumption``) is met from stock
(``consumed``); the rest is a ``stockout``, with value 1 if backordered, NaN if lost.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any

import simpy
from simpy.events import EventPriority

from scenarios.errors import NetworkError
from scenarios.schema import Depot, Donor, Supplier, Unit
from scenarios.schema_inventory import Consumption, PeriodicQ, PeriodicS, ReorderQ, ReorderS
from sim.events import (
    BACKORDER_FILLED,
    CONSUMED,
    ORDER_PLACED,
    REQUIREMENT_OPENED,
    SERVICE_FINISHED,
    STOCK_ISSUED,
    STOCK_RECEIVED,
    STOCKOUT,
)
from sim.model.allocation import line_picker, split
from sim.model.consumption import Draw, demand_draw
from sim.model.context import Lot, ReqState
from sim.model.demand import open_now
from sim.model.units import close_if_done

if TYPE_CHECKING:
    from network.routing import Router
    from scenarios.schema import Scenario
    from sim.model.context import Context
    from sim.model.handling import Station
    from sim.model.procurement import Agency
    from sim.model.transport import Carrier
    from sim.rng import Sampler

__all__ = ["DEMAND", "REVIEW", "DepotIntake", "StockPoint", "start_inventory", "uses_inventory"]

NAN = math.nan
DEMAND = EventPriority(2)
"""SimPy priority of demand ticks: after every ordinary (NORMAL = 1) event of the instant."""
REVIEW = EventPriority(3)
"""SimPy priority of periodic reviews and of the opening at day 0: after demand."""

_NONE, _SS, _RQ, _TS, _TQ = range(5)


class StockPoint:
    """Stock of one item at one node, with its policy (if any) and its waiting claims (a depot)."""

    def __init__(self, ctx: Context, node: int, item: int, policy: Any, is_depot: bool) -> None:
        self.ctx = ctx
        self.node = node
        self.item = item
        self.key = (node, item)
        self.is_depot = is_depot
        self.kind = _NONE
        self.low = self.high = self.q = 0
        self.lost_sales = False
        if policy is not None:
            ss = policy.safety_stock
            self.lost_sales = policy.shortage == "lost_sales"
            if isinstance(policy, ReorderS):
                self.kind, self.low, self.high = _SS, policy.reorder_point + ss, policy.order_up_to + ss
            elif isinstance(policy, ReorderQ):
                self.kind, self.low, self.q = _RQ, policy.reorder_point + ss, policy.order_qty
            elif isinstance(policy, PeriodicS):
                self.kind, self.high = _TS, policy.order_up_to + ss
            elif isinstance(policy, PeriodicQ):
                self.kind, self.low, self.q = _TQ, policy.reorder_point + ss, policy.order_qty
        self.policy = policy
        self.backorders = 0
        self.orders: list[ReqState] = []
        self.n_orders = 0
        self.upstream: StockPoint | None = None
        # channel orders
        self.channel = "domestic"
        self.funders: tuple[int, ...] = ()
        self.agency: Agency | None = None
        self.lead: dict[int, Sampler] | None = None
        self.unit_cost_eur = 0.0
        self.need_within: float | None = None
        self.last_day = 0.0
        self.priority = ctx.item_priority[item]
        # a depot's claims: [requirement, outstanding, priority, weight]
        self.claims: list[list[Any]] = []
        self.rule = "fifo"
        self.by = "backorders"
        self.station: Station | None = None
        self.routes: dict[int, tuple[Carrier, ...]] = {}
        self.rate_per_day = 0.0
        """Mean consumption rate of the item at this node (fair share by consumption)."""
        log = ctx.log
        self.c_consumed = log.code(CONSUMED, item=item, node=node)
        self.c_stockout = log.code(STOCKOUT, item=item, node=node)
        self.c_order = log.code(ORDER_PLACED, item=item, node=node)
        self.c_received = log.code(STOCK_RECEIVED, item=item, node=node)
        self.c_issued = log.code(STOCK_ISSUED, item=item, node=node)
        self.c_filled = log.code(BACKORDER_FILLED, item=item, node=node)

    # ------------------------------------------------------------------ state

    def on_hand(self) -> int:
        """Units on hand."""
        return self.ctx.stock.get(self.key, 0)

    def on_order(self) -> int:
        """Units ordered and neither received nor lost (closed orders are dropped)."""
        open_ = [r for r in self.orders if not r.closed]
        self.orders = open_
        return sum(r.qty - r.delivered - r.lost for r in open_)

    def position(self) -> int:
        """Inventory position: on hand + on order - backorders."""
        return self.on_hand() + self.on_order() - self.backorders

    # ------------------------------------------------------------------ policy

    def review(self) -> None:
        """Continuous review after a demand (or at the opening): order if the policy says so."""
        kind = self.kind
        if kind == _SS:
            ip = self.position()
            if ip <= self.low:
                self.place(self.high - ip, ip)
        elif kind == _RQ:
            self._multiple_of_q()

    def periodic(self) -> None:
        """A periodic review."""
        if self.kind == _TS:
            ip = self.position()
            if ip < self.high:
                self.place(self.high - ip, ip)
        elif self.kind == _TQ:
            self._multiple_of_q()

    def _multiple_of_q(self) -> None:
        ip = self.position()
        if ip <= self.low:
            n = (self.low - ip) // self.q + 1
            self.place(n * self.q, ip)

    def place(self, qty: int, position: int) -> None:
        """Order ``qty`` units: a claim on the depot upstream, or a requirement on the channel."""
        ctx = self.ctx
        now = ctx.env.now
        self.n_orders += 1
        index = len(ctx.requirements)
        need_by = self.last_day
        if self.need_within is not None:
            need_by = min(need_by, float(math.floor(now + self.need_within)))
        name = f"{ctx.node_ids[self.node]}/{ctx.item_ids[self.item]}#{self.n_orders}"
        up = self.upstream
        channel = "depot" if up is not None else self.channel
        r = ReqState(index, name, self.node, self.item, qty, self.priority, channel, need_by, funders=self.funders)
        ctx.requirements.append(r)
        self.orders.append(r)
        ctx.put(self.c_order, -1, qty, -1, index, float(position))
        ctx.count("orders_placed")
        if up is None:
            open_now(ctx, r, qty * self.unit_cost_eur, self.agency, self.lead)
            return
        ctx.put(ctx.log.code(REQUIREMENT_OPENED, item=self.item, node=self.node), -1, qty, -1, index, need_by)
        r.opened = r.funded = True
        ctx.count("requirements_opened")
        ctx.count("units_required", qty)
        up.claim(r, self.rate_per_day)

    # ------------------------------------------------------------------ a unit's demand and receipts

    def demand(self, d: int) -> None:
        """``d`` units demanded now: met from stock, the rest backordered or lost; then a continuous review."""
        ctx = self.ctx
        stock = ctx.stock
        key = self.key
        have = stock.get(key, 0)
        used = have if have < d else d
        if used:
            stock[key] = have - used
            ctx.put(self.c_consumed, -1, used, -1, -1, NAN)
        short = d - used
        if short:
            if self.lost_sales:
                ctx.put(self.c_stockout, -1, short, -1, -1, NAN)
            else:
                ctx.put(self.c_stockout, -1, short, -1, -1, 1.0)
                self.backorders += short
        if self.kind == _SS or self.kind == _RQ:
            self.review()

    def fill_backorders(self) -> None:
        """Serve waiting demand from stock that arrived (a unit)."""
        have = self.on_hand()
        f = min(have, self.backorders)
        if f > 0:
            self.ctx.stock[self.key] = have - f
            self.backorders -= f
            self.ctx.put(self.c_filled, -1, f, -1, -1, NAN)

    # ------------------------------------------------------------------ a depot's claims and receipts

    def claim(self, r: ReqState, weight: float) -> None:
        """A unit's order ``r`` reaches this depot: issue what is on hand, backorder the rest."""
        give = 0 if self.claims else min(self.on_hand(), r.qty)
        if give:
            self.issue(r, give, self.c_issued)
        rest = r.qty - give
        if rest:
            self.ctx.put(self.c_stockout, -1, rest, -1, r.index, 1.0)
            self.backorders += rest
            self.claims.append([r, rest, r.priority, weight])
        if self.kind == _SS or self.kind == _RQ:
            self.review()

    def intake(self, lot: Lot) -> None:
        """A lot bought for this depot's stock finished its handling here: it enters the stock."""
        ctx = self.ctx
        r = ctx.requirements[lot.req]
        r.delivered += lot.qty
        ctx.stock[self.key] = self.on_hand() + lot.qty
        ctx.put(self.c_received, lot.id, lot.qty, -1, lot.req, NAN)
        ctx.count("lots_stocked")
        close_if_done(ctx, r)
        self.allocate()

    def allocate(self) -> None:
        """Give stock on hand to waiting claims by the depot's rule."""
        claims = self.claims
        avail = self.on_hand()
        if not claims or avail <= 0:
            return
        needs = [c[1] for c in claims]
        weights = [float(c[1]) if self.by == "backorders" else c[3] for c in claims]
        give = split(self.rule, needs, [c[2] for c in claims], weights, avail)
        for c, g in zip(claims, give, strict=True):
            if g:
                c[1] -= g
                self.backorders -= g
                self.issue(c[0], g, self.c_filled)
        self.claims = [c for c in claims if c[1] > 0]

    def issue(self, r: ReqState, qty: int, code: int) -> None:
        """Ship ``qty`` units of stock to ``r``'s unit as new lots (``code``: issued or backorder filled)."""
        ctx = self.ctx
        env = ctx.env
        route = self.routes[r.unit]
        lot_size = ctx.lot_size[self.item]
        vol = ctx.unit_volume_m3[self.item]
        st = self.station
        capped = st is not None and st.cap != math.inf
        ctx.stock[self.key] = self.on_hand() - qty
        r.ordered += qty  # no contract: ``units_ordered`` counts contracted units (``contract_awarded``)
        while qty > 0:
            q = min(lot_size, qty)
            qty -= q
            lot_id = ctx.log.new_lot(self.item, q, r.index)
            ctx.put(code, lot_id, q, -1, r.index, NAN)
            ctx.count("lots_issued")
            if capped:
                st.reserve()  # type: ignore[union-attr]  # released when loaded out, as a handled lot
            c = route[0]
            c.enqueue(Lot(env, lot_id, self.item, q, r.index, r.priority, vol * q, route), c.c_q_wait, c.c_q_go)


class DepotIntake:
    """The end of a route bought for a depot's stock: takes the place of a next carrier after the handling.

    A station hands a lot that finished its service to ``lot.route[lot.hop]``; on a route
    ending at a depot with stock, that is this object. It logs ``service_finished`` (the next
    carrier would have logged it with its ``queued``), frees the storage place and hands the
    lot to the depot's stock of the lot's item (``points``: item code -> the depot's stock
    point; one intake per depot, as the routes into it are shared by its items).
    """

    __slots__ = ("c_fin_go", "c_fin_wait", "c_q_go", "c_q_wait", "ctx", "points", "station")

    def __init__(self, ctx: Context, station: Station, points: dict[int, StockPoint]) -> None:
        self.ctx = ctx
        self.station = station
        self.points = points
        self.c_fin_wait = self.c_fin_go = ctx.log.lot_code((SERVICE_FINISHED, station.node, -1))
        self.c_q_wait = self.c_q_go = -1  # a per-vehicle job logged its service_finished itself

    def enqueue(self, lot: Lot, c_wait: int, c_go: int) -> None:
        """``lot`` finished its handling at the depot (``c_wait``: its row, -1 if already logged)."""
        if c_wait >= 0:
            self.ctx.rec((self.ctx.env.now, c_wait, lot.id, -1))
        if self.station.cap != math.inf:
            self.station.release()
        self.points[lot.item].intake(lot)


# --------------------------------------------------------------------------- processes


def _late(env: simpy.Environment) -> simpy.Event:
    """An always-successful event to be scheduled at a late priority (re-armed by the caller)."""
    ev = simpy.Event(env)
    ev._ok = True
    ev._value = None
    return ev


def demand_process(ctx: Context, point: StockPoint, draw: Draw, every_days: float) -> Generator[simpy.Event, Any, None]:
    """Draw the demand of each period of ``every_days`` at its end (priority ``DEMAND``) and serve it."""
    env = ctx.env
    tick = _late(env)
    while True:
        tick.callbacks = []
        env.schedule(tick, DEMAND, every_days)
        yield tick
        d = draw(env.now - every_days)
        if d > 0:
            point.demand(d)


def policy_process(ctx: Context, point: StockPoint, opening: int) -> Generator[simpy.Event, Any, None]:
    """Log the opening stock, review at day 0 (continuous) and then every period (periodic)."""
    env = ctx.env
    tick = _late(env)
    tick.callbacks = []
    env.schedule(tick, REVIEW, 0.0)
    yield tick
    ctx.stock[point.key] = opening  # a policy's stock is known from day 0, even at 0 (as the log's opening row)
    ctx.put(point.c_received, -1, opening, -1, -1, NAN)
    pol = point.policy
    if point.kind in (_SS, _RQ):
        point.review()
        return
    first = pol.first_review_day
    period = pol.period_days
    delay = first
    while True:
        tick.callbacks = []
        env.schedule(tick, REVIEW, delay)
        yield tick
        point.periodic()
        delay = period


# --------------------------------------------------------------------------- set-up


def uses_inventory(s: Scenario) -> bool:
    """Whether ``s`` has random consumption, a stock policy or a line allocation other than the default."""
    for n in s.nodes:
        if isinstance(n, Unit) and (n.consumption or n.stock_policies):
            return True
        if isinstance(n, Depot) and n.stock_policies:
            return True
        if isinstance(n, Supplier) and any(p.allocation.rule != "priority" for p in n.products):
            return True
    return False


def _rate(n: Any, item: str) -> float:
    c = getattr(n, "consumption", {}).get(item)
    if c is not None:
        return float(c.mean_rate())
    return float(getattr(n, "consumption_per_day", {}).get(item, 0.0))


def start_inventory(
    ctx: Context,
    s: Scenario,
    router: Router,
    agencies: dict[str, Agency],
    lead_of: Callable[[int, str], Sampler],
) -> None:
    """Compile consumption, stock policies and allocation rules and start their processes.

    Args:
        ctx: The run context (stations, carriers, lines and routes built).
        s: The resolved scenario.
        router: The run's router (routes to depots and from depots to units).
        agencies: Agencies by id.
        lead_of: A bilateral lead-time sampler of a donor (node index) for a resource number.
    """
    env = ctx.env
    ni, ii = ctx.node_index, ctx.item_index
    streams = ctx.streams
    n_items = len(ctx.item_ids)
    state_budget = next((n.id for n in s.nodes if isinstance(n, Donor) and n.state_budget), None)
    only_agency = next(iter(agencies.values()), None)
    last_day = float(max(0, math.floor(s.horizon_days) - 1))
    rates = {(ni[n.id], ii[it]): _rate(n, it) for n in s.nodes if isinstance(n, Unit) for it in (i.id for i in s.items)}
    points: dict[tuple[int, int], StockPoint] = {}
    n_pol = 0

    def point(n: Any, item_id: str) -> StockPoint:
        nonlocal n_pol
        k, it = ni[n.id], ii[item_id]
        pol = n.stock_policies.get(item_id)
        sp = StockPoint(ctx, k, it, pol, isinstance(n, Depot))
        sp.last_day = last_day
        sp.rate_per_day = rates.get((k, it), 0.0)
        if pol is not None and pol.priority is not None:
            sp.priority = pol.priority
        if pol is not None and pol.source is None:
            channel = pol.channel
            if channel != "domestic" and s.policy.channel is not None:
                channel = s.policy.channel
            sp.channel = channel
            funders = pol.funders or ([state_budget] if state_budget else [])
            sp.funders = tuple(ni[f] for f in funders)
            sp.agency = agencies[pol.agency] if pol.agency is not None else only_agency
            fee = sp.agency.fee_share if channel == "agency" and sp.agency is not None else 0.0
            sp.unit_cost_eur = s.item(item_id).unit_value_eur * (1.0 + fee)
            sp.need_within = pol.need_within_days
            if channel == "bilateral":
                sp.lead = {ni[f]: lead_of(n_pol, f) for f in pol.funders}
            n_pol += 1
        points[(k, it)] = sp
        return sp

    # depots first (units' sources), then units
    for n in s.nodes:
        if isinstance(n, Depot) and n.stock_policies:
            k = ni[n.id]
            st = ctx.stations[k]
            for item_id, q in n.initial_stock.items():
                ctx.stock[(k, ii[item_id])] = q
            held: dict[int, StockPoint] = {}
            for item_id in n.stock_policies:
                sp = held[ii[item_id]] = point(n, item_id)
                sp.station = st
                sp.rule, sp.by = n.allocation.rule, n.allocation.by
                env.process(policy_process(ctx, sp, ctx.stock.get(sp.key, 0)))
            _routes_to_depot(ctx, s, router, n.id, DepotIntake(ctx, st, held))
    for n in s.nodes:
        if not isinstance(n, Unit):
            continue
        k = ni[n.id]
        mine: dict[int, StockPoint] = {}
        for item_id in sorted(set(n.stock_policies) | set(n.consumption), key=ii.__getitem__):
            sp = point(n, item_id)
            pol = n.stock_policies.get(item_id)
            if pol is not None:
                mine[sp.item] = sp
                if pol.source is not None:
                    up = points[(ni[pol.source], sp.item)]
                    sp.upstream = up
                    if k not in up.routes:
                        try:
                            up.routes[k] = _route(ctx, router, pol.source, n.id)
                        except NetworkError as exc:
                            raise NetworkError(
                                f"unit {n.id}: its stock policy for {item_id} orders from depot {pol.source}, "
                                f"which no enabled link route reaches it from ({exc})"
                            ) from None
                env.process(policy_process(ctx, sp, ctx.stock.get(sp.key, 0)))
            spec = n.consumption.get(item_id)
            if spec is None and item_id in n.consumption_per_day and n.consumption_per_day[item_id] > 0:
                spec = Consumption(dist="fixed", mean_per_day=n.consumption_per_day[item_id])
            if spec is not None:
                gen = streams.generator("consumption", k * n_items + sp.item)
                prof = [(s.day_of(p.from_), p.factor) for p in spec.intensity]
                env.process(demand_process(ctx, sp, demand_draw(gen, spec, prof), float(spec.every_days)))
        if mine:
            _receive_at(ctx, k, mine)
    # production lines' allocation
    for n in s.nodes:
        if isinstance(n, Supplier):
            for p in n.products:
                ln = ctx.lines[(ni[n.id], ii[p.item])]
                if p.allocation.rule == "fifo":
                    ln.fifo = True
                elif p.allocation.rule == "fair_share":
                    unit_rate = {u: r for (u, it), r in rates.items() if it == ln.item and r > 0}
                    ln.pick = line_picker(ctx, ln, p.allocation.by, unit_rate)


def _route(ctx: Context, router: Router, origin: str, dest: str) -> tuple[Carrier, ...]:
    links = router.route(origin, dest)
    return tuple(ctx.carriers[ctx.link_index[x]] for x in links)


def _routes_to_depot(ctx: Context, s: Scenario, router: Router, depot: str, intake: DepotIntake) -> None:
    """Routes from every supplier reaching ``depot``, ending in its stock."""
    k = ctx.node_index[depot]
    for n in s.nodes:
        if isinstance(n, Supplier):
            try:
                links = router.route(n.id, depot)
            except NetworkError:
                continue
            if links:
                key = (ctx.node_index[n.id], k)
                ctx.routes[key] = tuple(ctx.link_index[x] for x in links)
                ctx.route_carriers[key] = (*(ctx.carriers[ctx.link_index[x]] for x in links), intake)  # type: ignore[arg-type]


def _receive_at(ctx: Context, unit: int, points: dict[int, StockPoint]) -> None:
    """Deliveries to ``unit`` fill its backorders of items with a policy first (wraps the carriers' ``deliver``)."""
    for c in ctx.carriers.values():
        if c.dest != unit or c.deliver is None:
            continue
        base = c.deliver

        def deliver(lot: Lot, base: Callable[[Lot], None] = base) -> None:
            base(lot)
            sp = points.get(lot.item)
            if sp is not None and sp.backorders:
                sp.fill_backorders()

        c.deliver = deliver
