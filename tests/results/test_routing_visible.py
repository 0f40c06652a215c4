"""Diversions are visible (issue 15, item 3): trace, state, the Sankey by route and bottlenecks.

The two-crossings case of ``tests/sim/test_routing_policy.py`` under ``routing.policy:
on_departure``: supplier ``s`` makes lot ``k`` at day ``(k + 1) / 4``; it reaches hub ``h`` 0.5
days later and leaves it after 0.01 days of service. Crossing ``a`` (via ``ha`` 0.5 d, service
0.25 d, ``au`` 0.5 d) is closed from day 20 to day 30; ``b`` takes ``hb`` 3 d + service 0.5 d +
``bu`` 0.5 d = 4 days. Lot 75 is made at 19.00 and leaves ``h`` at 19.51: by ``a`` it would wait
until 30 and arrive at ``u`` at 30.75 (11.24 days), by ``b`` in 4 days: it saves 7.24 days.
It is the first lot diverted; every lot leaving ``h`` from then on, every 0.25 days, until the
queue at ``b`` outweighs the wait for ``a``, is diverted too.
"""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from rich.console import Console
from rundirs import make_run_dir

from results.bottlenecks import analyse, momentary_bottlenecks
from results.bottlenecks.ranking import diverted_means
from results.bottlenecks.stream import analyse_part
from results.recovery import recovery_days
from results.replay import Replay, lineage
from results.replay.diversions import QUEUES, diversions
from results.report_flows import route_sankey
from results.route_flows import RouteFlows, route_flows_of_run
from results.store.reading import read_events
from results.store.run_store import read_manifest
from sim.cli.trace import print_lineage
from sim.run import run
from tests.sim.test_routing_policy import two_crossings

CLOSED_FROM, CLOSED_TO = 20.0, 30.0
FIRST_LOT, FIRST_DAY = 75, 19.51  # made at 19.00, at h 19.50, served by 19.51
B_DAYS = 3.0 + 0.5 + 0.5  # hb, service at b, bu
SAVES = (CLOSED_TO + 0.25 + 0.5) - FIRST_DAY - B_DAYS  # 11.24 - 4 = 7.24


@pytest.fixture(scope="module")
def routed_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    root = tmp_path_factory.mktemp("routed") / "run"
    scenario = two_crossings("on_departure")
    make_run_dir(root, scenario)
    return root, scenario


def _rerouted(table: pa.Table) -> list[dict[str, Any]]:
    return [r for r in table.to_pylist() if r["kind"] == "rerouted"]


def test_the_route_table_is_kept_in_the_manifest(routed_run: tuple[Path, Any]) -> None:
    root, _ = routed_run
    part = read_manifest(root)["parts"][0]
    routes = part["routes"]
    assert ["hb", "bu"] in routes and ["sh", "ha", "au"] in routes
    table = read_events(root, "baseline", 0)
    assert {tuple(routes[r["vehicle"]]) for r in _rerouted(table)} == {("hb", "bu")}


def test_trace_shows_the_rerouted_step(routed_run: tuple[Path, Any]) -> None:
    root, scenario = routed_run
    table = read_events(root, "baseline", 0)
    routes = read_manifest(root)["parts"][0]["routes"]
    lg = lineage(table, lot=FIRST_LOT, scenario=scenario, routes=routes)
    assert len(lg.diversions) == 1
    d = lg.diversions[0]
    assert (d.node, d.link, d.old, d.new) == ("h", "hb", "via a", "via b")
    assert d.day == pytest.approx(FIRST_DAY) and d.saves_days == pytest.approx(SAVES)
    assert d.old_route == ["ha", "au"] and d.new_route == ["hb", "bu"]
    assert d.reason == "a closed from day 20.00 to day 30.00"
    out = Console(file=io.StringIO(), width=200)
    print_lineage(lg, scenario, out)
    text = out.file.getvalue()  # type: ignore[attr-defined]
    assert "rerouted at h: via a -> via b, saves 7.24 days; a closed from day 20.00 to day 30.00" in text
    # the lot's timeline goes on through b: transit on hb, service at b, delivered at 19.51 + 4
    assert lg.done_day == pytest.approx(FIRST_DAY + B_DAYS)
    assert [s.resource for s in lg.steps if not s.wait][-3:] == ["link hb", "node b", "link bu"]
    # a lot before the closure has no diversion, and a requirement lists those of all its lots
    assert lineage(table, lot=10, scenario=scenario, routes=routes).diversions == []
    req = lineage(table, requirement="R", scenario=scenario, routes=routes)
    assert [x.lot for x in req.diversions] == [r["lot"] for r in _rerouted(table)]


