"""Fixtures of the engine tests: run a scenario, write its log to Parquet, read it back, check it.

Every assertion of ``tests/sim`` reads the event log back from disk: ``run_logged`` runs the
engine, writes the table with ``pyarrow.parquet.write_table(..., compression="zstd")`` and
returns what ``pyarrow.parquet.read_table`` gives back, with the ``RunResult``. The checks of
the log's invariants live here too (handed to the tests as the ``invariants`` fixture), so the
library scenario, its strategies and the random scenarios of ``tests/strategies.py`` are all
held to the same rules.
"""

from __future__ import annotations

import hashlib
import itertools
import math
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from scenarios.load import load
from scenarios.schema import Scenario
from sim.events import COLUMNS, KINDS, LOT_KINDS
from sim.log import arrow_schema
from sim.run import RunResult, run

SMALL = Path(__file__).resolve().parents[2] / "scenarios" / "small_routers.yaml"
HANDLING = ("hub", "border", "depot")
EPS = 1e-9


# --------------------------------------------------------------------------- the log, from disk


@dataclass(frozen=True)
class Frame:
    """The columns of an event table as numpy arrays (nulls: ``None``, ``qty`` 0, ``value`` NaN)."""

    seq: np.ndarray
    t: np.ndarray
    kind: np.ndarray
    lot: np.ndarray
    item: np.ndarray
    qty: np.ndarray
    qty_null: np.ndarray
    node: np.ndarray
    link: np.ndarray
    vehicle: np.ndarray
    ref: np.ndarray
    value: np.ndarray

    @classmethod
    def of(cls, table: pa.Table) -> Frame:
        def ints(name: str) -> np.ndarray:
            return np.asarray(table.column(name).fill_null(0).to_numpy(), dtype=np.int64)

        def strs(name: str) -> np.ndarray:
            return np.array(table.column(name).to_pylist(), dtype=object)

        return cls(
            seq=ints("seq"),
            t=np.asarray(table.column("t").to_numpy(), dtype=np.float64),
            kind=strs("kind"),
            lot=ints("lot"),
            item=strs("item"),
            qty=ints("qty"),
            qty_null=np.asarray(table.column("qty").is_null().to_numpy(zero_copy_only=False), dtype=bool),
            node=strs("node"),
            link=strs("link"),
            vehicle=ints("vehicle"),
            ref=ints("ref"),
            value=np.asarray(table.column("value").fill_null(math.nan).to_numpy(), dtype=np.float64),
        )

    def __len__(self) -> int:
        return len(self.seq)

    def where(self, kind: str, **eq: Any) -> np.ndarray:
        """Row indexes of ``kind`` whose columns equal the given values."""
        m = self.kind == kind
        for col, v in eq.items():
            m &= getattr(self, col) == v
        return np.flatnonzero(m)


@dataclass
class Logged:
    """One replication: the resolved scenario, the run result and the table read back from disk."""

    scenario: Scenario
    result: RunResult
    table: pa.Table
    path: Path
    cache: dict[str, Any] = field(default_factory=dict)

    @cached_property
    def frame(self) -> Frame:
        return Frame.of(self.table)

    @cached_property
    def sha256(self) -> str:
        return table_sha256(self.table)


def table_sha256(table: pa.Table) -> str:
    """Canonical hash of an event table: dictionary columns as strings, one chunk, Arrow IPC bytes."""
    cols = []
    for f in table.schema:
        col = table.column(f.name)
        if pa.types.is_dictionary(f.type):
            col = col.cast(pa.string())
        cols.append(col.combine_chunks())
    canon = pa.Table.from_arrays(cols, names=table.column_names)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, canon.schema) as w:
        w.write_table(canon)
    return hashlib.sha256(sink.getvalue().to_pybytes()).hexdigest()


Runner = Callable[..., Logged]


