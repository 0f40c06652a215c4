"""A lot rerouted while it waits for a link leaves that link's queue (issue 15, ``reroute_in_queue``).

A hand-built log at hub ``h`` with links ``a`` (h -> x) and ``b`` (h -> y), one vehicle each
(``END = 10``). Lot 5 queues for ``a`` at 1, lot 8 at 2.5; ``a`` closes from 3 to 5 and both
are rerouted onto ``b`` at 3 (queued there at 3). ``b``'s vehicle takes lot 5 at 4 and is back
at 8. ``b`` closes from 7 to 9: lot 8, still waiting, is rerouted back onto ``a`` at 7 and
loaded there at 7.5 (``a``'s vehicle is back at 9.5).

By hand, a lot leaving a queue at its ``rerouted`` row:

- ``a``'s queue: 1 on [1, 2.5), 2 on [2.5, 3), 0 on [3, 7), 1 on [7, 7.5): integral 1.5 + 1 +
  0.5 = 3 lot-days, mean 0.3, max 2. Its one wait: lot 8 from 7 to 7.5, 0.5 days (a lot that
  left unloaded has no wait, as a lot lost while it waited).
- ``b``'s queue: 2 on [3, 4), 1 on [4, 7): integral 5, mean 0.5, max 2; one wait, lot 5, 1 day.
- Active periods, saturated rule (one vehicle; none while closed): ``a`` is busy only on
  [7.5, 9.5), and while closed nothing waits for it: [[7.5, 9.5]]. ``b``'s vehicle is away on
  [4, 8), and after 7 nothing waits: [[4, 8]]. Occupied rule (busy or waited for): ``a``
  [[1, 3], [7, 9.5]], ``b`` [[3, 8]].

The old reading kept lot 5 in ``a``'s queue for good and lot 8 in both (``a``: mean 1.7,
max 3, wait 5 days; ``b``: mean 0.8, active until 9).
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from results.bottlenecks.active_period import _station_periods, active_periods
from results.bottlenecks.analysis import analyse
from results.bottlenecks.stream import analyse_chunks
from results.bottlenecks.stream_periods import BottleneckStream
from results.kpis import compute_kpis, event_arrays, lot_lead_times
from results.kpis.live import LiveKpis
from results.kpis.stream import KpiStream
from results.part_stream import table_chunks
from scenarios.schema import Scenario
from sim.log import arrow_schema
from sim.run import run
from tests.sim.test_routing_policy import two_crossings

NAN = math.nan
END = 10.0

# (t, kind, lot, qty, node, link, vehicle, value)
_ROWS: list[tuple[float, str, int, int | None, str | None, str | None, int, float]] = [
    (1.0, "queued", 5, 10, "h", "a", -1, NAN),
    (2.5, "queued", 8, 10, "h", "a", -1, NAN),
    (3.0, "disruption_started", -1, None, None, "a", -1, 0.0),
    (3.0, "rerouted", 5, 10, "h", "b", 1, 2.0),
    (3.0, "queued", 5, 10, "h", "b", -1, NAN),
    (3.0, "rerouted", 8, 10, "h", "b", 1, 1.0),
    (3.0, "queued", 8, 10, "h", "b", -1, NAN),
    (4.0, "loaded", 5, 10, "h", "b", 0, NAN),
    (4.0, "departed", -1, 10, "h", "b", 0, NAN),
    (5.0, "disruption_ended", -1, None, None, "a", -1, 0.0),
    (6.0, "arrived", 5, 10, "y", "b", 0, NAN),
    (7.0, "disruption_started", -1, None, None, "b", -1, 0.0),
    (7.0, "rerouted", 8, 10, "h", "a", 0, 0.5),
    (7.0, "queued", 8, 10, "h", "a", -1, NAN),
    (7.5, "loaded", 8, 10, "h", "a", 0, NAN),
    (7.5, "departed", -1, 10, "h", "a", 0, NAN),
    (8.0, "returned", -1, None, "h", "b", 0, NAN),
    (8.5, "arrived", 8, 10, "x", "a", 0, NAN),
    (9.0, "disruption_ended", -1, None, None, "b", -1, 0.0),
    (9.5, "returned", -1, None, "h", "a", 0, NAN),
]

# (kpi, link) -> value by hand (module docstring)
BY_HAND = {
    ("queue_mean", "a"): 0.3,
    ("queue_max", "a"): 2.0,
    ("wait_mean_days", "a"): 0.5,
    ("wait_max_days", "a"): 0.5,
    ("queue_mean", "b"): 0.5,
    ("queue_max", "b"): 2.0,
    ("wait_mean_days", "b"): 1.0,
    ("wait_max_days", "b"): 1.0,
}
PERIODS = {
    "saturated": {"link:a": [[7.5, 9.5]], "link:b": [[4.0, 8.0]]},
    "occupied": {"link:a": [[1.0, 3.0], [7.0, 9.5]], "link:b": [[3.0, 8.0]]},
}


def scenario() -> Scenario:
    """Hub h, units x and y, links a (h -> x) and b (h -> y) with one vehicle each."""
    link = {"mode": "road", "vehicles": 1, "capacity_m3": 1, "transit_days": 1.0}
    return Scenario.model_validate(
        {
            "name": "reroute_queue",
            "start": dt.date(2025, 1, 1),
            "horizon_days": 10,
            "items": [{"id": "box", "unit_value_eur": 1, "volume_m3": 0.1, "lot_size": 10}],
            "nodes": [
                {"id": "h", "kind": "hub", "servers": 1, "service_days": 0.1},
                {"id": "x", "kind": "unit"},
                {"id": "y", "kind": "unit"},
            ],
            "links": [{"id": "a", "from": "h", "to": "x", **link}, {"id": "b", "from": "h", "to": "y", **link}],
        }
    )


def table(rows: list[tuple[Any, ...]]) -> pa.Table:
    """An event table of ``arrow_schema`` from ``(t, kind, lot, qty, node, link, vehicle, value)`` rows."""
    cols: list[Any] = list(zip(*rows, strict=True))
    n = len(rows)
    data = {
        "seq": list(range(n)),
        "t": cols[0],
        "kind": cols[1],
        "lot": cols[2],
        "item": ["box" if lot >= 0 else None for lot in cols[2]],
        "qty": cols[3],
        "node": cols[4],
        "link": cols[5],
        "vehicle": cols[6],
        "ref": [-1] * n,
        "value": cols[7],
    }
    schema = arrow_schema()
    return pa.Table.from_arrays([pa.array(data[f.name]).cast(f.type) for f in schema], schema=schema)


def link_kpis(k: dict[Any, float | None]) -> dict[tuple[str, str], float | None]:
    return {(key[0], key[3]): v for key, v in k.items() if key[3] in ("a", "b") and (key[0], key[3]) in BY_HAND}


@pytest.fixture(scope="module")
def whole() -> dict[tuple[str, str], float | None]:
    s = scenario()
    return link_kpis(compute_kpis(event_arrays(table(_ROWS), s), s, END))


def test_link_queue_and_wait_kpis_by_hand(whole: dict[tuple[str, str], float | None]) -> None:
    assert whole == pytest.approx(BY_HAND, abs=1e-12)


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7, len(_ROWS)])
def test_chunked_kpis_equal_the_whole(size: int, whole: dict[tuple[str, str], float | None]) -> None:
    """Cut anywhere (also inside an instant, and between a lot's queued row and its reroute)."""
    s = scenario()
    ks = KpiStream(s, END)
    for batch in table(_ROWS).to_batches(max_chunksize=size):
        ks.feed(batch)
    assert link_kpis(ks.finish()) == whole
    live = LiveKpis(s, chunk_rows=size)
    for batch in table(_ROWS).to_batches(max_chunksize=2 * size):
        live(batch)
    got = {(r["kpi"], r["link"]): r["value"] for r in live.table("baseline", 0, END).to_pylist()}
    assert {k: v for k, v in got.items() if k in BY_HAND} == whole


def _as_lists(p: dict[str, np.ndarray]) -> dict[str, list[list[float]]]:
    return {name: p[name].tolist() for name in ("link:a", "link:b")}


@pytest.mark.parametrize("rule", ["saturated", "occupied"])
def test_active_periods_by_hand(rule: Any) -> None:
    s = scenario()
    assert _as_lists(active_periods(table(_ROWS), s, END, rule)) == PERIODS[rule]


@pytest.mark.parametrize("rule", ["saturated", "occupied"])
@pytest.mark.parametrize("size", [1, 2, 3, 5, 7, len(_ROWS)])
def test_chunked_periods_equal_the_whole(rule: Any, size: int) -> None:
    s = scenario()
    t = table(_ROWS)
    stream = BottleneckStream(s, END, rule)
    for ev in table_chunks(t, s, size):
        stream.feed(ev)
    got = stream.periods(event_arrays(t, s))
    want = active_periods(t, s, END, rule)
    assert got.keys() == want.keys()
    for name in want:
        assert np.array_equal(got[name], want[name]), name


# --------------------------------------------------------------------------- a run of the engine


def _queue_steps(rows: list[dict[str, Any]], link: str) -> tuple[np.ndarray, np.ndarray, set[int]]:
    """Changes of ``link``'s queue, lot by lot: + queued for it, - loaded on it or rerouted while waiting for it."""
    waits_for: dict[int, str | None] = {}
    times: list[float] = []
    deltas: list[float] = []
    moved: set[int] = set()
    for r in rows:
        k, lot = r["kind"], r["lot"]
        if k == "queued":
            if waits_for.get(lot) == link:  # (never: a lot queues once per link it waits for)
                raise AssertionError(f"lot {lot} queued twice for {link}")
            waits_for[lot] = r["link"]
            if r["link"] == link:
                times.append(r["t"])
                deltas.append(1.0)
        elif k == "loaded" or (k == "lost" and r["vehicle"] < 0):
            if waits_for.get(lot) == link and r["link"] == link:
                times.append(r["t"])
                deltas.append(-1.0)
            waits_for[lot] = None
        elif k == "rerouted" and waits_for.get(lot) == link:
            times.append(r["t"])
            deltas.append(-1.0)
            moved.add(lot)
            waits_for[lot] = None
    return np.asarray(times), np.asarray(deltas), moved


def test_in_a_run_no_rerouted_lot_stays_in_the_closed_links_queue() -> None:
    """The two-crossings run whose link ha closes at random, with ``reroute_in_queue``."""
    s = _scenario_of_closure()
    log, result = run(s, "baseline", 0)
    t, end = log.table(), result.end_day
    rows = t.to_pylist()
    qt, qd, moved = _queue_steps(rows, "ha")
    assert moved  # lots waiting for ha were rerouted when it closed
    # the queue by hand: its integral over [0, end] and its maximum (levels after each instant)
    grid = np.unique(np.r_[0.0, qt[qt <= end], end])
    level = np.array([qd[qt <= g].sum() for g in grid])
    integral = float(np.dot(level[:-1], np.diff(grid)))
    k = compute_kpis(event_arrays(t, s), s, end)
    got = {key[0]: v for key, v in k.items() if key[3] == "ha" and key[0] in ("queue_mean", "queue_max")}
    assert got["queue_mean"] == pytest.approx(integral / end, rel=1e-12)
    assert got["queue_max"] == level.max()
    # the bottleneck analysis sees the same queue: its periods from these steps, whole and chunked
    ev = event_arrays(t, s)
    periods = active_periods(ev, s, end, "occupied")
    ha = s.links[[lk.id for lk in s.links].index("ha")]
    away = [(r["t"], 1.0) for r in rows if r["link"] == "ha" and r["kind"] == "departed"]
    away += [(r["t"], -1.0) for r in rows if r["link"] == "ha" and r["kind"] == "returned"]
    bt, bd = (np.asarray(x) for x in zip(*away, strict=True))
    want = _station_periods(end, "occupied", (bt, bd), (qt, qd), float(ha.vehicles), (np.zeros(0), np.zeros(0)))
    assert np.array_equal(periods["link:ha"], want)
    stream = BottleneckStream(s, end, "saturated")
    for chunk in table_chunks(t, s, 97):
        stream.feed(chunk)
    chunked = stream.periods(ev)
    whole = active_periods(ev, s, end, "saturated")
    for name in whole:
        assert np.array_equal(chunked[name], whole[name]), name


def test_in_a_run_a_rerouted_lot_spent_its_wait_on_the_link_it_left() -> None:
    """The lead-time share of link ha: delivered lots' days from queued for ha to arrived by it or rerouted."""
    s = _scenario_of_closure()
    log, result = run(s, "baseline", 0)
    t, end = log.table(), result.end_day
    la = lot_lead_times(t).to_pylist()
    weight = {r["lot"]: float(r["qty"]) for r in la}
    total = sum(r["qty"] * r["lead_time_days"] for r in la)
    since: dict[int, float] = {}  # lot -> day it queued for ha
    on_ha = 0.0
    for r in t.to_pylist():
        lot, k = r["lot"], r["kind"]
        if k == "queued":
            if r["link"] == "ha":
                since[lot] = r["t"]
        elif lot in since and (k == "rerouted" or (k == "arrived" and r["link"] == "ha")):
            on_ha += weight.get(lot, 0.0) * (r["t"] - since.pop(lot))
    a = analyse(t, s, end=end)
    assert a.stat("link:ha").lead_time_share == pytest.approx(on_ha / total, rel=1e-9)
    k = compute_kpis(t, s, end)
    b = analyse_chunks(lambda columns: table_chunks(t, s, 97), s, end, kpis=k)
    assert b.stat("link:ha").lead_time_share == a.stat("link:ha").lead_time_share
    assert b.timeline == a.timeline


def _scenario_of_closure() -> Scenario:
    """``tests.sim.test_routing_policy._random_link_closure``'s scenario: ha runs a convoy a day, closes at random."""
    base = two_crossings("on_departure", closure=False, reroute_in_queue=True)
    data = base.model_dump(by_alias=True)
    for lk in data["links"]:
        if lk["id"] == "ha":
            lk["dispatch"] = {"rule": "scheduled", "every_days": 1.0, "first_day": 0.0}
    data["disruptions"] = [
        {"kind": "random", "id": "ha_cut", "target": "ha", "rate_per_year": 36.5, "duration_days": 5.0}
    ]
    return Scenario.model_validate(data)
