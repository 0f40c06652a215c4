"""One replication: ``run(scenario, strategy, replication) -> (EventLog, RunResult)``.

Compiles the validated scenario into plain data (indexes, samplers, stations, carriers, lines),
starts the long-lived processes, runs SimPy to the horizon and describes the outcome even on
failure (desmod's ``simulate()`` habit). No file I/O: record batches go to the ``sink`` the
caller passes (the run store), or stay in memory.

Statuses:
    completed: every opened requirement is closed (delivered or lost).
    incomplete: the horizon came while work was still flowing.
    deadlocked: flow stopped before the horizon with work in progress; ``blocked`` names why.
    failed: an error stopped the run (event budget, a bad sample...); ``error`` says which.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any

import simpy
from simpy.events import EventPriority

from network.build import supply_graph
from network.routing import Router
from scenarios.errors import AidflowError, NetworkError
from scenarios.schema import Agency as AgencySpec
from scenarios.schema import (
    Border,
    Depot,
    Donor,
    Exponential,
    Fixed,
    Hub,
    Lognormal,
    LotTime,
    RandomDisruption,
    Scenario,
    Supplier,
    Unit,
    effective_channel,
)
from sim.budget import BudgetedEnvironment, default_event_budget
from sim.log import EventLog
from sim.model.context import Context, ReqState
from sim.model.demand import donor_budget, requirement_process, requirement_stream
from sim.model.disruptions import Target, random_disruption, scheduled_disruption
from sim.model.handling import Station
from sim.model.inventory import REVIEW, start_inventory, uses_inventory
from sim.model.procurement import Agency, agency_process
from sim.model.production import Line, line_process
from sim.model.transport import Carrier, start_dispatcher
from sim.model.units import consumption, deliverer
from sim.rng import Sampler, Streams

__all__ = ["RunResult", "build_context", "end_state", "run"]


@dataclass
class RunResult:
    """How one replication ended, in plain data (goes into the manifest)."""

    scenario: str
    strategy: str
    replication: int
    seed: int
    status: str
    end_day: float
    horizon_days: float
    rows: int
    wall_s: float
    counters: dict[str, Any] = field(default_factory=dict)
    end: dict[str, Any] = field(default_factory=dict)
    blocked: list[str] = field(default_factory=list)
    error: str | None = None
    events: int = 0
    """Engine (SimPy) events processed."""
    max_events: int | None = None
    """The event budget the replication ran under (``sim.budget``)."""
    routes: list[list[str]] = field(default_factory=list)
    """Under ``routing.policy: on_departure``, route id -> link ids (``network.routing.route_plan``;
    a ``rerouted`` row's ``vehicle`` is the id of the lot's new route); empty under ``static``."""


SETTLE = EventPriority(REVIEW + 1)
"""SimPy priority of the deadlock watch's wait for an instant to settle: after every model event."""


class _Deadlock(Exception):
    # SimPy re-raises a process's exception as ``type(exc)(*exc.args)``: keep the list in args.
    def __init__(self, blocked: list[str]) -> None:
        super().__init__(list(blocked))
        self.blocked = list(blocked)

    def __str__(self) -> str:
        return "; ".join(self.blocked)


