"""Costs from the log (issue 13 items 5-7): the money KPIs against numbers computed by hand.

- small_routers, run into a run directory the way ``aidflow run`` writes it: contract value,
  agency fees, transport cost, EUR per delivered unit (overall, per item, per channel) and each
  donor's committed / spent / left, from the scenario's prices, fee share, budgets and link
  costs. Trips and units are counted from the raw event rows on disk (``departed`` per link,
  ``delivered`` per item), never from the KPI code.
- a tiny scenario whose every event is known (stock at day 0, 10 a day after, one lot per
  trip): transport cost, the pledges KPI and per-donor spending.
- the library follows its sources: the routers are Latvia's, the charging stations the
  coalition's, the frozen-asset interest pays for production in Ukraine only, and the
  IT coalition's 4th and 5th deliveries cost between EUR 10 M and 12 M.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from results.costs import donor_budget_series
from results.kpis import KPI_NAMES, compute_kpis
from results.store.reading import read_events
from scenarios.load import load
from scenarios.schema import Scenario
from sim.run import run
from tests.rundirs import make_run_dir

ROOT = Path(__file__).resolve().parents[2]
LIB = ROOT / "scenarios"


def _kpis(run_dir: Path) -> dict[tuple[str, str | None, str | None, str | None], float | None]:
    t = pq.read_table(run_dir / "kpis.parquet").to_pylist()
    return {(r["kpi"], r["item"], r["node"], r["link"]): r["value"] for r in t}


def _count(table: pa.Table, kind: str, by: str, weight: str | None = None) -> dict[str, float]:
    sub = table.filter(pc.equal(table["kind"], kind))
    out: dict[str, float] = {}
    for row in sub.to_pylist():
        out[row[by]] = out.get(row[by], 0.0) + (row[weight] if weight else 1.0)
    return out


@pytest.fixture(scope="module")
def routers(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Scenario]:
    s = load(LIB / "small_routers.yaml")
    return make_run_dir(tmp_path_factory.mktemp("routers"), s), s


def test_small_routers_costs_equal_hand_computed(routers: tuple[Path, Scenario]) -> None:
    run_dir, _ = routers
    k = _kpis(run_dir)
    ev = read_events(run_dir, "baseline", 0)
    trips = _count(ev, "departed", "link")
    delivered = _count(ev, "delivered", "item", "qty")

    # contracts: 1,000 routers at riga_networks' EUR 77 (R1 600 + R2 400) and 318 chargers at
    # kyiv_power's EUR 1,400 (R3, domestic): 77,000 + 445,200 = 522,200
    assert k[("contract_value_eur", None, None, None)] == pytest.approx(522_200.0)
    assert k[("contract_value_eur", "router", None, None)] == pytest.approx(77_000.0)
    assert k[("contract_value_eur", "charger", None, None)] == pytest.approx(445_200.0)
    # fees: nspa's 2 % on the agency contracts (the routers): 0.02 * 77,000 = 1,540; none on domestic
    assert k[("agency_fees_eur", None, None, None)] == pytest.approx(1_540.0)
    assert k[("agency_fees_eur", "charger", None, None)] == pytest.approx(0.0)

    # transport: rail EUR 4,000 a trip; road EUR 2 per km of the route:
    # hub->border 90 km = 180, border->Lviv 75 km = 150, Lviv->east 1,200 km = 2,400,
    # Lviv->south 900 km = 1,800, Kyiv->Lviv 540 km = 1,080 (per departure)
    per_trip = {
        "rail_lv_pl": 4_000.0,
        "road_hub_border": 180.0,
        "road_border_lviv": 150.0,
        "road_lviv_east": 2_400.0,
        "road_lviv_south": 1_800.0,
        "road_kyiv_lviv": 1_080.0,
    }
    assert set(trips) <= set(per_trip) and trips["rail_lv_pl"] > 0
    for link, eur in per_trip.items():
        assert k[("transport_cost_eur", None, None, link)] == pytest.approx(trips.get(link, 0) * eur)
    transport = sum(trips.get(link, 0) * eur for link, eur in per_trip.items())
    assert k[("transport_cost_eur", None, None, None)] == pytest.approx(transport)

    # per item: routers alone use rail, hub->border, border->Lviv and Lviv->east, chargers alone
    # Kyiv->Lviv; Lviv->south carries both, shared by volume loaded (routers 0.01 m3, chargers 0.08)
    south = ev.filter(pc.and_(pc.equal(ev["kind"], "loaded"), pc.equal(ev["link"], "road_lviv_south")))
    m3 = {"router": 0.0, "charger": 0.0}
    for row in south.to_pylist():
        m3[row["item"]] += row["qty"] * {"router": 0.01, "charger": 0.08}[row["item"]]
    south_eur = trips.get("road_lviv_south", 0) * 1_800.0
    router_transport = (
        trips.get("rail_lv_pl", 0) * 4_000.0
        + trips.get("road_hub_border", 0) * 180.0
        + trips.get("road_border_lviv", 0) * 150.0
        + trips.get("road_lviv_east", 0) * 2_400.0
        + south_eur * m3["router"] / (m3["router"] + m3["charger"])
    )
    assert k[("transport_cost_eur", "router", None, None)] == pytest.approx(router_transport)
    assert k[("transport_cost_eur", "charger", None, None)] == pytest.approx(transport - router_transport)

    # EUR per delivered unit: overall, per item, and per channel (routers agency, chargers domestic)
    total = 522_200.0 + 1_540.0 + transport
    units = delivered["router"] + delivered["charger"]
    assert k[("total_cost_eur", None, None, None)] == pytest.approx(total)
    assert k[("cost_per_delivered_unit_eur", None, None, None)] == pytest.approx(total / units)
    router_unit = (77_000.0 + 1_540.0 + router_transport) / delivered["router"]
    charger_unit = (445_200.0 + transport - router_transport) / delivered["charger"]
    assert k[("cost_per_delivered_unit_eur", "router", None, None)] == pytest.approx(router_unit)
    assert k[("cost_per_delivered_unit_eur_agency", "router", None, None)] == pytest.approx(router_unit)
    assert k[("cost_per_delivered_unit_eur_domestic", None, None, None)] == pytest.approx(charger_unit)

    # donors: Latvia pays the routers plus the fee (78,540 of 80,000); Luxembourg the chargers
    # (445,200 of 15 M); Estonia nothing (100,000 + the 500,000 tranche left)
    assert k[("budget_spent_eur", None, "latvia", None)] == pytest.approx(78_540.0)
    assert k[("budget_left_eur", None, "latvia", None)] == pytest.approx(1_460.0)
    assert k[("budget_spent_eur", None, "luxembourg", None)] == pytest.approx(445_200.0)
    assert k[("budget_left_eur", None, "luxembourg", None)] == pytest.approx(15_000_000.0 - 445_200.0)
    assert k[("budget_spent_eur", None, "estonia", None)] == pytest.approx(0.0)
    assert k[("budget_left_eur", None, "estonia", None)] == pytest.approx(600_000.0)
    committed, released = (
        k[("budget_committed_eur", None, "luxembourg", None)],
        k[("budget_released_eur", None, "luxembourg", None)],
    )
    assert committed is not None and released is not None
    assert committed - released == pytest.approx(445_200.0)

    # the burn-down series ends where the KPIs do
    series = donor_budget_series(ev, load(LIB / "small_routers.yaml")).to_pylist()
    last = {r["donor"]: r for r in series}
    assert last["latvia"]["net_committed_eur"] == pytest.approx(78_540.0)
    assert last["estonia"]["added_eur"] == pytest.approx(600_000.0)
    assert all(kpi in KPI_NAMES for kpi, *_ in k)


def test_report_burn_down_per_donor(routers: tuple[Path, Scenario]) -> None:
    """The report's burn-down: per donor, budget received and committed − released over time."""
    from results.report_data import load_run
    from results.report_money import budget_burn_down

    data = load_run(routers[0])
    fig = budget_burn_down(data)
    assert fig is not None
    lines = {t["name"]: t["y"] for t in fig["data"]}
    # Latvia: EUR 80,000 from day 0; 78,540 committed net by the end (routers plus the fee)
    assert lines["latvia: budget + tranches"][0] == 80_000.0 and lines["latvia: budget + tranches"][-1] == 80_000.0
    assert lines["latvia: committed − released"][-1] == pytest.approx(78_540.0)
    # Estonia: 100,000, then the 500,000 tranche of 2025-06-01 (day 31)
    est = lines["estonia: budget + tranches"]
    days = data.day_edges.tolist()
    assert est[days.index(30.0)] == 100_000.0 and est[days.index(31.0)] == 600_000.0
    assert lines["luxembourg: committed − released"][-1] == pytest.approx(445_200.0)


