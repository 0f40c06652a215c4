"""The supply graph of a scenario: build it, check it, route on it, bound its flow.

- :mod:`network.build`: ``Scenario`` -> supply graph whose attributes are plain data with units
  in their names (``transit_days``, ``capacity_m3``, ``lots_per_day``...): as plain dicts
  (:func:`network.build.supply_graph`, :mod:`network.graph`) or a frozen ``nx.DiGraph``;
- :mod:`network.checks`: structural problems (unreachable units, lots too big for a vehicle,
  cycles, duplicate links, earmarks...) as :class:`Check` findings with field paths;
- :mod:`network.routing`: cached shortest routes weighted by an edge-attribute name;
- :mod:`network.capacity`: max-flow / min-cut throughput bounds per item, in units per day.

The package depends on ``scenarios`` only, never on the engine (``sim``) or ``results``.
Its names are loaded on first use: ``import network.checks`` (``aidflow validate``, ``run``)
must not import networkx, which only the flow bounds need.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["Bound", "Check", "RouteRow", "Router", "bounds", "build_graph", "check", "max_flow_bound", "route_table"]

_HOME = {
    "Bound": "network.capacity",
    "bounds": "network.capacity",
    "max_flow_bound": "network.capacity",
    "build_graph": "network.build",
    "Check": "network.checks",
    "check": "network.checks",
    "RouteRow": "network.routing",
    "Router": "network.routing",
    "route_table": "network.routing",
}


def __getattr__(name: str) -> Any:
    """Load ``network.<name>`` from its module on first use (PEP 562)."""
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module 'network' has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)