def test_diversions_without_a_route_table_name_the_next_link() -> None:
    log, _ = run(two_crossings("on_departure"))
    d = diversions(log.table(), None, None, lot=FIRST_LOT)[0]
    assert (d.old, d.new, d.reason) == ("its planned route", "by link hb", QUEUES)


def test_state_counts_diverted_lots(routed_run: tuple[Path, Any]) -> None:
    root, scenario = routed_run
    table = read_events(root, "baseline", 0)
    replay = Replay(table, scenario)
    # lots leave h at 19.51 and 19.76 before day 19.9: both diverted (a is closed when they would reach it)
    st = replay.at(19.9)
    assert st.diverted == {"h": 2} and st.diverted_to == {"hb": 2}
    assert st.to_dict()["diverted"] == {"h": 2}
    assert replay.at(19.0).diverted == {}
    assert "diverted" not in replay.at(19.0).to_dict()  # nothing new in a state without diversions
    n = len(_rerouted(table))
    assert replay.end().diverted == {"h": n}


def test_state_takes_a_lot_out_of_the_queue_it_leaves() -> None:
    """reroute_in_queue: a lot waiting for link ha that switches to hb no longer waits for ha."""
    from tests.sim.test_routing_policy import _random_link_closure

    table, _ = _random_link_closure(True)
    rows = table.to_pylist()
    first = min(r["t"] for r in rows if r["kind"] == "disruption_started" and r["link"] == "ha")
    moved = {r["lot"] for r in rows if r["kind"] == "rerouted" and r["t"] == first}
    assert moved
    st = Replay(table).at(first)
    assert not moved & set(st.nodes["h"].waiting.get("ha", []))
    assert {st.lots[lot].link for lot in moved} == {"hb"}  # on hb's vehicles (50 of them: no wait)


def test_sankey_by_route_counts_lots_on_a_hand_built_log() -> None:
    """Seven lots: three by a, two by b, one diverted and lost at b, one still on its way."""
    rows: list[tuple[str, int, str]] = []
    for lot, via, end in ((0, "a", "delivered"), (1, "b", "delivered"), (2, "a", "delivered"), (3, "a", "delivered")):
        rows += [("lot_produced", lot, "s"), ("arrived", lot, "h"), ("arrived", lot, via), ("arrived", lot, "u")]
        rows.append((end, lot, "u"))
    rows += [("lot_produced", 4, "s"), ("arrived", 4, "h"), ("rerouted", 4, "h"), ("arrived", 4, "b")]
    rows += [("lost", 4, "b"), ("lot_produced", 5, "s"), ("arrived", 5, "h")]
    rows += [("lot_produced", 6, "s"), ("arrived", 6, "h"), ("arrived", 6, "b"), ("arrived", 6, "u")]
    rows.append(("delivered", 6, "u"))
    t = pa.table(
        {
            "kind": [r[0] for r in rows],
            "lot": [r[1] for r in rows],
            "node": [r[2] for r in rows],
            "qty": [10] * len(rows),
        }
    )
    f = RouteFlows()
    for batch in t.to_batches(max_chunksize=4):  # a lot's rows across batches
        f.feed(batch)
    assert f.routes == {("s", "h", "a", "u"): [3, 30], ("s", "h", "b", "u"): [2, 20]}
    fig = route_sankey({k: [float(v[0]), float(v[1])] for k, v in f.routes.items()}, {"s": "supplier", "u": "unit"})
    assert fig is not None
    labels = fig["node"]["label"]
    assert labels == ["s", "s &gt; h &gt; a &gt; u", "s &gt; h &gt; b &gt; u", "u"] or labels == [
        "s",
        "s > h > a > u",
        "s > h > b > u",
        "u",
    ]
    flows = {
        (labels[a], labels[b]): v
        for a, b, v in zip(*(fig["link"][k] for k in ("source", "target", "value")), strict=True)
    }
    assert sorted(flows.values()) == [2, 2, 3, 3]


def test_sankey_by_route_of_the_two_crossings(routed_run: tuple[Path, Any]) -> None:
    root, _ = routed_run
    n = len(_rerouted(read_events(root, "baseline", 0)))
    routes = route_flows_of_run(root, "baseline", [0])
    # every diverted lot went by b, every other one by a; 200 lots of 10 units, none lost
    assert routes == {("s", "h", "a", "u"): [200.0 - n, 10 * (200.0 - n)], ("s", "h", "b", "u"): [n, 10.0 * n]}