def build_context(
    scenario: Scenario,
    replication: int = 0,
    seed: int | None = None,
    sink: Callable[[Any], None] | None = None,
    max_events: int | None = None,
    progress: Callable[[float], None] | None = None,
    rows_per_batch: int = 2**19,
) -> Context:
    """Compile ``scenario`` into a ready-to-run context with every process started."""
    s = scenario
    env = BudgetedEnvironment(max_events)
    items = [i.id for i in s.items]
    nodes = [n.id for n in s.nodes]
    links = [lk.id for lk in s.links]
    log = EventLog(items, nodes, links, sink=sink, rows_per_batch=rows_per_batch)
    streams = Streams(s.seed if seed is None else seed, replication)
    prio = [s.policy.item_priority.get(i.id, i.priority) for i in s.items]
    ctx = Context(
        env=env,
        scenario=s,
        log=log,
        streams=streams,
        rec=log.records.extend,
        item_ids=items,
        node_ids=nodes,
        link_ids=links,
        item_index={x: k for k, x in enumerate(items)},
        node_index={x: k for k, x in enumerate(nodes)},
        link_index={x: k for k, x in enumerate(links)},
        lot_size=[i.lot_size for i in s.items],
        unit_volume_m3=[i.volume_m3 for i in s.items],
        item_priority=prio,
        unit_value_eur=[i.unit_value_eur for i in s.items],
        priority_queues=s.policy.queue_discipline == "priority",
        max_events=max_events,
        progress=progress,
    )
    ni, ii, li = ctx.node_index, ctx.item_index, ctx.link_index
    targets: dict[str, Target] = {}

    # handling stations
    for k, n in enumerate(s.nodes):
        if isinstance(n, (Hub, Border, Depot)):
            lossy = any(d.target == n.id and d.loss_probability > 0 for d in s.disruptions)
            sampler = streams.sampler("handling", k, n.service_days)
            st = Station(ctx, k, n.servers, sampler, n.storage_cap_lots, serve=n.serve, lossy=lossy)
            ctx.stations[k] = st
            targets[n.id] = Target(_station_effect(st), node=k)

    # carriers; a lot is whole (lot_size units) unless some requirement's quantity is not a
    # multiple of its item's lot size: the smallest lot any vehicle may see decides inline dispatch
    whole = {i.id: all(r.qty % i.lot_size == 0 for r in s.requirements if r.item == i.id) for i in s.items}
    min_lot_m3 = min(i.volume_m3 * (i.lot_size if whole[i.id] else 1) for i in s.items)
    max_lot_m3 = max(i.volume_m3 * i.lot_size for i in s.items)
    for k, lk in enumerate(s.links):
        if not lk.enabled:
            continue
        disp = lk.dispatch
        c = Carrier(
            ctx,
            k,
            ni[lk.from_],
            ni[lk.to],
            lk.vehicles,
            lk.capacity_m3,
            transit=streams.sampler("transit", k, lk.transit_days),
            back=streams.sampler("return", k, lk.return_days if lk.return_days is not None else lk.transit_days),
            loss=streams.uniforms("loss", k),
            loss_probability=lk.loss_probability,
            rule=disp.rule,
            max_wait_days=getattr(disp, "max_wait_days", 0.0),
            every_days=getattr(disp, "every_days", 0.0),
            first_day=getattr(disp, "first_day", 0.0),
            back_fixed=isinstance(lk.return_days if lk.return_days is not None else lk.transit_days, Fixed),
            min_lot_m3=min_lot_m3,
            max_lot_m3=max_lot_m3,
        )
        ctx.carriers[k] = c
        dest = ni[lk.to]
        c.connect(
            ctx.stations.get(dest),
            ctx.stations.get(ni[lk.from_]),
            None if dest in ctx.stations else deliverer(ctx, dest),
        )
        targets[lk.id] = Target(c.set_factor, link=k)
        if c.rule != "immediate":
            start_dispatcher(ctx, c)

    log.before_flush.append(lambda: settle_returns(ctx, inclusive=False))
    env.on_chunk = log.maybe_flush  # the log flushes as the run goes, whatever makes its rows

    # routes from every supplier to every unit it can reach
    graph = supply_graph(s)
    router = Router(graph, weight=s.policy.routing_weight)
    units = [n.id for n in s.nodes if isinstance(n, Unit)]
    for n in s.nodes:
        if isinstance(n, Supplier):
            for u in units:
                try:
                    route = router.route(n.id, u)
                except NetworkError:
                    continue
                if route:
                    key = (ni[n.id], ni[u])
                    ctx.routes[key] = tuple(li[x] for x in route)
                    ctx.route_carriers[key] = tuple(ctx.carriers[li[x]] for x in route)
    if s.routing.policy != "static":  # decided here, once: a static run pays nothing per lot (issue 15)
        from network.routing import route_plan
        from sim.model.routing import install_routing

        plan = route_plan(graph, s)
        ctx.route_table = plan.routes
        install_routing(ctx, s, graph, plan, targets.values())

    # supplier lines
    for k, n in enumerate(s.nodes):
        if isinstance(n, Supplier):
            lines: list[Line] = []
            for p in n.products:
                ramp = tuple((r.day, r.factor) for r in p.ramp)
                lot_time = _lot_time_sampler(streams, k * len(items) + ii[p.item], p.lot_time)
                ln = Line(
                    ctx, k, ii[p.item], p.rate_per_day, p.unit_price_eur, p.initial_stock, ramp, n.domestic, lot_time
                )
                ctx.lines[(k, ii[p.item])] = ln
                if p.price_breaks:
                    ctx.price_breaks[(k, ii[p.item])] = tuple((b.min_qty, b.unit_price_eur) for b in p.price_breaks)
                lines.append(ln)
                env.process(line_process(ctx, ln))
            targets[n.id] = Target(_lines_effect(lines), node=k)

    # agencies and donors
    agencies: dict[str, Agency] = {}
    for k, n in enumerate(s.nodes):
        if isinstance(n, AgencySpec):
            a = Agency(
                ctx, k, n.staff, streams.sampler("tender", k, n.tender_days), n.award_policy, n.pool_days, n.fee_share
            )
            agencies[n.id] = a
            env.process(agency_process(ctx, a))
        elif isinstance(n, Donor):
            ctx.earmarks[k] = None if n.earmarks is None else frozenset(ii[e] for e in n.earmarks)
            tranches = [(s.day_of(t.date), t.amount_eur) for t in n.tranches]
            ctx.future_tranches += len(tranches)
            ctx.budget_eur[k] = 0.0
            if n.budget_eur == "unlimited":  # the state budget always pays (no budget_added rows)
                ctx.unlimited = ctx.unlimited | {k}
            else:
                env.process(donor_budget(ctx, k, n.budget_eur, tranches))

    # requirements
    only_agency = next(iter(agencies.values()), None)
    state_budget = next((n.id for n in s.nodes if isinstance(n, Donor) and n.state_budget), None)
    for k, r in enumerate(s.requirements):
        channel = effective_channel(s, r)
        item = s.item(r.item)
        rs = ReqState(
            index=k,
            id=r.id,
            unit=ni[r.unit],
            item=ii[r.item],
            qty=r.qty,
            priority=r.priority if r.priority is not None else prio[ii[r.item]],
            channel=channel,
            need_by_day=s.day_of(r.need_by),
            # a domestic requirement naming no funders is paid by the state budget (validated)
            funders=tuple(ni[f] for f in (r.funders or ([state_budget] if state_budget else []))),
        )
        ctx.requirements.append(rs)
        agency = agencies[r.agency] if r.agency is not None else only_agency
        fee = agency_fee(s, r.agency) if channel == "agency" else 0.0
        cost = r.qty * item.unit_value_eur * (1.0 + fee)
        lead = None
        if channel == "bilateral":  # one draw per requirement: a lazy sampler (a stream's arrivals share one)
            # per funder, on one stream (common random numbers): the donor who pays draws
            make = streams.once if r.stream is None else streams.sampler
            lead = {ni[f]: make("tender", len(s.nodes) + k, s.node(f).bilateral_lead_days) for f in r.funders}
        open_day = s.day_of(r.opens) if r.opens is not None else 0.0
        if r.stream is None:
            env.process(requirement_process(ctx, rs, open_day, cost, agency, lead))
        else:
            gap = streams.sampler("demand", k, r.stream.interarrival_days)
            end_day = s.day_of(r.stream.until) + 1.0  # arrivals until the end of that day
            within = r.stream.need_within_days
            env.process(requirement_stream(ctx, rs, open_day, end_day, gap, within, cost, agency, lead))

    # units: opening stock and consumption
    for k, n in enumerate(s.nodes):
        if isinstance(n, Unit):
            for item_id, q in n.initial_stock.items():
                ctx.stock[(k, ii[item_id])] = q
            for item_id, per_day in n.consumption_per_day.items():
                if per_day > 0 and item_id not in n.stock_policies:  # with a policy: sim.model.inventory
                    env.process(consumption(ctx, k, ii[item_id], per_day))

    # random consumption, stock policies, allocation rules (issue 14)
    if uses_inventory(s):
        base = len(s.nodes) + len(s.requirements)  # bilateral lead times of policies' orders: after the requirements'
        start_inventory(
            ctx,
            s,
            router,
            agencies,
            lambda k, f: streams.sampler("tender", base + k, s.node(f).bilateral_lead_days),
        )

    # disruptions
    for k, d in enumerate(s.disruptions):
        tgt = targets.get(d.target)
        if tgt is None:  # a disabled link
            continue
        if isinstance(d, RandomDisruption):
            gap = streams.sampler("disruption", 2 * k, _exponential(365.0 / d.rate_per_year))
            dur = streams.sampler("disruption", 2 * k + 1, d.duration_days)
            env.process(random_disruption(ctx, tgt, gap, dur, d.capacity_factor, d.loss_probability, k))
        else:
            start = s.day_of(d.start)
            env.process(
                scheduled_disruption(ctx, tgt, start, d.duration_days, d.capacity_factor, d.loss_probability, k)
            )
    return ctx