def make_runner(directory: Path) -> Runner:
    """A function that runs a scenario and returns its log as read back from ``directory``."""
    counter = itertools.count()

    def run_logged(
        scenario: Scenario,
        strategy: str = "baseline",
        replication: int = 0,
        seed: int | None = None,
        max_events: int | None = None,
        rows_per_batch: int = 2**19,
    ) -> Logged:
        log, result = run(
            scenario, strategy, replication, seed=seed, max_events=max_events, rows_per_batch=rows_per_batch
        )
        path = directory / f"{next(counter):05d}-{scenario.name}-{strategy}-rep{replication}.parquet"
        pq.write_table(log.table(), path, compression="zstd")
        table = pq.read_table(path)
        return Logged(scenario.with_strategy(strategy), result, table, path)

    return run_logged


@pytest.fixture
def run_logged(tmp_path: Path) -> Runner:
    """Run the engine, write the log to ``tmp_path`` as zstd Parquet, read it back."""
    return make_runner(tmp_path)


@pytest.fixture(scope="session")
def run_logged_shared(tmp_path_factory: pytest.TempPathFactory) -> Runner:
    """``run_logged`` for session fixtures and hypothesis tests (one temp dir per session)."""
    return make_runner(tmp_path_factory.mktemp("logs"))


@pytest.fixture(scope="session")
def small() -> Scenario:
    """The library's small scenario."""
    return load(SMALL)


@pytest.fixture(scope="session")
def small_logs(small: Scenario, run_logged_shared: Runner) -> dict[str, Logged]:
    """The small scenario under the baseline and each of its strategies (run once per session)."""
    names = ["baseline", *(s.name for s in small.strategies)]
    return {name: run_logged_shared(small, name) for name in names}


# --------------------------------------------------------------------------- invariants


def check_rows(lg: Logged) -> None:
    """Row layout: columns, ``seq``, ``t``, ``qty``, ``lot``, kinds."""
    f, res = lg.frame, lg.result
    kinds = {n.id: n.kind for n in lg.scenario.nodes}
    assert lg.table.column_names == list(COLUMNS)
    assert lg.table.schema.equals(arrow_schema()), lg.table.schema
    assert len(f) == res.rows
    assert np.array_equal(f.seq, np.arange(len(f))), "seq is not 0, 1, 2, ..."
    assert np.all(np.isfinite(f.t))
    if len(f):
        assert np.all(np.diff(f.t) >= 0), "t decreases"
        assert f.t[0] >= 0
        assert f.t[-1] <= lg.scenario.horizon_days
        assert f.t[-1] <= res.end_day + EPS
    assert set(f.kind.tolist()) <= set(KINDS)
    assert np.all(f.qty[~f.qty_null] > 0), "qty <= 0 where not null"
    # a strike's destroyed supplier stock is a lost row about no lot (sim.model.disruptions)
    stock_lost = (f.kind == "lost") & (f.lot < 0)
    assert all(kinds[x] == "supplier" for x in f.node[stock_lost]), "stock lost away from a supplier"
    assert np.all(f.ref[stock_lost] == -1)
    is_lot = np.isin(f.kind, sorted(LOT_KINDS)) & ~stock_lost
    assert np.all(f.lot[is_lot] >= 0), "a lot row without a lot"
    assert np.all(f.lot[~is_lot] == -1), "a lot id on a row that is not about a lot"
    assert not np.any(f.qty_null[is_lot]), "a lot row without qty"
    assert all(x is not None for x in f.item[is_lot]), "a lot row without item"
    assert np.all(f.ref[is_lot] >= 0), "a lot row without requirement"
    # lots lost at a node (a strike) are on no vehicle; lost in transit they are
    with_vehicle = np.isin(f.kind, ["loaded", "departed", "returned", "arrived", "lost"]) & ~at_node_lost(f)
    assert np.all(f.vehicle[with_vehicle] >= 0)
    assert np.all(f.vehicle[~with_vehicle] == -1)


