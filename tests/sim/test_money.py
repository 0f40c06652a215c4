"""Money that binds (issue 13): commitments follow the contract price, every channel is paid.

Each test runs a small scenario, reads the log back from disk and checks the money rows
(``funds_committed``, ``funds_released``, ``contract_awarded``, ``fee_charged``) against
numbers computed by hand in the comments.
"""

from __future__ import annotations

import copy
import datetime as dt
import math
from collections.abc import Callable
from typing import Any

import pytest
from pydantic import ValidationError

from scenarios.errors import ScenarioError
from scenarios.load import load_text
from scenarios.schema import Scenario

START = dt.date(2025, 1, 1)


def day(n: int) -> dt.date:
    return START + dt.timedelta(days=n)


def chain(price_eur: float = 770.0, value_eur: float = 77.0, domestic: bool = False) -> dict[str, Any]:
    """A supplier of routers one road link away from a unit; one donor, one agency (2 % fee, 5-day tenders)."""
    return {
        "name": "money",
        "start": START,
        "horizon_days": 200,
        "seed": 1,
        "items": [{"id": "router", "unit_value_eur": value_eur, "volume_m3": 0.01, "lot_size": 1}],
        "nodes": [
            {
                "id": "maker",
                "kind": "supplier",
                "domestic": domestic,
                "products": [{"item": "router", "rate_per_day": 1000, "unit_price_eur": price_eur}],
            },
            {"id": "unit", "kind": "unit"},
            {"id": "donor", "kind": "donor", "budget_eur": 50_000, "bilateral_lead_days": 10},
            {"id": "agency", "kind": "agency", "staff": 1, "tender_days": 5, "fee_share": 0.02},
        ],
        "links": [
            {
                "id": "road",
                "from": "maker",
                "to": "unit",
                "mode": "road",
                "transit_days": 1,
                "vehicles": 50,
                "capacity_m3": 100.0,
            }
        ],
        "requirements": [
            {
                "id": "R1",
                "unit": "unit",
                "item": "router",
                "qty": 600,
                "need_by": day(100),
                "funders": ["donor"],
                "channel": "agency",
            }
        ],
    }


def node(d: dict[str, Any], nid: str) -> dict[str, Any]:
    return next(n for n in d["nodes"] if n["id"] == nid)


def build(d: dict[str, Any]) -> Scenario:
    return Scenario.model_validate(copy.deepcopy(d))


def refusal(d: dict[str, Any]) -> str:
    """What validation says about ``d`` (which it must refuse)."""
    with pytest.raises(ValidationError) as err:
        build(d)
    return repr(err.value.errors())


def rows(lg: Any, kind: str, **eq: Any) -> list[tuple[float, int, str, float]]:
    """(t, qty, node, value) of every row of ``kind`` matching ``eq``, in log order."""
    f = lg.frame
    return [(float(f.t[i]), int(f.qty[i]), str(f.node[i]), float(f.value[i])) for i in f.where(kind, **eq)]


def total(lg: Any, kind: str, **eq: Any) -> float:
    return math.fsum(v for *_, v in rows(lg, kind, **eq))


# --------------------------------------------------------------------------- the EUR 50,000 / EUR 770 case


def test_router_price_cannot_contract_beyond_the_budget(run_logged: Callable) -> None:
    """600 routers at catalogue EUR 77 (estimate 600 x 77 x 1.02 = 47,124 <= 50,000) cost EUR 770 each.

    Contract plus fee is 770 x 1.02 = 785.4 a router: 50,000 pays floor(50,000 / 785.4) = 63
    (49,480.20; 64 would be 50,265.60). The other 537 wait for money: none comes, so they are
    never contracted.
    """
    lg = run_logged(build(chain()))
    awarded = rows(lg, "contract_awarded")
    assert [(t, q) for t, q, *_ in awarded] == [(5.0, 63)]
    assert awarded[0][3] == pytest.approx(63 * 770)  # 48,510
    assert total(lg, "fee_charged", node="agency") == pytest.approx(63 * 770 * 0.02)  # 970.20
    # estimate, then the difference at award: 47,124 + 2,356.20 = 49,480.20
    assert [v for *_, v in rows(lg, "funds_committed", node="donor")] == pytest.approx([47_124.0, 2_356.2])
    assert rows(lg, "funds_released") == []
    assert rows(lg, "funds_short")  # the rest waits
    assert lg.result.end["budget_eur"]["donor"] == pytest.approx(50_000 - 49_480.2)
    assert lg.result.end["requirements"]["R1"]["ordered"] == 63
    assert lg.result.status == "deadlocked" and any("waits for funds" in b for b in lg.result.blocked)


