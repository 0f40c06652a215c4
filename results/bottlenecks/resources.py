"""The capacity-bearing resources of a scenario, named as the bottleneck analysis names them.

A resource is a handling node (``node:<id>``), an enabled link's vehicle pool (``link:<id>``),
an agency's contracting staff (``agency:<id>``) or a supplier's production line
(``supplier:<id>``, or ``supplier:<id>/<item>`` for a supplier with several lines).
"""

from __future__ import annotations

from dataclasses import dataclass

from scenarios.schema import Agency, Border, Depot, Hub, Scenario, Supplier

__all__ = ["Resource", "resources"]


@dataclass(frozen=True)
class Resource:
    """A capacity-bearing resource of the scenario.

    Attributes:
        name: ``node:<id>``, ``link:<id>``, ``agency:<id>``, ``supplier:<id>`` (or
            ``supplier:<id>/<item>`` for a supplier with several lines).
        kind: ``node``, ``link``, ``agency`` or ``supplier``.
        id: The node or link id.
        item: The line's item (suppliers only).
        capacity: Servers, vehicles, staff, or the line's base rate in units per day.
        unit: What ``capacity`` counts: ``servers``, ``vehicles``, ``staff`` or ``units/day``.
    """

    name: str
    kind: str
    id: str
    item: str | None
    capacity: float
    unit: str


def resources(scenario: Scenario) -> list[Resource]:
    """Every resource of ``scenario``: agencies, supplier lines and handling nodes in file order, then links.

    Disabled links are left out.

    Example:
        >>> from scenarios.load import load
        >>> [r.name for r in resources(load("scenarios/small_routers.yaml"))][:2]
        ['agency:nspa', 'supplier:riga_networks']
    """
    out: list[Resource] = []
    for n in scenario.nodes:
        if isinstance(n, Agency):
            out.append(Resource(f"agency:{n.id}", "agency", n.id, None, float(n.staff), "staff"))
        elif isinstance(n, Supplier):
            many = len(n.products) > 1
            for p in n.products:
                name = f"supplier:{n.id}/{p.item}" if many else f"supplier:{n.id}"
                out.append(Resource(name, "supplier", n.id, p.item, float(p.rate_per_day), "units/day"))
        elif isinstance(n, (Hub, Border, Depot)):
            out.append(Resource(f"node:{n.id}", "node", n.id, None, float(n.servers), "servers"))
    for lk in scenario.links:
        if lk.enabled:
            out.append(Resource(f"link:{lk.id}", "link", lk.id, None, float(lk.vehicles), "vehicles"))
    return out