def at_node_lost(f: Any) -> np.ndarray:
    """``lost`` rows at a node (a strike: ``node`` set), as opposed to lost in transit (``node`` null)."""
    return (f.kind == "lost") & np.array([x is not None for x in f.node], dtype=bool)


def node_link_wip(lg: Logged) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], dict[tuple[str, str], int]]:
    """Cumulative in - out per node and per link (lots, after every row of theirs) and final units.

    in at a node: ``lot_produced`` (supplier) or ``arrived``; out: ``loaded`` from it or
    ``delivered`` at it. On a link: in = ``loaded``, out = ``arrived`` or ``lost``.
    Returns per-node and per-link cumsums of lots and the final units per (place, item).
    """
    f = lg.frame
    node_delta = np.zeros(len(f), dtype=np.int64)
    link_delta = np.zeros(len(f), dtype=np.int64)
    node_delta[(f.kind == "lot_produced") | (f.kind == "arrived")] = 1
    node_lost = at_node_lost(f)
    node_delta[(f.kind == "loaded") | (f.kind == "delivered") | (node_lost & (f.lot >= 0))] = -1
    link_delta[f.kind == "loaded"] = 1
    link_delta[(f.kind == "arrived") | ((f.kind == "lost") & ~node_lost)] = -1
    nodes: dict[str, np.ndarray] = {}
    links: dict[str, np.ndarray] = {}
    units: dict[tuple[str, str], int] = defaultdict(int)
    for n in lg.scenario.nodes:
        m = (f.node == n.id) & (node_delta != 0)
        nodes[n.id] = np.cumsum(node_delta[m])
        for it in lg.scenario.items:
            mi = m & (f.item == it.id)
            units[(n.id, it.id)] = int(np.sum(node_delta[mi] * f.qty[mi]))
    for lk in lg.scenario.links:
        m = (f.link == lk.id) & (link_delta != 0)
        links[lk.id] = np.cumsum(link_delta[m])
        for it in lg.scenario.items:
            mi = m & (f.item == it.id)
            units[(lk.id, it.id)] = int(np.sum(link_delta[mi] * f.qty[mi]))
    return nodes, links, units


def check_flows(lg: Logged) -> None:
    """WIP >= 0 everywhere after every event; conservation of units per item; the engine agrees."""
    f, res, s = lg.frame, lg.result, lg.scenario
    nodes, links, units = node_link_wip(lg)
    for place, cum in (*nodes.items(), *links.items()):
        assert np.all(cum >= 0), f"{place}: more lots out than in"
    for (place, item), q in units.items():
        assert q >= 0, f"{place}/{item}: more units out than in"
    # the engine's own end state: lots at stations and waiting for links
    end = res.end
    out_of: dict[str, list[str]] = defaultdict(list)
    for lk in s.links:
        out_of[lk.from_].append(lk.id)
    for n in s.nodes:
        final = int(nodes[n.id][-1]) if len(nodes[n.id]) else 0
        waiting = sum(end["waiting_for_link"].get(lk, 0) for lk in out_of[n.id])
        if n.kind in HANDLING:
            assert final == end["at_stations"][n.id] + waiting, n.id
        elif n.kind == "supplier":
            assert final == waiting, n.id
        elif n.kind == "unit":
            assert final == 0, n.id
    # conservation per item: ordered == delivered + lost + backlog + in network
    for it in s.items:
        mi = f.item == it.id

        def total(kind: str, mi: np.ndarray = mi) -> int:
            return int(f.qty[mi & (f.kind == kind)].sum())

        ordered, produced = total("contract_awarded"), total("lot_produced")
        delivered = total("delivered")
        lost = int(f.qty[mi & (f.kind == "lost") & (f.lot >= 0)].sum())  # lots (not destroyed supplier stock)
        backlog = ordered - produced
        in_network = sum(q for (_, item), q in units.items() if item == it.id)
        assert backlog >= 0, f"{it.id}: produced {produced} > ordered {ordered}"
        assert produced == delivered + lost + in_network, it.id
        assert ordered == delivered + lost + backlog + in_network, it.id
        if res.status == "completed":
            assert backlog == 0 and in_network == 0, it.id
    c = res.counters
    assert c.get("units_ordered", 0) == int(f.qty[f.kind == "contract_awarded"].sum())
    assert c.get("units_produced", 0) == int(f.qty[f.kind == "lot_produced"].sum())
    assert c.get("units_delivered", 0) == int(f.qty[f.kind == "delivered"].sum())
    assert c.get("units_lost", 0) == int(f.qty[f.kind == "lost"].sum())
    assert c.get("lots_produced", 0) == len(f.where("lot_produced"))
    assert c.get("lots_done", 0) == len(f.where("delivered")) + int(np.count_nonzero((f.kind == "lost") & (f.lot >= 0)))