def test_router_rest_is_contracted_when_a_tranche_comes(run_logged: Callable) -> None:
    """A EUR 500,000 tranche on day 60 pays the other 537: 537 x 785.4 = 421,759.80, contracted that day."""
    d = chain()
    node(d, "donor")["tranches"] = [{"date": day(60), "amount_eur": 500_000}]
    lg = run_logged(build(d))
    assert [(t, q) for t, q, *_ in rows(lg, "contract_awarded")] == [(5.0, 63), (60.0, 537)]
    assert [v for *_, v in rows(lg, "funds_committed")] == pytest.approx([47_124.0, 2_356.2, 421_759.8])
    assert total(lg, "contract_awarded") == pytest.approx(600 * 770)
    assert total(lg, "fee_charged") == pytest.approx(600 * 770 * 0.02)
    assert lg.result.end["budget_eur"]["donor"] == pytest.approx(550_000 - 600 * 785.4)
    assert lg.result.status == "completed"


def test_cheaper_contract_releases_the_rest_of_the_estimate(run_logged: Callable) -> None:
    """Catalogue EUR 77, price EUR 70: estimate 47,124, contract 42,000 + fee 840 = 42,840, 4,284 released."""
    lg = run_logged(build(chain(price_eur=70.0)))
    assert total(lg, "contract_awarded") == pytest.approx(42_000)
    assert total(lg, "fee_charged") == pytest.approx(840)
    assert [v for *_, v in rows(lg, "funds_released", node="donor")] == pytest.approx([4_284.0])
    assert lg.result.end["budget_eur"]["donor"] == pytest.approx(50_000 - 42_840)


def test_two_funders_release_last_committed_first(run_logged: Callable) -> None:
    """Estimate 47,124 from a (20,000) then b (27,124); contract + fee 42,840: b gets 4,284 back."""
    d = chain(price_eur=70.0)
    node(d, "donor")["budget_eur"] = 20_000
    d["nodes"].append({"id": "b", "kind": "donor", "budget_eur": 1e6})
    d["requirements"][0]["funders"] = ["donor", "b"]
    lg = run_logged(build(d))
    assert [(n, v) for _, _, n, v in rows(lg, "funds_committed")] == [("donor", 20_000.0), ("b", pytest.approx(27_124))]
    assert [(n, v) for _, _, n, v in rows(lg, "funds_released")] == [("b", pytest.approx(4_284))]


# --------------------------------------------------------------------------- domestic production


def test_domestic_production_paid_by_donors(run_logged: Callable) -> None:
    """The Danish model: 600 routers made in Ukraine at EUR 80, catalogue 77, paid by the donor, no fee.

    Estimate 600 x 77 = 46,200, contract 48,000: 1,800 more committed at the award (day 0).
    """
    d = chain(price_eur=80.0, domestic=True)
    d["requirements"][0]["channel"] = "domestic"
    lg = run_logged(build(d))
    assert [(t, n, v) for t, _, n, v in rows(lg, "funds_committed")] == [
        (0.0, "donor", pytest.approx(46_200)),
        (0.0, "donor", pytest.approx(1_800)),
    ]
    assert [(t, q, n, v) for t, q, n, v in rows(lg, "contract_awarded")] == [(0.0, 600, "maker", 48_000.0)]
    assert rows(lg, "fee_charged") == []
    assert lg.result.end["budget_eur"]["donor"] == pytest.approx(2_000)


def test_domestic_without_funders_is_paid_by_the_state_budget(run_logged: Callable) -> None:
    """A state budget of EUR 30,000 pays domestic routers at EUR 80: 375 of them (30,000 / 80), the rest wait."""
    d = chain(price_eur=80.0, value_eur=40.0, domestic=True)
    d["requirements"][0].update(channel="domestic", funders=[])
    d["nodes"].append({"id": "ua", "kind": "donor", "state_budget": True, "budget_eur": 30_000})
    lg = run_logged(build(d))
    # estimate 600 x 40 = 24,000 <= 30,000; the contract of 600 x 80 = 48,000 does not fit: 375 x 80 = 30,000
    assert [(n, v) for _, _, n, v in rows(lg, "funds_committed")] == [
        ("ua", pytest.approx(24_000)),
        ("ua", pytest.approx(6_000)),
    ]
    assert [(q, v) for _, q, _, v in rows(lg, "contract_awarded")] == [(375, 30_000.0)]
    assert lg.result.end["budget_eur"]["ua"] == pytest.approx(0.0)


def test_unlimited_state_budget_always_pays(run_logged: Callable) -> None:
    d = chain(price_eur=80.0, value_eur=40.0, domestic=True)
    d["requirements"][0].update(channel="domestic", funders=[])
    d["nodes"].append({"id": "ua", "kind": "donor", "state_budget": True, "budget_eur": "unlimited"})
    lg = run_logged(build(d))
    assert total(lg, "funds_committed", node="ua") == pytest.approx(48_000)
    assert total(lg, "contract_awarded") == pytest.approx(48_000)
    assert rows(lg, "budget_added", node="ua") == []
    assert lg.result.end["budget_eur"]["ua"] == pytest.approx(-48_000)  # spent, never short
    assert lg.result.status == "completed"