# --------------------------------------------------------------------------- a tiny known run

START = dt.date(2025, 1, 1)


def _day(n: int) -> dt.date:
    return START + dt.timedelta(days=n)


def tiny() -> Scenario:
    """Stock 200 at day 0, then 10 a day; one lot (100 boxes, 1 m3) per trip of one day.

    R1 (100, funded by ee) opens at day 0 and takes a stock lot: delivered at day 1. Pledge P1
    (lv, 300, announced day 1, deliver by day 4) becomes a requirement: the other stock lot
    (delivered day 2), then lots produced at days 11 and 21 (delivered 12 and 22). Pledge P2
    (ee, 150 by day 1) is delivered by R1.
    """
    return Scenario.model_validate(
        {
            "name": "tiny",
            "start": START,
            "horizon_days": 30.0,
            "items": [{"id": "box", "unit_value_eur": 10.0, "volume_m3": 0.01, "lot_size": 100}],
            "nodes": [
                {"id": "lv", "kind": "donor", "budget_eur": 1e6, "bilateral_lead_days": 0.0},
                {"id": "ee", "kind": "donor", "budget_eur": 5000.0, "bilateral_lead_days": 0.0},
                {
                    "id": "maker",
                    "kind": "supplier",
                    "products": [{"item": "box", "rate_per_day": 10.0, "unit_price_eur": 10.0, "initial_stock": 200}],
                },
                {"id": "u", "kind": "unit"},
            ],
            "links": [
                {
                    "id": "road",
                    "from": "maker",
                    "to": "u",
                    "mode": "road",
                    "transit_days": 1.0,
                    "vehicles": 5,
                    "capacity_m3": 1.0,
                    "return_days": 1.0,
                    "distance_km": 50.0,
                    "cost_per_trip_eur": 100.0,
                    "cost_per_km_eur": 2.0,
                }
            ],
            "requirements": [
                {
                    "id": "R1",
                    "unit": "u",
                    "item": "box",
                    "qty": 100,
                    "opens": _day(0),
                    "need_by": _day(20),
                    "funders": ["ee"],
                    "channel": "bilateral",
                }
            ],
            "pledges": [
                {
                    "id": "P1",
                    "donor": "lv",
                    "item": "box",
                    "qty": 300,
                    "announced": _day(1),
                    "deliver_by": _day(4),
                    "unit": "u",
                },
                {
                    "id": "P2",
                    "donor": "ee",
                    "item": "box",
                    "qty": 150,
                    "announced": _day(0),
                    "deliver_by": _day(1),
                    "requirements": ["R1"],
                },
            ],
        }
    )


