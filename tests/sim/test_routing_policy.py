"""Routing that responds (issue 15): ``routing.policy: on_departure`` against numbers by hand.

The network: supplier ``s`` -> hub ``h`` -> two parallel crossings -> unit ``u``::

    s --sh 0.5 d--> h --ha 0.5 d--> a (4 lanes x 0.25 d) --au 0.5 d--> u
                      \\-hb 3 d----> b (1 lane  x 0.5 d)  --bu 0.5 d--/

The supplier makes a 10-unit lot every 0.25 days (40 units/day, 4 lots/day) for 50 days; the
hub serves each in 0.01 days. Crossing ``a`` (16 lots/day) is the short way; ``b`` is 2.5
days longer and clears 1 lane / 0.5 days = **2 lots = 20 units per day**. ``a`` is closed by a
scheduled disruption from day 20 to day 30 (2025-01-21, 10 days).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pyarrow as pa
import pytest

from scenarios.schema import Scenario
from sim.model.routing import _Departure
from sim.run import build_context, run
from tests.sim.conftest import table_sha256

CLOSED_FROM, CLOSED_TO = 20.0, 30.0
HA_TRANSIT = 0.5
B_LOTS_PER_DAY = 1 / 0.5  # one lane, 0.5 days a lot


def two_crossings(
    policy: str = "static",
    *,
    random_times: bool = False,
    closure: bool = True,
    reroute_in_queue: bool = False,
    extra: dict[str, Any] | None = None,
) -> Scenario:
    """The two-crossing scenario (see the module docstring)."""

    def days(v: float) -> Any:
        return {"dist": "exponential", "mean": v} if random_times else v

    link = {"mode": "road", "vehicles": 50, "capacity_m3": 1}
    data: dict[str, Any] = {
        "name": "two_crossings",
        "start": dt.date(2025, 1, 1),
        "horizon_days": 60,
        "items": [{"id": "box", "unit_value_eur": 1, "volume_m3": 0.1, "lot_size": 10}],
        "nodes": [
            {"id": "ua_state", "kind": "donor", "state_budget": True, "budget_eur": "unlimited"},
            {
                "id": "s",
                "kind": "supplier",
                "domestic": True,
                "products": [{"item": "box", "rate_per_day": 40, "unit_price_eur": 1}],
            },
            {"id": "h", "kind": "hub", "servers": 4, "service_days": days(0.01)},
            {"id": "a", "kind": "border", "servers": 4, "service_days": 0.25},
            {"id": "b", "kind": "border", "servers": 1, "service_days": 0.5},
            {"id": "u", "kind": "unit"},
        ],
        "links": [
            {"id": "sh", "from": "s", "to": "h", "transit_days": days(0.5), **link},
            {"id": "ha", "from": "h", "to": "a", "transit_days": HA_TRANSIT, **link},
            {"id": "hb", "from": "h", "to": "b", "transit_days": 3.0, **link},
            {"id": "au", "from": "a", "to": "u", "transit_days": 0.5, **link},
            {"id": "bu", "from": "b", "to": "u", "transit_days": 0.5, **link},
        ],
        "requirements": [
            {"id": "R", "unit": "u", "item": "box", "qty": 2000, "need_by": dt.date(2025, 2, 28), "channel": "domestic"}
        ],
        "disruptions": (
            [{"kind": "scheduled", "id": "close_a", "target": "a", "start": dt.date(2025, 1, 21), "duration_days": 10}]
            if closure
            else []
        ),
        "routing": {"policy": policy, "reroute_in_queue": reroute_in_queue},
    }
    data.update(extra or {})
    return Scenario.model_validate(data)


def rows(table: pa.Table, kind: str, node: str | None = None) -> list[dict[str, Any]]:
    """The rows of ``kind`` (at ``node``), as dicts, in log order."""
    out = [r for r in table.to_pylist() if r["kind"] == kind]
    return [r for r in out if node is None or r["node"] == node]


@pytest.fixture(scope="module")
def routed() -> tuple[pa.Table, Any]:
    log, result = run(two_crossings("on_departure"))
    return log.table(), result


def test_lots_are_diverted_during_the_closure_only(routed: tuple[pa.Table, Any]) -> None:
    table, result = routed
    assert result.status == "completed"
    diverted = rows(table, "rerouted")
    assert len(diverted) >= 10
    # the closure is known in advance: a lot leaving h from day 19.5 on would reach a closed crossing
    assert all(CLOSED_FROM - HA_TRANSIT <= r["t"] < CLOSED_TO for r in diverted)
    assert min(r["t"] for r in diverted) < CLOSED_FROM
    assert {(r["node"], r["link"]) for r in diverted} == {("h", "hb")}
    for r in diverted:
        assert result.routes[r["vehicle"]] == ["hb", "bu"]  # the new route, by id
        assert r["qty"] == 10 and r["ref"] == 0 and r["item"] == "box"
        assert r["value"] > 0  # days it expects to save
    assert result.counters["lots_rerouted"] == len(diverted)
    # each rerouted row is followed by the lot's queueing on the new link, at the same instant
    by_lot = {r["lot"]: r for r in table.to_pylist() if r["kind"] == "queued" and r["link"] == "hb"}
    assert set(by_lot) == {r["lot"] for r in diverted}
    assert all(by_lot[r["lot"]]["t"] == r["t"] and by_lot[r["lot"]]["seq"] > r["seq"] for r in diverted)


def test_static_waits_for_the_closed_crossing() -> None:
    log, result = run(two_crossings("static"))
    table = log.table()
    assert result.status == "completed"
    assert rows(table, "rerouted") == []
    assert rows(table, "service_finished", "b") == []
    assert result.routes == []


def test_no_diversion_without_a_closure() -> None:
    log, result = run(two_crossings("on_departure", closure=False))
    assert rows(log.table(), "rerouted") == []
    assert result.counters["units_delivered"] == 2000


def test_throughput_during_the_closure_is_the_open_crossings_capacity(routed: tuple[pa.Table, Any]) -> None:
    """From the first diverted lot's arrival at b to the reopening, b clears 2 lots/day (within one lot)."""
    table, _ = routed
    first = min(r["t"] for r in rows(table, "arrived", "b"))
    served = [r for r in rows(table, "service_finished", "b") if r["t"] <= CLOSED_TO]
    expected = B_LOTS_PER_DAY * (CLOSED_TO - first)  # 1 lane / 0.5 days, busy all along
    assert expected > 10
    assert abs(len(served) - expected) <= 1.0
    # and no service starts at a while it is closed (one under way at day 20 finishes)
    assert not [r for r in rows(table, "service_started", "a") if CLOSED_FROM <= r["t"] < CLOSED_TO]
    # units delivered while a is closed all came through b: at most b's 20 units/day
    through = [r for r in rows(table, "delivered") if CLOSED_FROM + 1 < r["t"] <= CLOSED_TO + 0.5]
    assert sum(r["qty"] for r in through) <= 10 * (B_LOTS_PER_DAY * (CLOSED_TO - CLOSED_FROM) + 1)