YAML_NO_PAYER = """\
name: unpaid
start: 2025-01-01
horizon_days: 30
items:
  - {id: router, unit_value_eur: 77, volume_m3: 0.01, lot_size: 1}
nodes:
  - {id: maker, kind: supplier, domestic: true, products: [{item: router, rate_per_day: 10, unit_price_eur: 77}]}
  - {id: unit, kind: unit}
links:
  - {id: road, from: maker, to: unit, mode: road, transit_days: 1, vehicles: 1, capacity_m3: 1.0}
requirements:
  - id: R1
    unit: unit
    item: router
    qty: 10
    need_by: 2025-01-20
    channel: domestic
"""


def test_domestic_without_any_payer_is_refused_at_its_line() -> None:
    with pytest.raises(ScenarioError) as err:
        load_text(YAML_NO_PAYER, "unpaid.yaml")
    text = str(err.value)
    assert "unpaid.yaml:12" in text and "requirements[0].funders" in text and "state_budget" in text


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ({"budget_eur": "unlimited"}, "only the state budget"),
        (
            {"state_budget": True, "budget_eur": "unlimited", "tranches": [{"date": day(4), "amount_eur": 1.0}]},
            "no tranches",
        ),
        ({"budget_eur": "lots"}, "budget_eur"),
    ],
)
def test_unlimited_budget_rules(patch: dict[str, Any], message: str) -> None:
    d = chain()
    node(d, "donor").update(patch)
    assert message in refusal(d)


def test_one_state_budget_only() -> None:
    d = chain()
    d["nodes"] += [{"id": f"ua{k}", "kind": "donor", "state_budget": True, "budget_eur": 1.0} for k in range(2)]
    assert "a second state budget" in refusal(d)


# --------------------------------------------------------------------------- bilateral lead time


def test_bilateral_lead_time_is_the_paying_donors(run_logged: Callable) -> None:
    """Funders [small, big]: small pays 1,000 of the 46,200 estimate, big 45,200; big's lead (40 days) applies."""
    d = chain(price_eur=77.0)
    node(d, "donor").update(budget_eur=1_000, bilateral_lead_days=5)
    d["nodes"].append({"id": "big", "kind": "donor", "budget_eur": 1e6, "bilateral_lead_days": 40})
    d["requirements"][0].update(channel="bilateral", funders=["donor", "big"])
    lg = run_logged(build(d))
    assert [(n, v) for _, _, n, v in rows(lg, "funds_committed")] == [
        ("donor", 1_000.0),
        ("big", pytest.approx(45_200)),
    ]
    assert [t for t, *_ in rows(lg, "contract_awarded")] == [40.0]


# --------------------------------------------------------------------------- pooling: price breaks


def pooled() -> dict[str, Any]:
    """Two requirements of 600 routers; EUR 100 a router, EUR 80 from 1,000 ordered together."""
    d = chain(price_eur=100.0, value_eur=100.0)
    node(d, "donor")["budget_eur"] = 1e6
    node(d, "maker")["products"][0]["price_breaks"] = [{"min_qty": 1000, "unit_price_eur": 80.0}]
    node(d, "agency")["pool_days"] = 1.0
    second = dict(d["requirements"][0], id="R2")
    d["requirements"].append(second)
    d["strategies"] = [{"name": "bilateral", "overrides": {"policy.channel": "bilateral"}}]
    return d


def test_pooled_tender_reaches_the_price_break(run_logged: Callable) -> None:
    """Agency: one tender of 1,200 >= 1,000, so 600 x 80 = 48,000 a contract plus 960 fee, awarded on day 1 + 5.

    Estimates 600 x 100 x 1.02 = 61,200 each; 61,200 - 48,960 = 12,240 released for each.
    """
    lg = run_logged(build(pooled()))
    assert [(t, q, v) for t, q, _, v in rows(lg, "contract_awarded")] == [(6.0, 600, 48_000.0)] * 2
    assert [v for *_, v in rows(lg, "fee_charged")] == pytest.approx([960.0, 960.0])
    assert [v for *_, v in rows(lg, "funds_released")] == pytest.approx([12_240.0, 12_240.0])
    assert lg.result.end["budget_eur"]["donor"] == pytest.approx(1e6 - 2 * 48_960)


def test_bilateral_orders_miss_the_price_break(run_logged: Callable) -> None:
    """Bilateral: each order of 600 < 1,000 pays EUR 100: 60,000 each, no fee, after the 10-day lead."""
    lg = run_logged(build(pooled()), "bilateral")
    assert [(t, q, v) for t, q, _, v in rows(lg, "contract_awarded")] == [(10.0, 600, 60_000.0)] * 2
    assert rows(lg, "fee_charged") == []
    assert lg.result.end["budget_eur"]["donor"] == pytest.approx(1e6 - 120_000)


def test_price_breaks_must_increase() -> None:
    d = pooled()
    node(d, "maker")["products"][0]["price_breaks"] = [
        {"min_qty": 1000, "unit_price_eur": 80.0},
        {"min_qty": 500, "unit_price_eur": 90.0},
    ]
    assert "increasing min_qty" in refusal(d)