def check_requirements(lg: Logged) -> None:
    """Per requirement: contracts sum to its quantity, it closes once, when delivered + lost = qty."""
    f, res, s = lg.frame, lg.result, lg.scenario
    for k, r in enumerate(s.requirements):
        mine = f.ref == k
        opened = f.where("requirement_opened", ref=k)
        assert len(opened) <= 1
        ordered = int(f.qty[mine & (f.kind == "contract_awarded")].sum())
        delivered = int(f.qty[mine & (f.kind == "delivered")].sum())
        lost = int(f.qty[mine & (f.kind == "lost")].sum())
        # short of money, a requirement may stay part-contracted (the rest waits for tranches)
        assert 0 <= ordered <= r.qty, (r.id, ordered)
        assert res.end["requirements"][r.id] == {
            "ordered": ordered,
            "delivered": delivered,
            "lost": lost,
            "closed": bool(len(f.where("requirement_filled", ref=k))),
        }
        if len(opened) == 0:
            assert not np.any(mine), f"{r.id}: rows before it opened"
            continue
        assert int(f.qty[opened[0]]) == r.qty
        assert np.all(np.flatnonzero(mine) >= opened[0]), f"{r.id}: rows before requirement_opened"
        awarded = f.where("contract_awarded", ref=k)
        committed = f.where("funds_committed", ref=k)
        if len(awarded):  # every channel is paid (issue 13): funded before the first contract
            assert len(committed) and committed.min() < awarded.min(), f"{r.id}: ordered before funded"
        filled = f.where("requirement_filled", ref=k)
        assert len(filled) <= 1
        if len(filled):
            (i,) = filled
            assert delivered + lost == r.qty
            before = mine & (f.seq < i)
            assert (
                int(f.qty[before & (f.kind == "delivered")].sum()) + int(f.qty[before & (f.kind == "lost")].sum())
                == r.qty
            ), f"{r.id}: filled before its last lot"
            if delivered:
                assert int(f.qty[i]) == delivered
            else:
                assert f.qty_null[i]
            assert f.value[i] == pytest.approx(f.t[i] - (s.day_of(r.need_by) + 1))  # past the end of the date
        else:
            assert delivered + lost < r.qty or ordered == 0
        if res.status == "completed":
            assert len(filled) == 1, f"{r.id}: open in a completed run"