def test_on_departure_is_deterministic() -> None:
    s = two_crossings("on_departure", random_times=True)
    hashes = [table_sha256(run(s, "baseline", 0)[0].table()) for _ in range(2)]
    assert hashes[0] == hashes[1]
    assert table_sha256(run(s, "baseline", 1)[0].table()) != hashes[0]


def test_common_random_numbers_hold_between_policies() -> None:
    """Paired strategies static / on_departure: everything before the choice is the same draw for draw."""
    respond = [{"name": "respond", "overrides": {"routing.policy": "on_departure"}}]
    s = two_crossings("static", random_times=True, extra={"strategies": respond})
    static = run(s, "baseline", 3)[0].table()
    routed = run(s, "respond", 3)[0].table()

    def upstream(table: pa.Table) -> list[tuple[Any, ...]]:
        keep = {"lot_produced", "arrived", "service_started", "service_finished"}
        return [
            (r["t"], r["kind"], r["lot"], r["node"])
            for r in table.to_pylist()
            if r["kind"] in keep and r["node"] in ("s", "h")
        ]

    assert rows(routed, "rerouted")  # the policies do differ downstream
    assert len(upstream(static)) == 4 * 200  # 200 lots: made, arrived at h, served there
    assert upstream(static) == upstream(routed)  # random transit on sh and service at h: same draws