def test_pledge_becomes_a_requirement_once() -> None:
    s = tiny()
    p1 = s.requirements[1]
    assert (p1.id, p1.qty, p1.opens, p1.need_by, p1.funders, p1.channel) == (
        "P1",
        300,
        _day(1),
        _day(4),
        ["lv"],
        "bilateral",
    )
    again = Scenario.model_validate(s.model_dump(by_alias=True))  # the resolved scenario, read back
    assert again == s and len(again.requirements) == 2


def test_tiny_costs_and_pledges_by_hand() -> None:
    s = tiny()
    log, result = run(s)
    k = compute_kpis(log.table(), s, end=result.end_day)
    # 4 lots, one trip each, EUR 100 + 2 x 50 km = 200 a trip
    assert k[("transport_cost_eur", None, None, "road")] == pytest.approx(800.0)
    # contracts: R1 100 x 10 + P1 300 x 10 = 4,000; bilateral: no fee; 400 delivered
    assert k[("contract_value_eur", None, None, None)] == pytest.approx(4_000.0)
    assert k[("agency_fees_eur", None, None, None)] == pytest.approx(0.0)
    assert k[("cost_per_delivered_unit_eur", None, None, None)] == pytest.approx(4_800.0 / 400)
    assert k[("cost_per_delivered_unit_eur_bilateral", "box", None, None)] == pytest.approx(12.0)
    assert k[("budget_spent_eur", None, "ee", None)] == pytest.approx(1_000.0)
    assert k[("budget_left_eur", None, "ee", None)] == pytest.approx(4_000.0)
    assert k[("budget_spent_eur", None, "lv", None)] == pytest.approx(3_000.0)
    # pledges: P1 has 100 by the end of day 4 (of 300); P2 100 by the end of day 1 (of 150)
    assert k[("pledged_units", None, None, None)] == 450.0
    assert k[("pledged_units_on_time", None, None, None)] == 200.0
    assert k[("pledge_on_time_share", None, None, None)] == pytest.approx(200 / 450)
    assert k[("pledge_on_time_share", None, "lv", None)] == pytest.approx(100 / 300)
    assert k[("pledge_on_time_share", None, "ee", None)] == pytest.approx(100 / 150)