def _lot_time_sampler(streams: Streams, resource: int, lot_time: LotTime | None) -> Sampler | None:
    """Draws of mean 1 scaling each lot's work content (``production`` stream), or None when fixed."""
    if lot_time is None or lot_time.dist == "fixed":
        return None
    if lot_time.dist == "exponential":
        return streams.sampler("production", resource, Exponential(dist="exponential", mean=1.0))
    assert lot_time.cv is not None
    return streams.sampler("production", resource, Lognormal(dist="lognormal", mean=1.0, cv=lot_time.cv))


def settle_returns(ctx: Context, inclusive: bool = True) -> None:
    """Free every vehicle back by now (``< now`` unless ``inclusive``), logging its ``returned`` row."""
    now = ctx.env.now
    for c in ctx.carriers.values():
        c.collect_returns(now, inclusive)


def _station_effect(st: Station) -> Callable[[float, float], None]:
    def apply(factor: float, loss: float) -> None:
        st.set_factor(factor)

    return apply


def _lines_effect(lines: list[Line]) -> Callable[[float, float], None]:
    def apply(factor: float, loss: float) -> None:
        for ln in lines:
            ln.set_factor(factor)

    return apply


def agency_fee(s: Scenario, agency_id: str | None) -> float:
    """The fee share of the named agency (or the only one)."""
    for n in s.nodes:
        if isinstance(n, AgencySpec) and (agency_id is None or n.id == agency_id):
            return n.fee_share
    return 0.0


