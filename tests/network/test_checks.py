"""Tests of network.checks: each structural check fires at the right place with the right severity."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from network.build import build_graph
from network.checks import Check, check, errors, strategy_checks
from scenarios.schema import Scenario

SMALL = Path(__file__).resolve().parents[2] / "scenarios" / "small_routers.yaml"


def sup(ident: str, *items: str, domestic: bool = False) -> dict[str, Any]:
    products = [{"item": it, "rate_per_day": 10, "unit_price_eur": 1} for it in items or ("box",)]
    return {"id": ident, "kind": "supplier", "domestic": domestic, "products": products}


def hub(ident: str, kind: str = "hub") -> dict[str, Any]:
    return {"id": ident, "kind": kind, "servers": 1, "service_days": 0.1}


def unit(ident: str, **extra: Any) -> dict[str, Any]:
    return {"id": ident, "kind": "unit"} | extra


def link(ident: str, a: str, b: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": ident,
        "from": a,
        "to": b,
        "mode": "road",
        "transit_days": 1,
        "vehicles": 1,
        "capacity_m3": 10,
    } | extra


def req(ident: str, unit_id: str, item: str = "box", **extra: Any) -> dict[str, Any]:
    base = {"id": ident, "unit": unit_id, "item": item, "qty": 10, "need_by": dt.date(2025, 1, 20), "funders": ["d"]}
    return base | extra


def scenario(
    nodes: list[dict[str, Any]],
    links: list[dict[str, Any]],
    requirements: list[dict[str, Any]],
    donor: dict[str, Any] | None = None,
    **extra: Any,
) -> Scenario:
    """A scenario with a donor ``d`` and an agency ``a`` (indexes 0 and 1) before ``nodes``."""
    items = [
        {"id": "box", "unit_value_eur": 1, "volume_m3": 0.1, "lot_size": 10},  # 1 m3 a lot
        {"id": "crate", "unit_value_eur": 1, "volume_m3": 1.0, "lot_size": 5},  # 5 m3 a lot
    ]
    head = [
        {"id": "d", "kind": "donor", "budget_eur": 1e6} | (donor or {}),
        {"id": "a", "kind": "agency", "staff": 1, "tender_days": 5},
    ]
    data = {
        "name": "t",
        "start": dt.date(2025, 1, 1),
        "horizon_days": 60,
        "items": items,
        "nodes": head + nodes,
        "links": links,
        "requirements": requirements,
    }
    return Scenario.model_validate(data | extra)


def sound() -> Scenario:
    """s -> h -> u, one requirement of box: nothing to report."""
    return scenario(
        [sup("s"), hub("h"), unit("u")],
        [link("l0", "s", "h"), link("l1", "h", "u")],
        [req("R1", "u")],
    )


def found(checks: list[Check], code: str) -> list[tuple[tuple[str | int, ...], str]]:
    return [(c.loc, c.severity) for c in checks if c.code == code]


def test_sound_scenario_has_no_findings() -> None:
    assert check(sound()) == []


def test_small_routers_has_no_findings() -> None:
    s = Scenario.model_validate(YAML(typ="safe").load(SMALL))
    assert check(s) == []
    assert check(s, build_graph(s)) == []


def test_unreachable_unit() -> None:
    # u2 has no link in: R2 cannot be filled.
    s = scenario(
        [sup("s"), hub("h"), unit("u"), unit("u2")],
        [link("l0", "s", "h"), link("l1", "h", "u")],
        [req("R1", "u"), req("R2", "u2")],
    )
    checks = check(s)
    assert found(checks, "unreachable") == [(("requirements", 1, "unit"), "error")]
    msg = next(c.message for c in checks if c.code == "unreachable")
    assert "'u2'" in msg and "'box'" in msg and "non-domestic" in msg


def test_domestic_requirement_ignores_foreign_suppliers() -> None:
    # The foreign supplier reaches u, the domestic one does not: a domestic requirement is stuck.
    s = scenario(
        [sup("s"), sup("ua", domestic=True), hub("h"), unit("u")],
        [link("l0", "s", "h"), link("l1", "h", "u")],
        [req("R1", "u", channel="domestic", funders=["d"])],
    )
    checks = check(s)
    assert found(checks, "unreachable") == [(("requirements", 0, "unit"), "error")]
    assert "domestic supplier of 'box' (ua)" in checks[0].message


def test_agency_requirement_falls_back_to_domestic_makers() -> None:
    # Only a domestic supplier makes box: an agency requirement may use it.
    s = scenario([sup("ua", domestic=True), unit("u")], [link("l0", "ua", "u")], [req("R1", "u")])
    assert errors(check(s)) == []


def test_agency_requirement_prefers_foreign_makers() -> None:
    # A foreign maker exists but cannot reach u; the domestic one can, yet is not suitable.
    s = scenario(
        [sup("s"), sup("ua", domestic=True), unit("u")],
        [link("l0", "ua", "u")],
        [req("R1", "u")],
    )
    assert found(check(s), "unreachable") == [(("requirements", 0, "unit"), "error")]


def test_item_made_by_no_supplier() -> None:
    s = scenario([sup("s"), unit("u")], [link("l0", "s", "u")], [req("R1", "u"), req("R2", "u", item="crate")])
    checks = check(s)
    assert found(checks, "no_supplier") == [(("requirements", 1, "item"), "error")]
    assert "made by no supplier" in checks[0].message


def test_item_made_by_no_domestic_supplier() -> None:
    s = scenario([sup("s"), unit("u")], [link("l0", "s", "u")], [req("R1", "u", channel="domestic", funders=["d"])])
    checks = check(s)
    assert found(checks, "no_supplier") == [(("requirements", 0, "item"), "error")]
    assert "domestic" in checks[0].message and "(made by s)" in checks[0].message


def test_policy_channel_overrides_requirements() -> None:
    # policy.channel = domestic turns the agency requirement domestic: no domestic maker.
    s = scenario([sup("s"), unit("u")], [link("l0", "s", "u")], [req("R1", "u")], policy={"channel": "domestic"})
    assert found(check(s), "no_supplier") == [(("requirements", 0, "item"), "error")]


def test_lot_too_big_on_the_route() -> None:
    # crate lots are 5 m3; l1 (index 1) carries 4 m3; two requirements, one report.
    s = scenario(
        [sup("s", "crate"), hub("h"), unit("u")],
        [link("l0", "s", "h"), link("l1", "h", "u", capacity_m3=4)],
        [req("R1", "u", item="crate"), req("R2", "u", item="crate")],
    )
    checks = check(s)
    assert found(checks, "lot_too_big") == [(("links", 1, "capacity_m3"), "error")]
    assert "5 m3" in checks[0].message and "'l1'" in checks[0].message


def test_lot_too_big_off_the_route_is_not_reported() -> None:
    # Route s -> h -> u (2 days) is used; the slow direct link l2 is too small but unused.
    s = scenario(
        [sup("s", "crate"), hub("h"), unit("u")],
        [link("l0", "s", "h"), link("l1", "h", "u"), link("l2", "s", "u", capacity_m3=1, transit_days=9)],
        [req("R1", "u", item="crate")],
    )
    assert found(check(s), "lot_too_big") == []


def test_lot_exactly_fitting_is_fine() -> None:
    s = scenario([sup("s", "crate"), unit("u")], [link("l0", "s", "u", capacity_m3=5)], [req("R1", "u", item="crate")])
    assert check(s) == []


def test_cycle_reported_at_its_first_link() -> None:
    # h1 -> h2 -> h3 -> h1 is a cycle; l_back (index 3) closes it, l1 (index 1) is its first link.
    s = scenario(
        [sup("s"), hub("h1"), hub("h2"), hub("h3", kind="border"), unit("u")],
        [
            link("l0", "s", "h1"),
            link("l1", "h1", "h2"),
            link("l2", "h2", "h3"),
            link("l_back", "h3", "h1"),
            link("l4", "h3", "u"),
        ],
        [req("R1", "u")],
    )
    checks = check(s)
    assert found(checks, "cycle") == [(("links", 1), "error")]
    msg = next(c.message for c in checks if c.code == "cycle")
    assert msg.startswith("undeclared cycle h1 -> h2 -> h3 -> h1")
    assert "l1, l2, l_back" in msg


def test_two_cycles_two_reports_in_file_order() -> None:
    s = scenario(
        [sup("s"), hub("a1"), hub("a2"), hub("b1"), hub("b2"), unit("u")],
        [
            link("x0", "b1", "b2"),
            link("x1", "b2", "b1"),
            link("x2", "a1", "a2"),
            link("x3", "a2", "a1"),
            link("x4", "s", "a1"),
            link("x5", "a1", "u"),
        ],
        [req("R1", "u")],
    )
    got = found(check(s), "cycle")
    assert got == [(("links", 0), "error"), (("links", 2), "error")]


def test_duplicate_parallel_links() -> None:
    s = scenario(
        [sup("s"), unit("u")],
        [link("l0", "s", "u"), link("l1", "s", "u", enabled=False), link("l2", "s", "u")],
        [req("R1", "u")],
    )
    checks = check(s)
    assert checks == [
        Check(("links", 2), "link 'l2' duplicates 'l0' (s -> u); only 'l0' is used", "warning", "duplicate_link")
    ]


def test_isolated_physical_nodes_but_not_donors() -> None:
    # The spare depot (index 4) and the unit reached only by a disabled link (index 5) are isolated.
    s = scenario(
        [sup("s"), unit("u"), hub("spare", kind="depot"), unit("u2")],
        [link("l0", "s", "u"), link("l1", "s", "u2", enabled=False)],
        [req("R1", "u")],
    )
    checks = check(s)
    assert found(checks, "isolated") == [(("nodes", 4), "warning"), (("nodes", 5), "warning")]
    assert errors(checks) == []


def test_idle_supplier() -> None:
    # s2 (index 3) makes crate, which nobody requires.
    s = scenario(
        [sup("s"), sup("s2", "crate"), unit("u")], [link("l0", "s", "u"), link("l1", "s2", "u")], [req("R1", "u")]
    )
    checks = check(s)
    assert found(checks, "idle_supplier") == [(("nodes", 3, "products"), "warning")]
    assert "makes nothing required" in checks[0].message


def test_supplier_no_channel_takes_from() -> None:
    # ua makes box, but the only requirement goes through the agency and a foreign maker exists.
    s = scenario(
        [sup("s"), sup("ua", domestic=True), unit("u")], [link("l0", "s", "u"), link("l1", "ua", "u")], [req("R1", "u")]
    )
    assert found(check(s), "idle_supplier") == [(("nodes", 3, "products"), "warning")]


def test_earmark_excludes_item() -> None:
    # Donor d may fund only crate; R1 (box) is funded by d at funders[1].
    s = scenario(
        [sup("s"), unit("u"), {"id": "d2", "kind": "donor", "budget_eur": 5}],
        [link("l0", "s", "u")],
        [req("R1", "u", funders=["d2", "d"])],
        donor={"earmarks": ["crate"]},
    )
    checks = check(s)
    assert found(checks, "earmark") == [(("requirements", 0, "funders", 1), "error")]
    assert "exclude 'box'" in checks[0].message


def test_earmark_including_item_is_fine() -> None:
    s = scenario([sup("s"), unit("u")], [link("l0", "s", "u")], [req("R1", "u")], donor={"earmarks": ["box"]})
    assert check(s) == []


def test_unit_consuming_what_it_never_receives() -> None:
    s = scenario(
        [sup("s"), unit("u", consumption_per_day={"box": 1.0, "crate": 2.0}, initial_stock={"crate": 3})],
        [link("l0", "s", "u")],
        [req("R1", "u")],
    )
    checks = check(s)
    assert found(checks, "never_received") == [(("nodes", 3, "consumption_per_day", "crate"), "warning")]


def test_order_errors_first_and_deterministic() -> None:
    s = scenario(
        [sup("s"), sup("idle", "crate"), unit("u"), unit("u2"), hub("spare")],
        [link("l0", "s", "u"), link("l1", "s", "u")],
        [req("R1", "u"), req("R2", "u2")],
    )
    checks = check(s)
    # idle (3), u2 (5) and spare (6) have no links; idle makes nothing required.
    assert [c.code for c in checks] == [
        "unreachable",
        "duplicate_link",
        "isolated",
        "isolated",
        "isolated",
        "idle_supplier",
    ]
    assert [c.loc for c in checks if c.code == "isolated"] == [("nodes", 3), ("nodes", 5), ("nodes", 6)]
    assert [c.severity for c in checks] == ["error"] + ["warning"] * 5
    assert check(s) == checks


def test_check_str_shows_the_path() -> None:
    c = Check(("requirements", 2, "unit"), "boom", "error", "unreachable")
    assert str(c) == "error requirements[2].unit: boom"


# --------------------------------------------------------------------------- strategies


def _with(strategies: list[dict[str, Any]]) -> Scenario:
    """s -> h -> u (links l0, l1; 10 m3 vehicles) with ``strategies``."""
    return scenario(
        [sup("s"), hub("h"), unit("u")],
        [link("l0", "s", "h"), link("l1", "h", "u")],
        [req("R1", "u")],
        strategies=strategies,
    )


def test_strategy_disabling_the_only_route_is_reported_at_its_override() -> None:
    s = _with(
        [
            {"name": "ok", "overrides": {"links.l1.vehicles": 3}},
            {"name": "close", "overrides": {"links.l1.enabled": False}},
        ]
    )
    assert check(s) == []  # the base is sound
    [c] = strategy_checks(s)
    assert (c.loc, c.severity, c.code) == (("strategies", 1, "overrides", "links.l1.enabled"), "error", "unreachable")
    assert c.message.startswith("in strategy 'close': requirements[0].unit: unit 'u' is unreachable")


def test_strategy_making_a_lot_too_big_is_reported_at_the_item_override() -> None:
    # 200 boxes x 0.1 m3 = 20 m3 a lot, in 10 m3 vehicles on both links of the route.
    s = _with([{"name": "big", "overrides": {"links.l0.vehicles": 4, "items.box.lot_size": 200}}])
    checks = strategy_checks(s)
    assert [(c.loc, c.code) for c in checks] == [
        (("strategies", 0, "overrides", "items.box.lot_size"), "lot_too_big"),
        (("strategies", 0, "overrides", "items.box.lot_size"), "lot_too_big"),
    ]
    assert "links[0].capacity_m3" in checks[0].message
    assert "links[1].capacity_m3" in checks[1].message
    assert all("in strategy 'big'" in c.message for c in checks)


def test_a_problem_needing_two_overrides_is_reported_at_both() -> None:
    # A second route s -> u keeps u reachable unless both l1 and l2 are disabled.
    s = scenario(
        [sup("s"), hub("h"), unit("u")],
        [link("l0", "s", "h"), link("l1", "h", "u"), link("l2", "s", "u")],
        [req("R1", "u")],
        strategies=[
            {
                "name": "both",
                "overrides": {"links.l1.enabled": False, "links.l0.vehicles": 2, "links.l2.enabled": False},
            }
        ],
    )
    assert [c.loc[-1] for c in strategy_checks(s)] == ["links.l1.enabled", "links.l2.enabled"]


def test_redundant_overrides_fall_back_to_the_strategys_overrides() -> None:
    # Each override alone cuts the only route: removing either leaves the problem, so the
    # problem belongs to the strategy as a whole.
    s = _with([{"name": "cut", "overrides": {"links.l0.enabled": False, "links.l1.enabled": False}}])
    [c] = strategy_checks(s)
    assert c.loc == ("strategies", 0, "overrides")
    assert c.code == "unreachable"


def test_a_problem_the_base_already_has_is_not_repeated_per_strategy() -> None:
    s = scenario(
        [sup("s"), hub("h"), unit("u")],
        [link("l0", "s", "h")],
        [req("R1", "u")],
        strategies=[{"name": "more", "overrides": {"links.l0.vehicles": 3}}],
    )
    assert [c.code for c in errors(check(s))] == ["unreachable"]
    assert strategy_checks(s) == []


def test_sound_strategies_and_the_library_have_no_strategy_findings() -> None:
    assert strategy_checks(_with([{"name": "ok", "overrides": {"links.l1.vehicles": 3}}])) == []
    for path in sorted(SMALL.parent.glob("*.yaml")):
        from scenarios.load import load

        assert strategy_checks(load(path)) == [], path.name