def test_pledges_checked_at_their_place() -> None:
    from scenarios.errors import ScenarioError
    from scenarios.load import load_text

    text = (LIB / "small_routers.yaml").read_text(encoding="utf-8")
    bad = text.replace(
        "\ndisruptions:\n",
        "\npledges:\n  - {id: PX, donor: nspa, item: router, qty: 5, announced: 2025-05-02,"
        " deliver_by: 2025-06-01, requirements: [R3, R9]}\n\ndisruptions:\n",
        1,
    )
    with pytest.raises(ScenarioError) as err:
        load_text(bad, "x.yaml")
    msg = str(err.value)
    assert "pledges[0].donor: 'nspa' is a agency, expected donor" in msg
    assert "pledges[0].requirements[0]: requirement 'R3' is of item 'charger'" in msg
    assert "pledges[0].requirements[1]: unknown requirement 'R9'" in msg


def test_cost_per_km_needs_a_distance() -> None:
    from scenarios.errors import ScenarioError
    from scenarios.load import load_text

    text = (LIB / "small_routers.yaml").read_text(encoding="utf-8")
    bad = text.replace("    cost_per_trip_eur: 4000", "    cost_per_km_eur: 3.0", 1)
    with pytest.raises(
        ScenarioError, match=r"links\[0\]\.cost_per_km_eur: cost_per_km_eur needs the link's distance_km"
    ):
        load_text(bad, "x.yaml")


# --------------------------------------------------------------------------- the library's money


COALITION = {"luxembourg", "estonia", "ireland", "belgium", "other_members"}


@pytest.mark.parametrize("name", ["small_routers", "it_coalition_2025"])
def test_routers_are_latvias_and_chargers_the_coalitions(name: str) -> None:
    s = load(LIB / f"{name}.yaml")
    # "eine Lieferung aus Lettland mit 1.000 Routern": Latvia pays the routers, nobody else
    routers = [r for r in s.requirements if r.item == "router"]
    assert sum(r.qty for r in routers) == 1000
    assert all(r.funders == ["latvia"] for r in routers), [(r.id, r.funders) for r in routers]
    assert s.node("latvia").kind == "donor"
    # "318 Ladestationen" came with the coalition's deliveries: coalition donors pay them
    chargers = [r for r in s.requirements if r.item == "charger"]
    assert sum(r.qty for r in chargers) == 318
    assert all(r.funders and set(r.funders) <= COALITION for r in chargers), [(r.id, r.funders) for r in chargers]


def test_frozen_asset_interest_pays_production_in_ukraine_only() -> None:
    s = load(LIB / "fpv_drones_2024_2025.yaml")
    # "die Finanzierung durch Zinseinkünfte aus eingefrorenen russischen Vermögenswerten" funds
    # arms production in Ukraine: no purchase abroad cites it
    for r in s.requirements:
        if "de_assets" in r.cite:
            assert r.channel == "domestic", r.id
    for n in s.nodes:
        if "de_assets" in n.cite:
            assert n.kind == "donor" and not any(
                n.id in r.funders and r.channel != "domestic" for r in s.requirements
            ), n.id


def test_it_coalition_deliveries_4_and_5_cost_between_10_and_12_million() -> None:
    """ "überstieg 10 Millionen Euro" (deliveries 4 and 5) and "über 12 Millionen Euro" (all of 2025).

    Bounds from the file's numbers alone: every unit at its cheapest maker's price (agency
    requirements plus the fee) must exceed EUR 10 M; every unit at its dearest maker's price
    plus the fee must stay under EUR 12 M.
    """
    s = load(LIB / "it_coalition_2025.yaml")
    fee = next(n.fee_share for n in s.nodes if n.kind == "agency")
    prices: dict[str, list[float]] = {}
    for n in s.nodes:
        if n.kind == "supplier":
            for p in n.products:
                prices.setdefault(p.item, []).append(p.unit_price_eur)
    low = sum(r.qty * min(prices[r.item]) * (1 + fee if r.channel == "agency" else 1) for r in s.requirements)
    high = sum(r.qty * max(prices[r.item]) * (1 + fee if r.channel == "agency" else 1) for r in s.requirements)
    assert 10_000_000 < low <= high < 12_000_000, (low, high)


def test_burn_down_has_no_budget_line_for_an_unlimited_state_budget() -> None:
    import numpy as np

    from results.report_money import burn_down_from

    arr = np.array([[[10.0, 10.0], [0.0, 4.0]]])  # one replication: received 10, committed 0 then 4
    fig = burn_down_from({"lv": arr, "ua_state": arr}, ["2025-01-01", "2025-01-02"], "baseline", {"ua_state"})
    assert fig is not None
    names = [t["name"] for t in fig["data"]]
    assert names == ["lv: budget + tranches", "lv: committed − released", "ua_state: committed − released"]
    assert fig["data"][1]["y"] == [0.0, 4.0]