def _exponential(mean: float) -> Any:
    """An exponential of ``mean`` days for the engine's own use: not bounded like a planner's.

    A rare disruption's mean gap (365 / rate, up to 3.65e14 days) may pass the language's
    1e12-day limit on a duration; it is a finite number the sampler draws from all the same.
    """
    from scenarios.schema import Exponential

    return Exponential.model_construct(dist="exponential", mean=float(mean))


def blocked_resources(ctx: Context) -> list[str]:
    """Why work in progress cannot move (names of the blocking resources)."""
    out: list[str] = []
    for k, st in ctx.stations.items():
        if len(st.queue) and st.capacity == 0:
            out.append(f"node {ctx.node_ids[k]}: {len(st.queue)} lot(s) wait, no server available")
    for k, c in ctx.carriers.items():
        if len(c.queue):
            why = "next station full" if not c.room() else ("link closed" if c.usable == 0 else "no vehicle")
            out.append(f"link {ctx.link_ids[k]}: {len(c.queue)} lot(s) wait ({why})")
    for (sup, item), ln in ctx.lines.items():
        if ln.orders and ln.rate(ctx.now) <= 0:
            out.append(
                f"supplier {ctx.node_ids[sup]}: line for {ctx.item_ids[item]} stopped with {ln.backlog} on order"
            )
    for r in ctx.requirements:
        if r.waiting_funds:
            donors = ", ".join(ctx.node_ids[d] for d in r.funders)
            out.append(f"requirement {r.id}: waits for funds from {donors}")
    return out


def _stalled(ctx: Context) -> bool:
    """Work is open, nothing is scheduled that could move it, and nothing will unblock it."""
    if ctx.pending > 0 or ctx.active_disruptions > 0 or ctx.busy_work() > 0:
        return False
    # opened and not closed requirements, from the counters (a scan of 10^5 requirements a day is not free)
    open_reqs = ctx.counters.get("requirements_opened", 0) > ctx.counters.get("requirements_closed", 0)
    if not open_reqs and ctx.open_lots() == 0:
        return False
    if not all(r.opened for r in ctx.requirements):  # a requirement still to open is scheduled work
        return False
    if ctx.future_tranches > 0 and any(r.waiting_funds for r in ctx.requirements):
        return False
    for c in ctx.carriers.values():
        if c.rule == "scheduled" and len(c.queue) and c.vehicle_ready() and c.room():
            return False
    return not any(
        ln.orders and ln.rate(ctx.now) <= 0 and ln.next_ramp_day(ctx.now) is not None for ln in ctx.lines.values()
    )


def _clock(ctx: Context, step_days: float) -> Generator[simpy.Event, Any, None]:
    """Progress and deadlock watch, once every ``step_days`` (the event budget is the environment's)."""
    env = ctx.env
    while True:
        yield env.timeout(step_days)
        if ctx.progress is not None:
            ctx.progress(env.now)
        if _stalled(ctx):
            # let this instant settle first: events triggered now (a tranche waking a requirement,
            # an order waking a line, a unit's demand) are queued at ``now`` and may move work. The
            # wait is scheduled at ``SETTLE``, after every priority the model uses, so it runs after
            # everything at ``now``: a NORMAL timeout of 0 would run before the inventory's DEMAND
            # and REVIEW ticks of the instant and be re-armed forever (a runaway).
            while env.peek() == env.now:
                settle = simpy.Event(env)
                settle._ok = True
                settle._value = None
                env.schedule(settle, SETTLE, 0)
                yield settle
            if not _stalled(ctx):
                continue
            blocked = blocked_resources(ctx)
            if blocked:
                raise _Deadlock(blocked)