def test_static_build_adds_nothing_per_lot() -> None:
    """Under static the engine's per-lot path is exactly the old one: no wrapped callbacks, no stand-ins."""
    ctx = build_context(two_crossings("static"))
    for st in ctx.stations.values():
        assert st.cbs == [st._finish] and st.cbs_job == [st._finish_job]
    assert not any(isinstance(c, _Departure) for r in ctx.route_carriers.values() for c in r)
    routed = build_context(two_crossings("on_departure"))
    hub = routed.stations[routed.node_index["h"]]
    assert hub.cbs != [hub._finish]  # the hub is a decision node: its lots choose as they leave


def test_explicit_static_is_byte_identical_to_no_routing_block() -> None:
    plain = two_crossings("static", random_times=True)
    data = plain.model_dump(by_alias=True)
    del data["routing"]
    implicit = Scenario.model_validate(data)
    assert table_sha256(run(plain)[0].table()) == table_sha256(run(implicit)[0].table())


def test_a_supplier_with_two_links_out_chooses_when_its_lot_is_made() -> None:
    """Without the hub the supplier is the decision node: its lots choose as they are produced."""
    base = two_crossings("on_departure")
    data = base.model_dump(by_alias=True)
    data["nodes"] = [n for n in data["nodes"] if n["id"] != "h"]
    for lk in data["links"]:
        if lk["from"] == "h":
            lk["from"] = "s"
    data["links"] = [lk for lk in data["links"] if lk["id"] != "sh"]
    log, result = run(Scenario.model_validate(data))
    table = log.table()
    diverted = rows(table, "rerouted")
    assert diverted and {(r["node"], r["link"]) for r in diverted} == {("s", "hb")}
    assert all(CLOSED_FROM - HA_TRANSIT <= r["t"] < CLOSED_TO for r in diverted)
    produced = {r["lot"]: r for r in rows(table, "lot_produced")}
    assert all(produced[r["lot"]]["t"] == r["t"] for r in diverted)  # decided as it was made
    assert result.counters["units_delivered"] == 2000


def _random_link_closure(reroute_in_queue: bool) -> tuple[pa.Table, Any]:
    """Link ha runs a convoy a day (lots wait in its queue) and closes at random for 5 days."""
    base = two_crossings("on_departure", closure=False, reroute_in_queue=reroute_in_queue)
    data = base.model_dump(by_alias=True)
    for lk in data["links"]:
        if lk["id"] == "ha":
            lk["dispatch"] = {"rule": "scheduled", "every_days": 1.0, "first_day": 0.0}
    data["disruptions"] = [
        {
            "kind": "random",
            "id": "ha_cut",
            "target": "ha",
            "rate_per_year": 36.5,
            "duration_days": 5.0,
        }
    ]
    log, result = run(Scenario.model_validate(data), "baseline", 0)
    return log.table(), result


def test_random_closures_are_known_only_once_started() -> None:
    table, _ = _random_link_closure(False)
    starts = [r["t"] for r in rows(table, "disruption_started") if r["link"] == "ha"]
    assert starts and starts[0] > 1.0
    diverted = rows(table, "rerouted")
    assert diverted
    assert min(r["t"] for r in diverted) > starts[0]  # a lot leaving just before could not know
    assert all(r["t"] > starts[0] for r in diverted)


def test_reroute_in_queue_moves_the_waiting_lots_when_the_link_closes() -> None:
    table, _ = _random_link_closure(True)
    first = min(r["t"] for r in rows(table, "disruption_started") if r["link"] == "ha")
    moved = [r for r in rows(table, "rerouted") if r["t"] == first]
    assert moved  # lots waiting for ha's next convoy when it closed
    requeued = {r["lot"] for r in table.to_pylist() if r["kind"] == "queued" and r["link"] == "hb" and r["t"] == first}
    assert requeued == {r["lot"] for r in moved}
    # each of them had queued for ha before
    before = {r["lot"] for r in table.to_pylist() if r["kind"] == "queued" and r["link"] == "ha" and r["t"] < first}
    assert {r["lot"] for r in moved} <= before
    without, _ = _random_link_closure(False)
    assert not [r for r in rows(without, "rerouted") if r["t"] == first]
