"""Event kinds and the row layout of the event log (design.md section 3).

Every state change of a run is one row. Columns (one Arrow table per replication):

=========  ==========  ==============================================================
column     type        meaning
=========  ==========  ==============================================================
seq        int64       strictly increasing row number
t          float64     days from the scenario start (non-decreasing, finite)
kind       dict<str>   one of ``KINDS``
lot        int64       lot id, -1 if the row is not about a lot
item       dict<str>   item id (null if none)
qty        int64       units (null if the row carries no quantity)
node       dict<str>   node id (null if none)
link       dict<str>   link id (null if none)
vehicle    int64       vehicle number on ``link``, -1 if none
ref        int64       requirement index (its position in the scenario), -1 if none
value      float64     EUR or a duration in days, null if none
=========  ==========  ==============================================================

What each kind carries:

- ``requirement_opened``: ref, item, qty, node = unit, value = need-by day ``d`` (00:00 of the
  need-by date; the date lasts until ``d + 1``, ``scenarios.schema.due_day``).
- ``funds_committed``: ref, item, node = donor, value = EUR committed (the estimate when the
  requirement is funded; the extra when its contract plus fee costs more).
- ``funds_released``: ref, item, node = donor, value = EUR given back (> 0) once the requirement's
  contracts plus fees cost less than was committed for it. A donor's money spent so far is
  ``sum(funds_committed) - sum(funds_released)``; after the last contract of a requirement it
  equals the requirement's contract value plus fees (scenarios/LANGUAGE.md, "Money").
- ``funds_short``: ref, node = donor that could not pay (the requirement now waits).
- ``tender_started`` / ``tender_finished``: ref, node = agency, qty, value = tender days.
- ``contract_awarded``: ref, node = supplier, item, qty, value = contract EUR, fee excluded
  (qty times the unit price, after price breaks).
- ``fee_charged``: ref, node = agency, item, value = the agency's fee on that contract (EUR);
  one row per agency contract.
- ``lot_produced``: lot, ref, node = supplier, item, qty.
- ``queued``: lot waits at node (for service) or, with link set, for a vehicle on link.
- ``service_started`` / ``service_finished``: lot at a handling node.
- ``loaded``: lot onto vehicle of link at node (leaves the node).
- ``departed`` / ``returned``: a vehicle leaves (qty = units on board) / is back empty.
- ``arrived``: lot reaches node via link.
- ``delivered``: lot handed to the unit (node), ref = requirement.
- ``lost``: lot lost in transit on link.
- ``requirement_filled``: ref, qty = delivered units, value = days late past the end of the
  need-by date, ``t - (d + 1)`` (<= 0: on time).
- ``consumed`` / ``stockout``: unit's daily consumption / unmet demand (qty).
- ``disruption_started`` / ``disruption_ended``: node or link, value = capacity factor.
- ``budget_added``: node = donor, value = EUR (opening budget and tranches).
- ``rerouted``: lot at node leaves its planned route; link = the new next link, value = the old
  route's expected days to the destination minus the new one's (issue 15, routing); item, qty,
  ref as the lot's; vehicle = the new route's id in the run's route table (``RunResult.routes``
  in the manifest; ``sim.model.routing`` says how the old route is read).
- ``order_placed``: a stock policy at node orders qty of item; ref = the requirement it opens,
  value = the inventory position (on hand + on order - backorders) when it decided.
- ``stock_received``: qty of item enters node's stock (a depot; at a unit ``delivered`` does it);
  lot = the lot that brought it, -1 for opening stock.
- ``stock_issued``: a depot ships qty of item from its stock as a new lot towards ref.
- ``backorder_filled``: node, item, qty = backordered units served from stock that arrived.
"""

from __future__ import annotations

__all__ = [
    "COLUMNS",
    "KINDS",
    "KIND_CODE",
    "LOT_KINDS",
    "ARRIVED",
    "BACKORDER_FILLED",
    "BUDGET_ADDED",
    "CONSUMED",
    "CONTRACT_AWARDED",
    "DELIVERED",
    "DEPARTED",
    "DISRUPTION_ENDED",
    "DISRUPTION_STARTED",
    "FEE_CHARGED",
    "FUNDS_COMMITTED",
    "FUNDS_RELEASED",
    "FUNDS_SHORT",
    "LOADED",
    "LOST",
    "LOT_PRODUCED",
    "ORDER_PLACED",
    "QUEUED",
    "REQUIREMENT_FILLED",
    "REQUIREMENT_OPENED",
    "REROUTED",
    "RETURNED",
    "SERVICE_FINISHED",
    "SERVICE_STARTED",
    "STOCKOUT",
    "STOCK_ISSUED",
    "STOCK_RECEIVED",
    "TENDER_FINISHED",
    "TENDER_STARTED",
]

KINDS: tuple[str, ...] = (
    "requirement_opened",
    "funds_committed",
    "funds_short",
    "tender_started",
    "tender_finished",
    "contract_awarded",
    "lot_produced",
    "queued",
    "service_started",
    "service_finished",
    "loaded",
    "departed",
    "arrived",
    "delivered",
    "lost",
    "returned",
    "requirement_filled",
    "consumed",
    "stockout",
    "disruption_started",
    "disruption_ended",
    "budget_added",
    "funds_released",
    "fee_charged",
    "rerouted",
    "order_placed",
    "stock_received",
    "stock_issued",
    "backorder_filled",
)
"""Every kind of row, named once; the position is the kind's code."""

KIND_CODE: dict[str, int] = {k: i for i, k in enumerate(KINDS)}

(
    REQUIREMENT_OPENED,
    FUNDS_COMMITTED,
    FUNDS_SHORT,
    TENDER_STARTED,
    TENDER_FINISHED,
    CONTRACT_AWARDED,
    LOT_PRODUCED,
    QUEUED,
    SERVICE_STARTED,
    SERVICE_FINISHED,
    LOADED,
    DEPARTED,
    ARRIVED,
    DELIVERED,
    LOST,
    RETURNED,
    REQUIREMENT_FILLED,
    CONSUMED,
    STOCKOUT,
    DISRUPTION_STARTED,
    DISRUPTION_ENDED,
    BUDGET_ADDED,
    FUNDS_RELEASED,
    FEE_CHARGED,
    REROUTED,
    ORDER_PLACED,
    STOCK_RECEIVED,
    STOCK_ISSUED,
    BACKORDER_FILLED,
) = range(len(KINDS))

LOT_KINDS = frozenset(
    {"lot_produced", "queued", "service_started", "service_finished", "loaded", "arrived", "delivered", "lost"}
)
"""Kinds whose rows are about one lot (``lot`` >= 0)."""

COLUMNS: tuple[str, ...] = ("seq", "t", "kind", "lot", "item", "qty", "node", "link", "vehicle", "ref", "value")
"""Column order of the event table."""
