"""The report and the bottleneck analysis read event parts chunk by chunk: same numbers as whole.

Chunks are kept tiny here (tens of rows) so that instants, periods, pairs of rows and sums
straddle chunk boundaries many times; every streamed result is compared with the whole-table
function it replaces.
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from rundirs import make_run_dir

from results.bottlenecks.analysis import analyse
from results.bottlenecks.momentary import _momentary_heap, momentary_bottlenecks
from results.bottlenecks.stream import analyse_chunks, analyse_part
from results.costs import donor_budget_series
from results.kpis import compute_kpis, event_arrays, lot_lead_times
from results.lead_stream import LeadStream
from results.part_stream import StepAverage, part_chunks, table_chunks
from results.report_data import load_run, step_average
from results.store.reading import read_events
from scenarios.load import load
from sim.events import LOADED, QUEUED, SERVICE_STARTED
from sim.run import run

ROOT = Path(__file__).resolve().parents[2]
FIELDS = (
    "utilisation",
    "queue_mean",
    "wait_mean_days",
    "lead_time_share",
    "active_share",
    "sole_share",
    "shifting_share",
)


def _same_float(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b or abs(a - b) <= 1e-12 * max(abs(a), abs(b))


def assert_same_analysis(a: Any, b: Any) -> None:
    """Periods, momentary sequence, timeline and throughput equal; stats equal to rounding."""
    assert a.end == b.end and a.rule == b.rule
    assert list(a.periods) == list(b.periods)
    for name in a.periods:
        assert np.array_equal(a.periods[name], b.periods[name]), name
    assert a.momentary == b.momentary
    assert a.timeline == b.timeline
    assert a.throughput == b.throughput
    for x, y in zip(a.stats, b.stats, strict=True):
        assert x.resource == y.resource
        for f in FIELDS:
            assert _same_float(getattr(x, f), getattr(y, f)), (x.resource.name, f, getattr(x, f), getattr(y, f))


@pytest.fixture(scope="module", params=["border_disruption", "small_routers"])
def logged(request: pytest.FixtureRequest) -> tuple[Any, pa.Table, float]:
    """A library scenario (scheduled convoys, disruptions, agencies, donors), run once."""
    s = load(ROOT / "scenarios" / f"{request.param}.yaml")
    log, result = run(s)
    return s, log.table(), float(result.end_day)


@pytest.mark.parametrize("rule", ["saturated", "occupied"])
@pytest.mark.parametrize("rows", [13, 400])
def test_analysis_by_chunks_equals_the_whole_table(logged: tuple[Any, pa.Table, float], rule: Any, rows: int) -> None:
    s, table, end = logged
    kpis = compute_kpis(table, s, end)
    streamed = analyse_chunks(lambda columns: table_chunks(table, s, rows), s, end, rule, kpis)
    assert_same_analysis(streamed, analyse(table, s, end=end, rule=rule))


def test_lead_times_by_chunks_equal_lot_lead_times(logged: tuple[Any, pa.Table, float]) -> None:
    s, table, _ = logged
    lead = LeadStream()
    for ev in table_chunks(table, s, 11):
        lead.feed(ev)
    got = lead.lead_arrays()
    want = lot_lead_times(table)
    assert len(got["lot"]) == want.num_rows > 0
    for col in ("lot", "ref", "qty", "opened_day", "delivered_day", "lead_time_days", "production_days"):
        assert np.array_equal(got[col], want.column(col).to_numpy(), equal_nan=True), col
    for col in ("funding_days", "tender_days", "handling_days", "transit_days"):
        assert np.array_equal(got[col], want.column(col).to_numpy(), equal_nan=True), col
    assert set(lead.lead_arrays(["qty"])) == {"qty"}


def test_cold_rows_give_the_budget_series(logged: tuple[Any, pa.Table, float]) -> None:
    s, table, _ = logged
    lead = LeadStream()
    for ev in table_chunks(table, s, 17):
        lead.feed(ev)
    assert donor_budget_series(lead.cold(), s).equals(donor_budget_series(table, s))


def test_chunks_hold_whole_instants_in_time_order(logged: tuple[Any, pa.Table, float]) -> None:
    s, table, _ = logged
    chunks = list(table_chunks(table, s, 7))
    assert sum(len(c) for c in chunks) == table.num_rows
    for a, b in itertools.pairwise(chunks):
        assert a.t[-1] < b.t[0]  # an instant never straddles two chunks
    whole = event_arrays(table, s)
    assert np.array_equal(np.concatenate([c.node for c in chunks]), whole.node)
    assert np.array_equal(np.concatenate([c.kind for c in chunks]), whole.kind)


def test_time_going_back_is_refused() -> None:
    s = load(ROOT / "scenarios" / "small_routers.yaml")
    table = run(s)[0].table()
    t = table.column("t").to_numpy().copy()
    t[5], t[6] = t[6] + 1.0, t[5]
    bad = table.set_column(table.column_names.index("t"), "t", pa.array(t))
    with pytest.raises(ValueError, match="not in time order"):
        list(table_chunks(bad, s, 1000))


def test_step_average_by_chunks_is_bit_for_bit() -> None:
    rng = np.random.default_rng(7)
    edges = np.r_[np.arange(0.0, 50.0, 3.7), 50.0]
    for _ in range(200):
        t = np.sort(rng.choice(np.arange(0.0, 60.0, 0.25), size=int(rng.integers(0, 40))))
        t = np.repeat(t, rng.integers(1, 3, size=len(t)))  # several changes at one instant
        delta = rng.choice([-1.0, 1.0, 2.0], size=len(t))
        group = rng.integers(0, 3, size=len(t))
        sa = StepAverage(3, edges)
        instants = np.unique(t)
        cuts = np.sort(rng.choice(len(instants) + 1, size=min(4, len(instants) + 1), replace=False))
        for lo, hi in zip(np.r_[0, cuts], np.r_[cuts, len(instants)], strict=True):
            if hi <= lo:
                continue
            m = (t >= instants[lo]) & (t <= instants[hi - 1])
            perm = rng.permutation(np.flatnonzero(m))  # any order within a chunk
            sa.add(group[perm], t[perm], delta[perm])
        got = sa.result()
        for g in range(3):
            m = group == g
            assert np.array_equal(got[g], step_average(t[m], delta[m], edges)), g


def test_momentary_by_blocks_equals_the_heap_sweep(monkeypatch: pytest.MonkeyPatch) -> None:
    import results.bottlenecks.momentary as b

    monkeypatch.setattr(b, "_BLOCK", 3)  # blocks of instants cut stretches too
    rng = np.random.default_rng(3)
    for trial in range(400):
        periods = {}
        for r in range(int(rng.integers(1, 5))):
            k = int(rng.integers(0, 6))
            pts = np.sort(rng.choice(np.arange(0.0, 30.0, 1.0), size=2 * k, replace=False))
            periods[f"r{r}"] = pts.reshape(-1, 2)
        order = list(periods)[::-1] if trial % 2 else list(periods)
        assert momentary_bottlenecks(periods, order) == _momentary_heap(periods, order)


# --------------------------------------------------------------------------- run directories


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    s = load(ROOT / "scenarios" / "border_disruption.yaml")
    return make_run_dir(tmp_path_factory.mktemp("stream") / "run", s, ("baseline", "alternate_crossing"), 2)


def test_analyse_part_equals_analyse(run_dir: Path) -> None:
    s = load(run_dir / "scenario.resolved.yaml")
    table = read_events(run_dir, "baseline", 1)
    assert_same_analysis(analyse_part(run_dir, "baseline", 1, s, batch_rows=29), analyse(table, s))


def test_part_chunks_read_only_the_columns_asked_for(run_dir: Path) -> None:
    s = load(run_dir / "scenario.resolved.yaml")
    chunks = list(part_chunks(run_dir, "baseline", 0, s, ("item", "qty"), batch_rows=50))
    assert all((c.node == -1).all() and (c.lot == -1).all() for c in chunks)
    whole = event_arrays(read_events(run_dir, "baseline", 0), s)
    assert np.array_equal(np.concatenate([c.qty for c in chunks]), whole.qty)


def test_report_never_reads_a_whole_part(run_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import pyarrow.parquet as pq

    import results.store
    import results.store.reading

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a whole event part was read")

    monkeypatch.setattr(results.store, "read_events", refuse)
    monkeypatch.setattr(results.store.reading, "read_events", refuse)
    monkeypatch.setattr(pq.ParquetFile, "read", refuse)
    data = load_run(run_dir, batch_rows=64)
    assert data.replications == {"baseline": [0, 1], "alternate_crossing": [0, 1]}


def test_report_projections_by_chunks_equal_the_whole_part(run_dir: Path) -> None:
    small, whole = load_run(run_dir, batch_rows=37), load_run(run_dir, batch_rows=10**7)
    for s in small.strategies:
        for item in small.cum[s]:
            assert np.array_equal(small.cum[s][item], whole.cum[s][item])
            assert np.array_equal(small.weekly[s][item], whole.weekly[s][item])
    a, b = small.detail, whole.detail
    for name in ("wip", "queue", "budget"):
        x, y = getattr(a, name), getattr(b, name)
        assert list(x) == list(y) and all(np.array_equal(x[k], y[k]) for k in x), name
    assert [str(k) for k in a.util] == [str(k) for k in b.util]
    assert all(np.array_equal(a.util[k], b.util[k]) for k in a.util)
    assert list(a.backlog) == list(b.backlog) and a.backlog  # border_disruption has supplier lines
    for sup in a.backlog:
        assert all(np.array_equal(a.backlog[sup][i], b.backlog[sup][i]) for i in a.backlog[sup]), sup
    assert a.flows == b.flows and a.link_flow == b.link_flow
    assert all(np.array_equal(a.lead[k][0], b.lead[k][0]) for k in a.lead)
    for rep in a.analyses:
        assert_same_analysis(a.analyses[rep], b.analyses[rep])


def test_report_projections_equal_the_whole_table_functions(run_dir: Path) -> None:
    data = load_run(run_dir, batch_rows=41)
    s = data.resolved["baseline"]
    end = {int(p["replication"]): p.get("end_day") for p in data.manifest["parts"] if p["strategy"] == "baseline"}
    node = next(n for n in s.nodes if n.kind in ("hub", "border", "depot"))
    c = [n.id for n in s.nodes].index(node.id)
    units = np.zeros(len(s.links))
    leads = []
    for k, rep in enumerate(data.replications["baseline"]):
        ev = event_arrays(read_events(run_dir, "baseline", rep), s)
        assert_same_analysis(data.detail.analyses[rep], analyse(ev, s, end=end[rep]))
        leads.append(lot_lead_times(ev))
        qd, ss = ev.of(QUEUED), ev.of(SERVICE_STARTED)
        qd, ss = qd[(ev.node[qd] == c) & (ev.link[qd] < 0)], ss[ev.node[ss] == c]
        delta = np.r_[np.ones(len(qd)), -np.ones(len(ss))]
        assert np.array_equal(data.detail.queue[node.id][k], step_average(ev.t[np.r_[qd, ss]], delta, data.day_edges))
        ld = ev.of(LOADED)
        ld = ld[ev.link[ld] >= 0]
        units += np.bincount(ev.link[ld], weights=ev.qty[ld].astype(np.float64), minlength=len(s.links))
    for i, lk in enumerate(s.links):
        assert data.detail.link_flow[lk.id]["units"] == pytest.approx(units[i] / len(leads))
    lt = pa.concat_tables(leads)
    for item, (lead, qty) in data.detail.lead.items():
        m = np.asarray(lt.column("item").to_pylist()) == item
        assert np.array_equal(lead, lt.column("lead_time_days").to_numpy()[m])
        assert np.array_equal(qty, lt.column("qty").to_numpy()[m].astype(np.float64))
