"""Routing that responds (issue 15): lots choose their next link on departure, by expected time.

Installed by ``sim.run.build_context`` only when the scenario's ``routing.policy`` is
``on_departure``; under ``static`` nothing here runs and nothing on the hot path changes (the
choice is made once, when the run is built).

Where lots decide. A *decision node* is a supplier, hub, border or depot with two or more
enabled links out (``network.routing.decision_nodes``). A lot decides when it leaves one: at a
supplier when it is produced (a ``_Departure`` stands in for the first link of the supplier's
routes and hands the lot on), at a handling node when its service ends (the station's finish
callbacks are wrapped). Elsewhere it follows its planned route. Its candidates are the
``k_paths`` alternatives from the node to its unit (``network.routing.route_plan``); its
planned route (the rest of the route it is on) is the incumbent. The lot switches to the
candidate with the smallest expected arrival day when that one leaves by another link and is
earlier by more than ``EPS`` days; ties keep the planned route, so a lot never flaps between
equal routes. Choices draw no random numbers: every random stream is the same under both
policies (common random numbers), only the number of draws on each link's stream changes.

Expected arrival. From ``now``, for each link of a route in turn (means from the scenario):

- the link: the day it is open (known closures, below), plus its queue, ``len(queue) x
  round_trip_days / (vehicles x lots of this size per vehicle)``, plus, on a ``scheduled`` link,
  the wait for the next convoy, plus the mean transit;
- the handling node it reaches: the day it is open, plus the wait for a server,
  ``max(0, queued + in service - servers + 1) x service_days / servers`` (servers now, or all
  of them while it is closed), plus the mean service.

Queues are those of *now* all along the route (what a dispatcher sees on the board).

What routing knows. A scheduled disruption with ``capacity_factor: 0`` (a closure) of a node or
link is known from the start of the run, with its start and end: a lot due at a resource
while it is closed waits until it reopens (chained closures add up). A random closure is known
only once it starts (the engine watches the resource's capacity factor), and is expected to
end its mean duration (``duration_days``' mean) after it started; if it lasts longer, one more
mean duration from now. Partial factors (between 0 and 1) are not forecast; the current
servers of a station are used for its queue.

Rows. A switch is one ``rerouted`` row at the node: ``lot``, ``item``, ``qty`` (the lot's),
``node`` = the node, ``link`` = the new next link, ``vehicle`` = the id of the new planned
route in the run's route table (``RunResult.routes``, written to the manifest: route id ->
link ids; ``network.routing.route_plan``), ``ref`` = the lot's requirement, ``value`` = the
planned route's expected days to the unit minus the new route's (> 0: the days it expects to
save). The old route is the lot's planned route before the row: its previous ``rerouted``
row's route (or, before any, the static route of its supplier and unit, the route ids
``0 .. m-1`` of the table), from this node on. The row comes just before the lot's
``queued`` row on the new link.

``reroute_in_queue``: when a node or link closes (its factor drops to 0), each lot waiting at
a decision node for a vehicle of a link out of it, whose planned route crosses the closed
resource, decides again; a lot that switches leaves that link's queue (``rerouted``) and
queues on the new link (a second ``queued`` row at the node), in queue order.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from network.graph import Digraph
from network.routing import RoutePlan
from scenarios.schema import RandomDisruption, Scenario
from sim.events import REROUTED

if TYPE_CHECKING:
    from sim.model.context import Context, Lot
    from sim.model.disruptions import Target
    from sim.model.handling import Station
    from sim.model.transport import Carrier

__all__ = ["EPS", "Diverter", "install_routing"]

EPS = 1e-9
"""Days a new route must save to be taken (a tie keeps the planned route)."""

# the code attributes a caller of ``enqueue`` passes, by the stand-in's sentinel value
_CODES = {-1: "c_prod_wait", -2: "c_prod_go", -3: "c_fin_wait", -4: "c_fin_go", -5: "c_q_wait", -6: "c_q_go"}


class _Departure:
    """Stands in for the first link of a supplier's route when the supplier is a decision node.

    The supplier's line hands it each new lot exactly as it would a carrier
    (``enqueue(lot, c_prod_wait, c_prod_go)``); it puts the lot on its static route, lets it
    decide, and queues it on the link chosen, with that carrier's codes.
    """

    __slots__ = ("c_fin_go", "c_fin_wait", "c_prod_go", "c_prod_wait", "c_q_go", "c_q_wait", "div", "node", "route")

    def __init__(self, div: Diverter, node: int, route: tuple[Carrier, ...]) -> None:
        self.div = div
        self.node = node
        self.route = route
        self.c_prod_wait, self.c_prod_go, self.c_fin_wait, self.c_fin_go, self.c_q_wait, self.c_q_go = range(-1, -7, -1)

    def enqueue(self, lot: Lot, c_wait: int, c_go: int) -> None:
        """Put ``lot`` on its static route, let it choose, and queue it on its next link."""
        lot.route = self.route
        lot.hop = 0
        self.div.decide(lot, self.node)
        c = lot.route[lot.hop]
        c.enqueue(lot, getattr(c, _CODES[c_wait]), getattr(c, _CODES[c_go]))


class Diverter:
    """The choices of one run: candidate routes per (decision node, unit) and what routing knows.

    Args:
        ctx: The run context (stations and carriers built).
        scenario: The resolved scenario.
        graph: Its supply graph (``network.build.supply_graph``).
        plan: Its route plan (``network.routing.route_plan``).
    """

    def __init__(self, ctx: Context, scenario: Scenario, graph: Digraph, plan: RoutePlan) -> None:
        self.ctx = ctx
        self.env = ctx.env
        li, ni = ctx.link_index, ctx.node_index
        self.routes: list[tuple[Carrier, ...]] = [tuple(ctx.carriers[li[x]] for x in r) for r in plan.routes]
        self.choices: dict[tuple[int, int], tuple[tuple[int, tuple[Carrier, ...]], ...]] = {
            (ni[x], ni[u]): tuple((rid, self.routes[rid]) for rid in ids) for (x, u), ids in plan.choices.items()
        }
        self.reqs = ctx.requirements  # the live list (requirements and stream arrivals are added later)
        nl = len(ctx.link_ids)
        nn = len(ctx.node_ids)
        self.transit = [0.0] * nl
        self.round_trip = [0.0] * nl
        for nbrs in graph.succ.values():
            for data in nbrs.values():
                k = li[data["link"]]
                self.transit[k] = float(data["transit_days"])
                self.round_trip[k] = float(data["round_trip_days"])
        self.service = [0.0] * nn
        for n, data in graph.nodes.items():
            if "service_days_mean" in data:
                self.service[ni[n]] = float(data["service_days_mean"])
        # what routing knows: scheduled closures (start, end) and random ones' mean length, by
        # resource (node k -> k, link k -> nn + k); closures seen now that no schedule explains
        self.offset = nn
        self.scheduled: dict[int, list[tuple[float, float]]] = {}
        self.random_mean: dict[int, float] = {}
        self.closed_since: dict[int, float] = {}
        key_of = {x: k for x, k in ni.items()}
        key_of.update({x: nn + k for x, k in li.items()})
        for d in scenario.disruptions:
            key = key_of.get(d.target)
            if key is None or d.capacity_factor > 0:
                continue
            if isinstance(d, RandomDisruption):
                self.random_mean[key] = max(self.random_mean.get(key, 0.0), d.duration_days.mean_days())
            else:
                start = scenario.day_of(d.start)
                self.scheduled.setdefault(key, []).append((start, start + d.duration_days))
        for spans in self.scheduled.values():
            spans.sort()
        self.reroute_in_queue = scenario.routing.reroute_in_queue
        self.decision_nodes = frozenset(x for x, _ in self.choices)

    # ------------------------------------------------------------------ knowledge

    def open_at(self, key: int, t: float, now: float) -> float:
        """The first day from ``t`` on when resource ``key`` is expected open, as known at ``now``."""
        spans = self.scheduled.get(key)
        since = self.closed_since.get(key)
        if since is not None:  # a random closure under way
            mean = self.random_mean.get(key, 0.0)
            end = since + mean
            if end <= now:
                end = now + mean
            if t < end:
                t = end
        if spans:
            moved = True
            while moved:
                moved = False
                for a, b in spans:
                    if a <= t < b:
                        t = b
                        moved = True
        return t

    def watch(self, key: int, target: Target) -> None:
        """Learn the closures of ``target`` as they start (random ones are known only then)."""
        apply = target.apply
        spans = self.scheduled.get(key, [])

        def seen(factor: float, loss: float) -> None:
            now = self.env.now
            if factor > 0:
                self.closed_since.pop(key, None)
            elif key not in self.closed_since and not any(a <= now < b for a, b in spans):
                self.closed_since[key] = now
            apply(factor, loss)
            if factor <= 0 and self.reroute_in_queue:
                self.requeue(key)

        target.apply = seen

    # ------------------------------------------------------------------ expected arrival

    def expected(self, route: tuple[Carrier, ...], start: int, vol: float, now: float) -> float:
        """Expected day of arrival at the end of ``route[start:]`` for a lot of ``vol`` m3 leaving now."""
        t = now
        off = self.offset
        for i in range(start, len(route)):
            c = route[i]
            k = c.link
            t = self.open_at(off + k, t, now)
            waiting = len(c.queue)
            if waiting:
                per_vehicle = max(1, math.floor(c.capacity_m3 / vol + 1e-9)) if vol > 0 else 1
                t += waiting * self.round_trip[k] / (c.vehicles * per_vehicle)
            if c.rule == "scheduled":
                periods = math.ceil((t - c.first_day) / c.every_days - 1e-9) if t > c.first_day else 0
                t = c.first_day + periods * c.every_days
            t += self.transit[k]
            st = c.station
            if st is not None:
                n = c.dest
                t = self.open_at(n, t, now)
                servers = st.capacity or st.servers
                ahead = len(st.queue) + st.busy
                svc = self.service[n]
                if ahead >= servers > 0:
                    t += (ahead - servers + 1) * svc / servers
                t += svc
        return t

    # ------------------------------------------------------------------ choosing

    def decide(self, lot: Lot, node: int) -> bool:
        """``lot`` leaves ``node``: switch it to a better route if one leaves by another link; True if it switched."""
        cands = self.choices.get((node, self.reqs[lot.req].unit))
        if cands is None:
            return False
        now = self.env.now
        planned = self.expected(lot.route, lot.hop, lot.vol, now)
        best_t = planned
        best = -1
        best_route: tuple[Carrier, ...] = ()
        for rid, route in cands:
            t = self.expected(route, 0, lot.vol, now)
            if t < best_t:
                best_t, best, best_route = t, rid, route
        if best < 0 or best_route[0] is lot.route[lot.hop] or not best_t < planned - EPS:
            return False
        lot.route = best_route
        lot.hop = 0
        ctx = self.ctx
        code = ctx.log.code(REROUTED, item=lot.item, node=node, link=best_route[0].link)
        ctx.put(code, lot.id, lot.qty, best, lot.req, planned - best_t)
        ctx.count("lots_rerouted")
        return True

    def requeue(self, key: int) -> None:
        """A resource closed: lots waiting at decision nodes whose planned route crosses it decide again."""
        off = self.offset
        for c in list(self.ctx.carriers.values()):
            if c.origin not in self.decision_nodes or not c.queue:
                continue
            q = c.queue
            order = [q.popleft() for _ in range(len(q))]
            moved: list[Lot] = []
            for lot in order:
                if _crosses(lot.route, lot.hop, key, off) and self.decide(lot, c.origin):
                    moved.append(lot)
                else:
                    q.append(lot)
            for lot in moved:
                nxt = lot.route[0]
                nxt.enqueue(lot, nxt.c_q_wait, nxt.c_q_go)
            if moved and q:
                c.poke()

    def finish_callbacks(self, st: Station) -> None:
        """Let lots leaving station ``st`` decide first (its finish callbacks, wrapped in place)."""
        node = st.node
        decide = self.decide
        finish = st.cbs[0]
        finish_job = st.cbs_job[0]
        jobs = st.jobs

        def finish_routed(lot: Lot) -> None:
            decide(lot, node)
            finish(lot)

        def finish_job_routed(first: Lot) -> None:
            for lot in jobs.get(first.id, ()):
                if not lot.lost:
                    decide(lot, node)
            finish_job(first)

        st.cbs[0] = finish_routed  # the list every lot in service holds: replaced in place
        st.cbs_job[0] = finish_job_routed


def _crosses(route: tuple[Carrier, ...], hop: int, key: int, offset: int) -> bool:
    """Whether ``route[hop:]`` uses resource ``key`` (a node below ``offset``, else link ``key - offset``)."""
    for i in range(hop, len(route)):
        c = route[i]
        if c.link + offset == key or (c.station is not None and c.dest == key):
            return True
    return False


def install_routing(
    ctx: Context, scenario: Scenario, graph: Digraph, plan: RoutePlan, targets: Iterable[Target]
) -> Diverter:
    """Set up ``on_departure`` routing on a built context (stations, carriers and static routes in place).

    Wraps the finish callbacks of decision stations, puts a ``_Departure`` first on the routes
    of decision suppliers, and watches every station's and link's disruptions.

    Args:
        ctx: The context, with ``route_carriers`` filled.
        scenario: The resolved scenario.
        graph: Its supply graph.
        plan: Its route plan (with the alternatives).
        targets: The disruption targets of stations and links.

    Returns:
        The run's :class:`Diverter`.
    """
    div = Diverter(ctx, scenario, graph, plan)
    for node in sorted(div.decision_nodes):
        st = ctx.stations.get(node)
        if st is not None:
            div.finish_callbacks(st)
    for key, route in list(ctx.route_carriers.items()):
        supplier = key[0]
        if supplier in div.decision_nodes:
            stand_in: Any = _Departure(div, supplier, route)
            ctx.route_carriers[key] = (stand_in, *route[1:])
    for tgt in targets:
        if tgt.link >= 0:
            div.watch(div.offset + tgt.link, tgt)
        elif tgt.node in ctx.stations:
            div.watch(tgt.node, tgt)
    return div
