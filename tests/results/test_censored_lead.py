"""Lead times over every required unit (Kaplan–Meier) and lateness, checked against hand-worked numbers.

Issue 17 item 1: a strategy that delivers less must not look better. The log below is built by
hand (names from ``scenarios/small_routers.yaml``), the run ends at day ``END = 100``:

==== ===== ====== ===== ======== ==================================================
ref  item  opened qty   need-by  what happens (due instant = need-by + 1)
==== ===== ====== ===== ======== ==================================================
0    router  0    10    29 (30)  lot 0: 4 at day 20 (lead 20, on time); lot 1: 4 at day
                                 50 (lead 50, 20 days late); 2 undelivered: censored
                                 at 100 - 0 = 100, late 100 - 30 = 70 days each
1    router 40     6    69 (70)  lot 2: 2 at day 70 (lead 30, on time, t <= due); lot 3:
                                 2 lost on day 60 (never delivered: at risk for ever);
                                 2 more undelivered: censored at 100 - 40 = 60. All 4
                                 undelivered units late 100 - 70 = 30 days each
2    charger 80     5   89 (90)  lot 4: 3 at day 85 (lead 5, on time); 2 undelivered:
                                 censored at 100 - 80 = 20, late 100 - 90 = 10 days each
3    charger  0     5    9 (10)  lot 5: 5 at day 30 (lead 30, 20 days late each)
==== ===== ====== ===== ======== ==================================================

Per item: router units_delivered 10, units_undelivered 2 + 4 = 6, units_late 4 + 2 + 4 = 10,
lateness 4·20 + 2·70 + 4·30 = 340 unit-days; charger delivered 8, undelivered 2, late 2 + 5 = 7,
lateness 2·10 + 5·20 = 120. Over all items: undelivered 8, late 17, lateness 460.

Kaplan–Meier (events before censorings at a tie; n at risk, d delivered, F = 1 - S):

router, 16 required units; censored 2 at 60, 2 at 100, 2 lost (never):

====  ==  ==  =======================  =====
t     n   d   S                        F
====  ==  ==  =======================  =====
20    16  4   12/16 = 0.75             0.25
30    12  2   0.75 · 10/12 = 0.625     0.375
50    10  4   0.625 · 6/10 = 0.375     0.625
====  ==  ==  =======================  =====

so p50 = 50 days (the delivered units alone give a median of 30), p90 = None (F stops at 0.625).

charger, 10 required units; censored 2 at 20:

====  ==  ==  =======================  =====
t     n   d   S                        F
====  ==  ==  =======================  =====
5     10  3   7/10                     0.3
30    5   5   0                        1
====  ==  ==  =======================  =====

(at 30 the 2 censored at 20 have left: n = 10 - 3 - 2), so p50 = p90 = 30.

All items, 26 required units; censored 2 at 20 (tie with the events at 20: still at risk), 2 at
60, 2 at 100, 2 never:

====  ==  ==  ===================================  ======
t     n   d   S                                    F
====  ==  ==  ===================================  ======
5     26  3   23/26                                0.1154
20    23  4   23/26 · 19/23 = 19/26                0.2692
30    17  7   19/26 · 10/17 = 95/221               0.5701
50    10  4   95/221 · 6/10 = 57/221               0.7421
====  ==  ==  ===================================  ======

so p50 = 30, p90 = None.
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from results.kpis import KPI_NAMES, compute_kpis, event_arrays, weighted_quantile
from results.kpis.late import fulfilment, km_curve, km_quantiles
from results.kpis.stream import KpiKey, KpiStream
from results.stats import kpi_domain
from scenarios.load import load
from scenarios.schema import Scenario
from sim.log import arrow_schema

ROOT = Path(__file__).resolve().parents[2]
END = 100.0

# (t, kind, lot, item, qty, node, link, ref, value)
_ROWS: list[tuple[float, str, int, str | None, int, str | None, str | None, int, float]] = [
    (0.0, "requirement_opened", -1, "router", 10, "brigade_east", None, 0, 29.0),
    (0.0, "requirement_opened", -1, "charger", 5, "brigade_south", None, 3, 9.0),
    (20.0, "delivered", 0, "router", 4, "brigade_east", None, 0, 0.0),
    (30.0, "delivered", 5, "charger", 5, "brigade_south", None, 3, 0.0),
    (40.0, "requirement_opened", -1, "router", 6, "brigade_east", None, 1, 69.0),
    (50.0, "delivered", 1, "router", 4, "brigade_east", None, 0, 0.0),
    (60.0, "lost", 3, "router", 2, None, "road_lviv_east", 1, 0.0),
    (70.0, "delivered", 2, "router", 2, "brigade_east", None, 1, 0.0),
    (80.0, "requirement_opened", -1, "charger", 5, "brigade_south", None, 2, 89.0),
    (85.0, "delivered", 4, "charger", 3, "brigade_south", None, 2, 0.0),
]


@pytest.fixture(scope="module")
def small() -> Scenario:
    return load(ROOT / "scenarios" / "small_routers.yaml")


def _log() -> pa.Table:
    cols = list(zip(*_ROWS, strict=True))
    schema = arrow_schema()
    data = {
        "seq": list(range(len(_ROWS))),
        "t": cols[0],
        "kind": cols[1],
        "lot": cols[2],
        "item": cols[3],
        "qty": cols[4],
        "node": cols[5],
        "link": cols[6],
        "vehicle": [-1] * len(_ROWS),
        "ref": cols[7],
        "value": cols[8],
    }
    arrays = [pa.array(data[f.name]).cast(f.type) for f in schema]
    return pa.Table.from_arrays(arrays, schema=schema)


def _kpis(small: Scenario) -> dict[KpiKey, float | None]:
    table = _log()
    return compute_kpis(event_arrays(table, small), small, END)


def test_new_kpis_are_named_and_have_domains() -> None:
    for kpi in ("lead_time_km_p50_days", "lead_time_km_p90_days", "units_undelivered", "units_late"):
        assert kpi in KPI_NAMES
    assert "beyond the horizon" in KPI_NAMES["lead_time_km_p90_days"]
    assert kpi_domain("lateness_unit_days").kind == "count" and kpi_domain("lateness_unit_days").low == 0.0
    assert kpi_domain("units_late").low == 0.0 and kpi_domain("lead_time_km_p50_days").low == 0.0


def test_counts_and_lateness_per_item_match_the_hand_table(small: Scenario) -> None:
    k = _kpis(small)
    want = {
        "router": {"units_delivered": 10, "units_undelivered": 6, "units_late": 10, "lateness_unit_days": 340.0},
        "charger": {"units_delivered": 8, "units_undelivered": 2, "units_late": 7, "lateness_unit_days": 120.0},
        None: {"units_delivered": 18, "units_undelivered": 8, "units_late": 17, "lateness_unit_days": 460.0},
    }
    for item, kpis in want.items():
        for kpi, value in kpis.items():
            assert k[(kpi, item, None, None)] == value, (kpi, item)


def test_kaplan_meier_percentiles_match_the_hand_table(small: Scenario) -> None:
    k = _kpis(small)
    assert k[("lead_time_km_p50_days", "router", None, None)] == 50.0
    assert k[("lead_time_km_p90_days", "router", None, None)] is None
    assert k[("lead_time_p50_days", "router", None, None)] == 30.0  # delivered units only: looks faster
    assert k[("lead_time_km_p50_days", "charger", None, None)] == 30.0
    assert k[("lead_time_km_p90_days", "charger", None, None)] == 30.0
    assert k[("lead_time_km_p50_days", None, None, None)] == 30.0
    assert k[("lead_time_km_p90_days", None, None, None)] is None


def test_kaplan_meier_curve_values_match_the_hand_table() -> None:
    # all items: events (lead, units) and censorings (day, units) of the module docstring
    t, f = km_curve(
        np.array([20.0, 50.0, 30.0, 5.0, 30.0]),
        np.array([4, 4, 2, 3, 5]),
        np.array([100.0, 60.0, 20.0, math.inf]),
        np.array([2, 2, 2, 2]),
    )
    assert t.tolist() == [5.0, 20.0, 30.0, 50.0]
    assert f.tolist() == pytest.approx([3 / 26, 7 / 26, 1 - 95 / 221, 1 - 57 / 221], rel=1e-12)


def test_kaplan_meier_without_censoring_is_the_weighted_quantile() -> None:
    rng = np.random.default_rng(7)
    for _ in range(50):
        n = int(rng.integers(1, 30))
        lead = rng.integers(0, 10, n).astype(np.float64)  # ties on purpose
        units = rng.integers(1, 5, n)
        got = km_quantiles(lead, units, np.zeros(0), np.zeros(0), (0.5, 0.9))
        assert got == [weighted_quantile(lead, units, 0.5), weighted_quantile(lead, units, 0.9)]


def test_the_hand_log_cut_anywhere_gives_the_same_kpis(small: Scenario) -> None:
    table = _log()
    whole = _kpis(small)
    for cut in range(1, table.num_rows):
        ks = KpiStream(small, END)
        for a, b in itertools.pairwise([0, cut, table.num_rows]):
            ks.feed(table.slice(a, b - a))
        got = ks.finish()
        assert list(got) == list(whole)
        for key in whole:
            if key[0] in ("lead_time_km_p50_days", "lead_time_km_p90_days", "units_late", "lateness_unit_days"):
                assert got[key] == whole[key], (cut, key)


def test_fulfilment_counts_lost_units_as_never_delivered() -> None:
    # one requirement of 10 units, due at 5; 6 delivered at 8, 3 lost, the run ends at 20
    f = fulfilment(
        np.array([10]),
        np.array([0.0]),
        np.array([5.0]),
        np.array([3]),
        20.0,
        np.array([0]),
        np.array([6]),
        np.array([8.0]),
    )
    assert (f.delivered[0], f.undelivered[0], f.never[0], f.censored[0], f.late[0]) == (6, 4, 3, 1, 10)
    assert f.lateness_unit_days[0] == 6 * 3 + 4 * 15
    assert f.censor_day[0] == 20.0