def _crossing_bottleneck(a: Any, day: float) -> str:
    crossings = {k: v for k, v in a.periods.items() if k in ("node:a", "node:b")}
    for start, end, name, _, _ in momentary_bottlenecks(crossings, ["node:a", "node:b"]):
        if start <= day < end:
            return name
    return "(none)"


def test_bottlenecks_see_the_diversion(routed_run: tuple[Path, Any]) -> None:
    """Static: the closed crossing a holds the waiting lots; on_departure: the open crossing b binds."""
    static_s = two_crossings("static")
    log, result = run(static_s)
    static = analyse(log.table(), static_s, end=result.end_day)
    root, scenario = routed_run
    table = read_events(root, "baseline", 0)
    routed = analyse(table, scenario, end=60.0)
    n = len(_rerouted(table))
    # static: a is active (down with work waiting) through the closure, b never works
    pa_ = static.periods["node:a"]
    assert any(s <= CLOSED_FROM + 0.01 and e >= CLOSED_TO for s, e in pa_)
    assert len(static.periods["node:b"]) == 0 and static.diverted == {}
    # on_departure: b (1 lane, 2 lots/day, 4 arriving per day) is active from the first diverted
    # lot's arrival, 19.51 + 3 days of hb, until after the reopening
    pb = routed.periods["node:b"]
    assert pb[0][0] == pytest.approx(FIRST_DAY + 3.0) and pb[0][1] >= CLOSED_TO
    mid = (CLOSED_FROM + CLOSED_TO) / 2
    assert _crossing_bottleneck(static, mid) == "node:a"
    assert _crossing_bottleneck(routed, mid) == "node:b"
    assert routed.diverted == {"node:h": n, "link:hb": n}
    # the chunked analysis of the run directory sees the same, and the command's means
    part = analyse_part(root, "baseline", 0, scenario, end=60.0, batch_rows=97)
    assert dict(part.diverted) == {"node:h": n, "link:hb": n}
    assert np.allclose(part.periods["node:b"], pb)
    assert diverted_means([routed, part]) == {"node:h": float(n), "link:hb": float(n)}


def _log(days: list[tuple[float, int]]) -> pa.Table:
    return pa.table({"t": [d for d, _ in days], "kind": ["delivered"] * len(days), "qty": [q for _, q in days]})


def test_recovery_days_by_hand() -> None:
    # 10 units a day, the closure from day 28 stops deliveries on days 30..35 (lots already past it
    # arrive on 28 and 29); from day 36 on 10 a day again. Level 10; the week from 28 holds 20 units
    # (< 63): dropped on 28. The week from 35 holds 60 (< 63), from 36 70: recovered on 36.
    y = [(d + 0.5, 10) for d in range(30)] + [(d + 0.5, 10) for d in range(36, 80)]
    assert recovery_days(_log(y), 28.0, 34.0, 80.0) == 8.0
    # catching up at 20 a day from day 33: the week from 30 already holds 80 units, but nothing is
    # delivered on day 30: recovered on day 33, the first day with deliveries and a full week
    y = [(d + 0.5, 10) for d in range(28)] + [(d + 0.5, 20) for d in range(33, 80)]
    assert recovery_days(_log(y), 28.0, 33.0, 80.0) == 5.0
    # never below 90%: 0; never back in the run: inf; nothing before the closure: NaN
    assert recovery_days(_log([(d + 0.5, 10) for d in range(80)]), 28.0, 33.0, 80.0) == 0.0
    assert recovery_days(_log([(d + 0.5, 10) for d in range(30)]), 28.0, 33.0, 80.0) == math.inf
    assert math.isnan(recovery_days(_log([(d + 0.5, 10) for d in range(40, 80)]), 28.0, 33.0, 80.0))
    # level 9 (the 28 days before), so a week must hold 0.9 x 9 x 7 = 56.7 units: 8 a day on days
    # 28..39 is below (56), the week from 34 holds 6 x 8 + 9 = 57: recovered on 34
    y = (
        [(d + 0.5, 9) for d in range(28)]
        + [(d + 0.5, 8) for d in range(28, 40)]
        + [(d + 0.5, 9) for d in range(40, 80)]
    )
    assert recovery_days(_log(y), 28.0, 33.0, 80.0) == 6.0
