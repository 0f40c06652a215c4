"""The hypothesis strategies of the project: random, always valid scenarios.

``scenarios()`` draws a small supply chain: 1-3 items, 1-3 suppliers, 0-3 handling nodes of
random kinds (hub, border, depot) in layers, 1-3 units, links from each layer to later ones
with random dispatch rules, one agency, donors with budgets (sometimes short, sometimes with
tranches or earmarks; Ukraine's state budget, limited or not, when a domestic requirement names
no funders), products sometimes with price breaks, requirements on random channels, and optional disruptions and
consumption. The graph is a layered DAG: every node of a layer has a link to the next layer
and every node of a layer (past the suppliers) a link from the previous one, so every unit is
reachable; each requirement asks for an item at a unit that some supplier of the item reaches.
Every lot fits every vehicle (capacity is at least the largest lot's volume).

The result is a validated ``scenarios.schema.Scenario``; use the parts (``durations``,
``dispatch_rules``) to build your own.

Example:
    >>> from hypothesis import given
    >>> @given(scenarios())
    ... def test_runs(s): ...
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import strategies as st

from scenarios.schema import Scenario

__all__ = ["START", "dispatch_rules", "durations", "scenarios"]

START = dt.date(2025, 1, 1)
"""Start date of every drawn scenario."""

HANDLING = ("hub", "border", "depot")


def _days(lo: int, hi: int) -> st.SearchStrategy[float]:
    """Days with three decimals in [lo/1000, hi/1000]."""
    return st.integers(lo, hi).map(lambda k: k / 1000)


def durations(max_days: float = 3.0) -> st.SearchStrategy[Any]:
    """A duration in the scenario language: a bare number or one of the ``dist`` mappings."""
    top = int(max_days * 1000)
    lo_hi = st.tuples(_days(0, top), _days(0, top)).map(sorted)
    return st.one_of(
        _days(0, top),
        _days(0, top).map(lambda v: {"dist": "fixed", "value": v}),
        _days(10, top).map(lambda m: {"dist": "exponential", "mean": m}),
        lo_hi.map(lambda p: {"dist": "uniform", "low": p[0], "high": p[1]}),
        st.tuples(_days(0, top), _days(0, top), _days(0, top))
        .map(sorted)
        .map(lambda p: {"dist": "triangular", "low": p[0], "mode": p[1], "high": p[2]}),
        st.tuples(_days(10, top), _days(100, 1500)).map(lambda p: {"dist": "lognormal", "mean": p[0], "cv": p[1]}),
        st.lists(_days(0, top), min_size=1, max_size=4).flatmap(
            lambda vs: st.one_of(
                st.just({"dist": "empirical", "values": vs}),
                st.lists(st.integers(1, 5), min_size=len(vs), max_size=len(vs)).map(
                    lambda w: {"dist": "empirical", "values": vs, "weights": [x / sum(w) for x in w]}
                ),
            )
        ),
    )


def dispatch_rules() -> st.SearchStrategy[dict[str, Any]]:
    """A link's dispatch rule: immediate, full (with a max wait) or scheduled convoys."""
    return st.one_of(
        st.just({"rule": "immediate"}),
        _days(0, 3000).map(lambda w: {"rule": "full", "max_wait_days": w}),
        st.tuples(_days(250, 5000), _days(0, 5000)).map(
            lambda p: {"rule": "scheduled", "every_days": p[0], "first_day": p[1]}
        ),
    )


def _date(day: int) -> dt.date:
    return START + dt.timedelta(days=day)


def _reachable(links: list[tuple[str, str]], origin: str) -> set[str]:
    out: dict[str, list[str]] = {}
    for a, b in links:
        out.setdefault(a, []).append(b)
    seen, todo = {origin}, [origin]
    while todo:
        for nxt in out.get(todo.pop(), []):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


