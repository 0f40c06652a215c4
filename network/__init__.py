"""The supply graph of a scenario (networkx): build it, check it, route on it, bound its flow.

- :mod:`network.build`: ``Scenario`` -> frozen ``nx.DiGraph`` whose attributes are plain data
  with units in their names (``transit_days``, ``capacity_m3``, ``lots_per_day``...);
- :mod:`network.checks`: structural problems (unreachable units, lots too big for a vehicle,
  cycles, duplicate links, earmarks...) as :class:`Check` findings with field paths;
- :mod:`network.routing`: cached shortest routes weighted by an edge-attribute name;
- :mod:`network.capacity`: max-flow / min-cut throughput bounds per item, in units per day.

The package depends on ``scenarios`` only, never on the engine (``sim``) or ``results``.
"""

from network.build import build_graph
from network.capacity import Bound, bounds, max_flow_bound
from network.checks import Check, check
from network.routing import Router, RouteRow, route_table

__all__ = ["Bound", "Check", "RouteRow", "Router", "bounds", "build_graph", "check", "max_flow_bound", "route_table"]