def end_state(ctx: Context) -> dict[str, Any]:
    """The engine's own end-of-run state, in ids (for ``--verify`` and the tests)."""
    stock = {f"{ctx.node_ids[u]}/{ctx.item_ids[i]}": q for (u, i), q in sorted(ctx.stock.items())}
    budget = {ctx.node_ids[d]: round(b, 6) for d, b in sorted(ctx.budget_eur.items())}
    queues = {ctx.node_ids[k]: st.lots_held() for k, st in sorted(ctx.stations.items())}
    waiting = {ctx.link_ids[k]: len(c.queue) for k, c in sorted(ctx.carriers.items())}
    # the scenario's requirements (a stream's own entry stays unopened; its arrivals are ``<id>#<n>``)
    reqs = {
        r.id: {"ordered": r.ordered, "delivered": r.delivered, "lost": r.lost, "closed": r.closed and not spec.stream}
        for r, spec in zip(ctx.requirements, ctx.scenario.requirements, strict=False)
    }
    return {
        "stock": stock,
        "budget_eur": budget,
        "at_stations": queues,
        "waiting_for_link": waiting,
        "requirements": reqs,
    }


def run(
    scenario: Scenario,
    strategy: str = "baseline",
    replication: int = 0,
    seed: int | None = None,
    sink: Callable[[Any], None] | None = None,
    max_events: int | None = None,
    progress: Callable[[float], None] | None = None,
    rows_per_batch: int = 2**19,
) -> tuple[EventLog, RunResult]:
    """Simulate one replication of ``scenario`` under ``strategy``.

    Args:
        scenario: The validated base scenario.
        strategy: A strategy name of the scenario, or ``baseline``.
        replication: Replication number (part of every stream's spawn key).
        seed: Root seed; the scenario's ``seed`` when None.
        sink: Receives each Arrow record batch; None keeps them in the returned log.
        max_events: Event budget (engine events, see ``sim.budget``); exceeding it fails the
            run. None: ``default_event_budget`` of the resolved scenario.
        progress: Called with the simulated day about once a day.
        rows_per_batch: Rows per record batch.

    Returns:
        The event log (flushed) and the run result.
    """
    t0 = time.perf_counter()
    resolved = scenario.with_strategy(strategy)
    used_seed = resolved.seed if seed is None else seed
    budget = default_event_budget(resolved) if max_events is None else max_events
    ctx = build_context(resolved, replication, used_seed, sink, budget, progress, rows_per_batch)
    horizon = resolved.horizon_days
    ctx.env.process(_clock(ctx, 1.0))
    status, error, blocked = "completed", None, []
    # The garbage collector stays on: the hot path allocates no container per row (records
    # are flat numbers, lots are slotted events re-armed in place), and pausing the collector
    # was measured to change nothing (benchmarks/README.md).
    try:
        ctx.env.run(until=horizon)
        if any(r.opened and not r.closed for r in ctx.requirements) or ctx.open_lots():
            status = "incomplete"
    except _Deadlock as dl:
        status, blocked = "deadlocked", dl.blocked
    except (AidflowError, simpy.core.StopSimulation) as exc:  # pragma: no cover - defensive
        status, error = "failed", str(exc)
    except RecursionError as exc:  # pragma: no cover
        status, error = "failed", f"recursion: {exc}"
    # returns are kept lazily: log those the run reached (all events of a deadlock's instant ran)
    settle_returns(ctx, inclusive=status == "deadlocked")
    ctx.log.flush()
    result = RunResult(
        scenario=resolved.name,
        strategy=strategy,
        replication=replication,
        seed=used_seed,
        status=status,
        end_day=float(ctx.env.now),
        horizon_days=horizon,
        rows=ctx.log.rows,
        wall_s=time.perf_counter() - t0,
        counters=ctx.all_counters(),
        end=end_state(ctx),
        blocked=blocked,
        error=error,
        events=getattr(ctx.env, "events_processed", 0),
        max_events=budget,
        routes=[list(r) for r in ctx.route_table],
    )
    return ctx.log, result