@st.composite
def scenarios(
    draw: st.DrawFn,
    max_items: int = 3,
    max_suppliers: int = 3,
    max_handling: int = 3,
    max_units: int = 3,
    max_requirements: int = 4,
    disruptions: bool = True,
    consumption: bool = True,
) -> Scenario:
    """A random valid scenario (see the module docstring)."""
    horizon = draw(st.integers(20, 200))
    seed = draw(st.integers(0, 2**32))

    # ---------------------------------------------------------------- catalogue
    items: list[dict[str, Any]] = []
    for k in range(draw(st.integers(1, max_items))):
        items.append(
            {
                "id": f"item{k}",
                "unit_value_eur": draw(st.integers(1, 5000)),
                "volume_m3": draw(_days(1, 2000)),
                "lot_size": draw(st.integers(1, 60)),
                "priority": draw(st.integers(1, 9)),
            }
        )
    item_ids = [i["id"] for i in items]
    max_lot_m3 = max(i["volume_m3"] * i["lot_size"] for i in items)

    # ---------------------------------------------------------------- physical nodes in layers
    suppliers = [f"sup{k}" for k in range(draw(st.integers(1, max_suppliers)))]
    n_handling = draw(st.integers(0, max_handling))
    handling = [(f"h{k}", draw(st.sampled_from(HANDLING))) for k in range(n_handling)]
    n_layers = draw(st.integers(1, n_handling)) if n_handling else 0
    layer_of = [k + 1 if k < n_layers else draw(st.integers(1, n_layers)) for k in range(n_handling)]
    units = [f"unit{k}" for k in range(draw(st.integers(1, max_units)))]
    layers: list[list[str]] = [suppliers]
    layers += [
        [h for (h, _), layer in zip(handling, layer_of, strict=True) if layer == i] for i in range(1, n_layers + 1)
    ]
    layers.append(units)

    pairs: dict[tuple[str, str], bool] = {}  # (from, to) -> enabled
    for i in range(len(layers) - 1):
        here, nxt = layers[i], layers[i + 1]
        for a in here:
            pairs[(a, draw(st.sampled_from(nxt)))] = True
        for b in nxt:
            pairs[(draw(st.sampled_from(here)), b)] = True
        later = [n for layer in layers[i + 1 :] for n in layer]
        for a in here:
            for b in draw(st.lists(st.sampled_from(later), max_size=2, unique=True)):
                # an extra link may be disabled (the needed ones never are)
                pairs.setdefault((a, b), draw(st.integers(0, 5)) < 5)
    link_pairs = list(pairs)
    enabled_pairs = [p for p, on in pairs.items() if on]

    links: list[dict[str, Any]] = []
    for k, (a, b) in enumerate(link_pairs):
        link: dict[str, Any] = {
            "id": f"L{k}_{a}_{b}",
            "from": a,
            "to": b,
            "mode": draw(st.sampled_from(["road", "rail", "air", "sea"])),
            "transit_days": draw(durations(4.0)),
            "vehicles": draw(st.integers(1, 3)),
            "capacity_m3": round(max_lot_m3 * draw(st.sampled_from([1.0, 1.5, 2.0, 3.0, 10.0])) + 0.001, 3),
            "dispatch": draw(dispatch_rules()),
        }
        if draw(st.booleans()):
            link["return_days"] = draw(durations(3.0))
        loss = draw(st.sampled_from([0.0, 0.0, 0.0, 0.05, 0.3, 1.0]))
        if loss:
            link["loss_probability"] = loss
        if draw(st.booleans()):
            link["distance_km"] = draw(st.integers(1, 2000))
        if not pairs[(a, b)]:
            link["enabled"] = False
        links.append(link)

    nodes: list[dict[str, Any]] = []
    domestic_flags: dict[str, bool] = {}
    makes: dict[str, list[str]] = {}
    for s in suppliers:
        made = draw(st.lists(st.sampled_from(item_ids), min_size=1, max_size=len(item_ids), unique=True))
        makes[s] = made
        products = []
        for it in made:
            p: dict[str, Any] = {
                "item": it,
                "rate_per_day": draw(st.integers(1, 200)),
                "unit_price_eur": draw(st.integers(1, 5000)),
            }
            if draw(st.booleans()):
                p["initial_stock"] = draw(st.integers(0, 200))
            if draw(st.integers(0, 3)) == 3:  # quantity discounts (pooled agency tenders reach them)
                mins = sorted(set(draw(st.lists(st.integers(1, 600), min_size=1, max_size=2))))
                p["price_breaks"] = [{"min_qty": m, "unit_price_eur": draw(st.integers(0, 5000))} for m in mins]
            if draw(st.integers(0, 3)) == 3:
                days = sorted(draw(st.lists(st.integers(0, horizon), min_size=1, max_size=3)))
                p["ramp"] = [{"day": d, "factor": draw(_days(100, 2000))} for d in days]
            products.append(p)
        domestic_flags[s] = draw(st.booleans())
        nodes.append({"id": s, "kind": "supplier", "domestic": domestic_flags[s], "products": products})
    for h, kind in handling:
        node: dict[str, Any] = {
            "id": h,
            "kind": kind,
            "servers": draw(st.integers(1, 3)),
            "service_days": draw(durations(1.0)),
        }
        if draw(st.booleans()):
            node["storage_cap_lots"] = draw(st.integers(1, 8))
        nodes.append(node)

    # ---------------------------------------------------------------- requirements
    feasible = sorted(
        {(it, u) for s in suppliers for it in makes[s] for u in units if u in _reachable(enabled_pairs, s)}
    )
    n_donors = draw(st.integers(1, 2))
    donors = [f"donor{k}" for k in range(n_donors)]
    requirements: list[dict[str, Any]] = []
    cost = 0.0
    value = {i["id"]: i["unit_value_eur"] for i in items}
    lot_size = {i["id"]: i["lot_size"] for i in items}

    def served(it: str, unit: str, domestic: bool) -> bool:
        """The engine's supplier rule (network.routing.suitable_suppliers) finds a maker reaching ``unit``."""
        makers = [s for s in suppliers if it in makes[s]]
        pool = (
            [s for s in makers if domestic_flags[s]]
            if domestic
            else [s for s in makers if not domestic_flags[s]] or makers
        )
        return any(unit in _reachable(enabled_pairs, s) for s in pool)

    all_domestic_ok = True
    for k in range(draw(st.integers(1, max_requirements))):
        it, unit = draw(st.sampled_from(feasible))
        qty = draw(st.integers(1, lot_size[it] * 10))
        opens = draw(st.integers(0, horizon // 3))
        need_by = draw(st.integers(opens, horizon - 1))  # a date the run holds whole
        options = [c for c in ("agency", "agency", "bilateral", "domestic") if served(it, unit, c == "domestic")]
        all_domestic_ok = all_domestic_ok and served(it, unit, True)
        channel = draw(st.sampled_from(options))
        funders = draw(st.lists(st.sampled_from(donors), min_size=0 if channel == "domestic" else 1, unique=True))
        req: dict[str, Any] = {
            "id": f"R{k}",
            "unit": unit,
            "item": it,
            "qty": qty,
            "opens": _date(opens),
            "need_by": _date(need_by),
            "channel": channel,
            "funders": funders,
        }
        if draw(st.booleans()):
            req["priority"] = draw(st.integers(1, 9))
        requirements.append(req)
        cost += qty * value[it] * 1.1

    for d in donors:
        generous = draw(st.integers(0, 9)) < 9  # shrinks towards a funded scenario
        donor: dict[str, Any] = {
            "id": d,
            "kind": "donor",
            "budget_eur": round(cost * 2, 2) if generous else float(draw(st.integers(0, int(cost) + 1))),
            "bilateral_lead_days": draw(durations(10.0)),
        }
        if draw(st.booleans()):
            donor["tranches"] = [
                {
                    "date": _date(draw(st.integers(0, horizon - 1))),
                    "amount_eur": float(draw(st.integers(0, int(cost) + 1))),
                }
                for _ in range(draw(st.integers(1, 2)))
            ]
        if draw(st.integers(0, 9)) == 9:
            donor["earmarks"] = draw(st.lists(st.sampled_from(item_ids), max_size=len(item_ids), unique=True))
        nodes.append(donor)
    if any(not r["funders"] for r in requirements):  # domestic, paid by Ukraine's state budget
        state: float | str = draw(st.sampled_from(["unlimited", round(cost * 2, 2), float(int(cost) // 3)]))
        nodes.append({"id": "ua_state", "kind": "donor", "state_budget": True, "budget_eur": state})
    nodes.append(
        {
            "id": "agency",
            "kind": "agency",
            "staff": draw(st.integers(1, 3)),
            "tender_days": draw(durations(10.0)),
            "fee_share": draw(st.sampled_from([0.0, 0.02, 0.1])),
            "award_policy": draw(st.sampled_from(["cheapest", "fastest", "split"])),
            "pool_days": draw(_days(0, 3000)),
        }
    )
    for u in units:
        unit_node: dict[str, Any] = {"id": u, "kind": "unit"}
        if consumption and draw(st.booleans()):
            eaten = draw(st.lists(st.sampled_from(item_ids), min_size=1, unique=True))
            unit_node["consumption_per_day"] = {it: draw(_days(0, 20000)) for it in eaten}
            if draw(st.booleans()):
                unit_node["initial_stock"] = {it: draw(st.integers(0, 100)) for it in eaten}
        nodes.append(unit_node)

    # ---------------------------------------------------------------- disruptions
    events: list[dict[str, Any]] = []
    if disruptions:
        targets = [h for h, _ in handling] + [lk["id"] for lk in links] + suppliers
        for k in range(draw(st.integers(0, 2))):
            target = draw(st.sampled_from(targets))
            factor = draw(st.sampled_from([0.0, 0.0, 0.5]))
            loss = draw(st.sampled_from([0.0, 0.0, 0.2])) if target.startswith("L") else 0.0
            if draw(st.booleans()):
                events.append(
                    {
                        "kind": "scheduled",
                        "id": f"D{k}",
                        "target": target,
                        "start": _date(draw(st.integers(0, horizon - 1))),
                        "duration_days": draw(st.integers(1, 30)),
                        "capacity_factor": factor,
                        "loss_probability": loss,
                    }
                )
            else:
                events.append(
                    {
                        "kind": "random",
                        "id": f"D{k}",
                        "target": target,
                        "rate_per_year": draw(st.integers(1, 24)),
                        "duration_days": draw(durations(5.0)),
                        "capacity_factor": factor,
                        "loss_probability": loss,
                    }
                )

    data = {
        "name": "random",
        "start": START,
        "horizon_days": horizon,
        "seed": seed,
        "items": items,
        "nodes": nodes,
        "links": links,
        "requirements": requirements,
        "disruptions": events,
        "policy": {
            "queue_discipline": draw(st.sampled_from(["fifo", "priority"])),
            "routing_weight": draw(st.sampled_from(["transit_days", "hops", "distance_km"])),
            "channel": draw(
                st.sampled_from([None, None, None, "agency", "bilateral", *(["domestic"] if all_domestic_ok else [])])
            ),
            "item_priority": draw(st.dictionaries(st.sampled_from(item_ids), st.integers(1, 9), max_size=2)),
        },
    }
    return Scenario.model_validate(data)
