"""Bottleneck analysis from the event log: what binds, when, and how it responds.

Everything here is a pure function of one replication's event table (``sim.log.arrow_schema``)
and the *resolved* scenario it ran (strategy and overrides applied); the engine is never
imported. Structural bounds (``network.capacity``) come in as plain data (any object with the
attributes of :class:`BoundLike`), so this module stays on the ``results`` side of the import
rules.

Resources (names match ``network.capacity`` where they overlap):

==========================  ==========================================  ===================
name                        what                                        capacity
==========================  ==========================================  ===================
``node:<id>``               a hub, border crossing or depot             servers
``link:<id>``               an enabled link's vehicle pool              vehicles
``agency:<id>``             an agency's contracting staff               staff
``supplier:<id>``           a supplier's production line                base units/day
``supplier:<id>/<item>``    one line of a supplier making several items base units/day
==========================  ==========================================  ===================

Per resource (``analyse``): utilisation, mean queue and mean wait (handling nodes, links and
agencies: ``results.kpis.compute_kpis``; supplier lines: share of time with open orders, mean
backlog in lots and mean days from contract award to lot produced of delivered lots), its
share of the total lead time of delivered units (queue and service at a node; waiting for a
vehicle and transit on a link; tendering at the agency; making the lot on the line), and the
active-period analysis below.

**Active periods** (Roser, Nakano & Tanaka, 2001-2002). A resource is *active* while it works
or is down with work waiting, and inactive while starved or blocked. With the default rule
``"saturated"`` a resource of several units counts as active only while *all* usable units
are busy (servers in service, vehicles away, tenders running: capacity after disruptions) or
work waits for it with no unit free: a fleet of forty trucks with one on the road is not a
bottleneck. A ``scheduled`` link is also active while lots that its last convoy left behind
wait for the next. Supplier lines are active while they hold open orders (from
``contract_awarded`` until the ``lot_produced`` that clears them). The rule ``"occupied"`` is
the textbook one: active while anything is in service or waits (any server busy, any vehicle
away, any tender running or requirement waiting for one).

At each instant the **momentary bottleneck** is the resource whose ongoing active period is
the longest (its whole duration). Where the active period of one momentary bottleneck overlaps
that of the next, both are **shifting** bottlenecks over the overlap; elsewhere the momentary
bottleneck is the **sole** bottleneck. ``Analysis.timeline`` lists these as
``Segment(start, end, resource, state)``; per resource, ``sole_share`` and ``shifting_share``
are fractions of the observation window ``[0, end]``. Resources are ranked by
``sole_share + shifting_share`` (the bottleneck share; below ``MIN_SHARE`` = 1% of the time it
counts as 0), then by utilisation.

**Throughput** of an item is the rate of its deliveries over the active span: units delivered
after the first delivery instant, divided by the days from the first to the last delivery
(the fence-post correction: N equally spaced deliveries span N - 1 gaps).

**Response**: :func:`capacity_change` turns "+1" or "+25%" for a resource into a dotted-path
override (``nodes.<id>.servers``, ``links.<id>.vehicles``, ``nodes.<id>.staff``,
``nodes.<id>.products.<i>.rate_per_day``); :func:`response` reads the paired differences
(common random numbers) of units delivered and mean lead time of each variant against the base
from a KPI table (``results.compare.paired_differences``).

``results.bottlenecks.stream.analyse_part`` gives the same analysis of a part of a run
directory read chunk by chunk (memory bounded by a chunk plus a few numbers per lot).

Modules, one concept each (everything below is re-exported here):

==================  ===========================================================================
``resources``       the resources of a scenario (:func:`resources`)
``active_period``   active periods under a rule (:func:`active_periods`)
``momentary``       momentary, sole and shifting bottlenecks (:func:`shifting_timeline`)
``stats``           the records measured (:class:`ResourceStats`, :class:`Analysis`) and their order
``analysis``        one replication (:func:`analyse`, :func:`throughput`)
``ranking``         across replications (:func:`rank`, :func:`ranking_table`)
``timeline``        the dominant bottleneck per stretch (:func:`dominant_timeline`)
``bound``           deliveries against static bounds (:func:`throughput_vs_bound`)
``response``        adding capacity and the system's response (:func:`capacity_change`, :func:`response`)
``stream``          the same analysis of a run-directory part read chunk by chunk (not re-exported)
``stream_periods``  the active periods of ``stream``, fed chunk by chunk (not re-exported)
==================  ===========================================================================

Example:
    >>> from scenarios.load import load
    >>> from sim.run import run
    >>> s = load("scenarios/small_routers.yaml")
    >>> log, result = run(s)
    >>> a = analyse(log.table(), s, end=result.end_day)
    >>> rank([a])[0].rank
    1
"""

from __future__ import annotations

from results.bottlenecks.active_period import RULES, Rule, active_periods
from results.bottlenecks.analysis import analyse, resource_stats, throughput
from results.bottlenecks.bound import BoundLike, BoundRow, HorizonBoundLike, throughput_vs_bound
from results.bottlenecks.momentary import Segment, momentary_bottlenecks, shifting_timeline
from results.bottlenecks.ranking import RankRow, rank, ranking_table
from results.bottlenecks.resources import Resource, resources
from results.bottlenecks.response import (
    Addition,
    BadAddition,
    Change,
    ResponseRow,
    Variant,
    capacity_change,
    response,
)
from results.bottlenecks.stats import MIN_SHARE, Analysis, ResourceStats, Throughput
from results.bottlenecks.timeline import Span, dominant_timeline, timeline_table

__all__ = [
    "RULES",
    "Addition",
    "Analysis",
    "BadAddition",
    "BoundLike",
    "BoundRow",
    "HorizonBoundLike",
    "Change",
    "MIN_SHARE",
    "RankRow",
    "Resource",
    "ResourceStats",
    "ResponseRow",
    "Rule",
    "Segment",
    "Span",
    "Throughput",
    "Variant",
    "active_periods",
    "analyse",
    "capacity_change",
    "dominant_timeline",
    "momentary_bottlenecks",
    "rank",
    "ranking_table",
    "resource_stats",
    "resources",
    "response",
    "shifting_timeline",
    "throughput",
    "throughput_vs_bound",
    "timeline_table",
]