def check_lot_paths(lg: Logged) -> None:
    """Each lot's rows form a valid path: produced, then queue/load/arrive/serve..., delivered or lost."""
    f, s = lg.frame, lg.scenario
    ends = {lk.id: (lk.from_, lk.to) for lk in s.links}
    kinds = {n.id: n.kind for n in s.nodes}
    rows: dict[int, list[int]] = defaultdict(list)
    for j in np.flatnonzero(f.lot >= 0).tolist():
        rows[int(f.lot[j])].append(j)
    assert sorted(rows) == list(range(len(rows))), "lot ids are not 0..n-1"
    unfinished = 0
    for lot, idx in rows.items():
        first = idx[0]
        assert f.kind[first] == "lot_produced", (lot, f.kind[first])
        at = f.node[first]
        assert kinds[at] == "supplier"
        req = s.requirements[int(f.ref[first])]
        assert f.item[first] == req.item
        assert len({int(f.qty[i]) for i in idx}) == 1, f"lot {lot} changes qty"
        assert len({f.item[i] for i in idx}) == 1 and len({int(f.ref[i]) for i in idx}) == 1
        state, link, vehicle = "out", None, -1
        visited = {at}
        for i in idx[1:]:
            k, node, lk = f.kind[i], f.node[i], f.link[i]
            where = f"lot {lot} row {i} ({k} in state {state})"
            if k == "lost" and node is not None:  # destroyed at a node by a strike
                assert node == at and state in ("waiting", "in_queue", "out"), where
                assert lk == (link if state == "waiting" else None), where
                state = "done"
            elif state == "out":
                assert k == "queued" and lk is not None and ends[lk][0] == at and node == at, where
                state, link = "waiting", lk
            elif state == "waiting":
                assert k == "loaded" and lk == link and node == at and f.vehicle[i] >= 0, where
                state, vehicle = "onboard", int(f.vehicle[i])
            elif state == "onboard":
                assert lk == link and int(f.vehicle[i]) == vehicle, where
                if k == "lost":
                    state = "done"
                    continue
                assert k == "arrived" and node == ends[link][1], where
                at = node
                assert at not in visited, f"lot {lot} visits {at} twice"
                visited.add(at)
                state = "unit" if kinds[at] == "unit" else "station"
                assert state == "unit" or kinds[at] in HANDLING, where
            elif state == "unit":
                assert k == "delivered" and node == at and at == req.unit, where
                state = "done"
            elif state == "station":
                assert k == "queued" and node == at and lk is None, where
                state = "in_queue"
            elif state == "in_queue":
                assert k == "service_started" and node == at, where
                state = "in_service"
            elif state == "in_service":
                assert k == "service_finished" and node == at, where
                state = "out"
            else:
                raise AssertionError(f"lot {lot}: row after it was delivered or lost: {where}")
        if state != "done":
            unfinished += 1
    c = lg.result.counters
    assert unfinished == c.get("lots_produced", 0) - c.get("lots_done", 0)
    if lg.result.status == "completed":
        assert unfinished == 0


@dataclass(frozen=True)
class Departure:
    """One vehicle trip reconstructed from the log."""

    link: str
    vehicle: int
    t: float
    seq: int
    lots: tuple[int, ...]
    qty: int
    volume_m3: float


def departures(lg: Logged) -> list[Departure]:
    """Every trip of every vehicle, checking the vehicle's cycle on the way.

    A vehicle is loaded (one or more ``loaded`` rows), ``departed`` with the sum of their qty,
    its lots ``arrived`` or are ``lost`` with the same vehicle, and it ``returned`` empty before
    it is loaded again.
    """
    if "departures" in lg.cache:
        return lg.cache["departures"]
    f, s = lg.frame, lg.scenario
    spec = {lk.id: lk for lk in s.links}
    volume = {it.id: it.volume_m3 for it in s.items}
    loading: dict[tuple[str, int], list[int]] = defaultdict(list)
    onboard: dict[tuple[str, int], set[int]] = {}
    out: list[Departure] = []
    sel = np.flatnonzero(np.isin(f.kind, ["loaded", "departed", "arrived", "lost", "returned"]) & ~at_node_lost(f))
    for i in sel:
        k, key = f.kind[i], (f.link[i], int(f.vehicle[i]))
        assert key[0] is not None and 0 <= key[1] < spec[key[0]].vehicles, (i, key)
        if k == "loaded":
            assert key not in onboard, f"row {i}: vehicle {key} loaded while away"
            loading[key].append(int(i))
        elif k == "departed":
            assert key not in onboard, f"row {i}: vehicle {key} departs twice"
            rows = loading.pop(key, [])
            assert rows, f"row {i}: vehicle {key} departs empty"
            qty = int(f.qty[rows].sum())
            assert not f.qty_null[i] and int(f.qty[i]) == qty, f"row {i}: departed qty != loaded qty"
            vol = float(sum(f.qty[j] * volume[f.item[j]] for j in rows))
            lots = tuple(int(f.lot[j]) for j in rows)
            onboard[key] = set(lots)
            out.append(Departure(key[0], key[1], float(f.t[i]), int(i), lots, qty, vol))
        elif k in ("arrived", "lost"):
            assert key in onboard and int(f.lot[i]) in onboard[key], f"row {i}: lot not on vehicle {key}"
            onboard[key].discard(int(f.lot[i]))
        else:
            assert key in onboard and not onboard[key], f"row {i}: vehicle {key} returns before unloading"
            del onboard[key]
    lg.cache["departures"] = out
    return out


def check_vehicles(lg: Logged) -> None:
    """Vehicle cycles are consistent and no vehicle departs over its capacity."""
    cap = {lk.id: lk.capacity_m3 for lk in lg.scenario.links}
    for d in departures(lg):
        assert d.volume_m3 <= cap[d.link] * (1 + EPS) + EPS, d


def station_presence(lg: Logged, station: str) -> np.ndarray:
    """Lots counted against ``station``'s storage after every row that changes it.

    A lot counts from the moment it is loaded towards the station until it is loaded out of it
    (or lost on the way in).
    """
    f, s = lg.frame, lg.scenario
    inbound = [lk.id for lk in s.links if lk.to == station]
    delta = np.zeros(len(f), dtype=np.int64)
    delta[(f.kind == "loaded") & np.isin(f.link, inbound)] = 1
    delta[(f.kind == "lost") & np.isin(f.link, inbound) & ~at_node_lost(f)] = -1
    delta[at_node_lost(f) & (f.node == station)] = -1
    delta[(f.kind == "loaded") & (f.node == station)] = -1
    return np.cumsum(delta[delta != 0])


def check_storage_caps(lg: Logged) -> None:
    """No capped station ever holds (or has on its way in) more lots than its cap."""
    for n in lg.scenario.nodes:
        cap = getattr(n, "storage_cap_lots", None)
        if cap is None:
            continue
        present = station_presence(lg, n.id)
        assert np.all(present >= 0)
        assert np.all(present <= cap), f"{n.id}: {int(present.max())} lots > cap {cap}"


def check_invariants(lg: Logged) -> None:
    """Every invariant of the log (the checks above)."""
    assert lg.result.status in ("completed", "incomplete", "deadlocked"), (lg.result.status, lg.result.error)
    check_rows(lg)
    check_flows(lg)
    check_requirements(lg)
    check_lot_paths(lg)
    check_vehicles(lg)
    check_storage_caps(lg)


@pytest.fixture(scope="session")
def invariants() -> Callable[[Logged], None]:
    """The invariant checker (``check_invariants``)."""
    return check_invariants


@pytest.fixture(scope="session")
def trips() -> Callable[[Logged], list[Departure]]:
    """The trip reconstruction (``departures``)."""
    return departures


@pytest.fixture(scope="session")
def presence() -> Callable[[Logged, str], np.ndarray]:
    """Lots counted against a station's storage after each change (``station_presence``)."""
    return station_presence


@pytest.fixture(scope="session")
def wip() -> Callable[[Logged], tuple[dict[str, np.ndarray], dict[str, np.ndarray], dict[tuple[str, str], int]]]:
    """Per-node/per-link WIP cumsums (``node_link_wip``)."""
    return node_link_wip


@pytest.fixture(scope="session", name="table_sha256")
def table_sha256_fixture() -> Callable[[pa.Table], str]:
    """The canonical hash of an event table (``table_sha256``)."""
    return table_sha256
