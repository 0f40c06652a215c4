"""The report's inventory panel: stock on hand and backorders per node over time (issue 14).

One small chart per node that holds stock of an item with consumption or stock rows (units,
and depots with a stock policy): for each item, its on-hand stock (solid) and its backorders
not yet filled (dashed), daily time averages over the primary strategy's replications, as
the WIP panel. The levels are those of the inventory KPIs (``results.kpis.inventory``: the
same ``InventoryDeltas``), so a day's mean here is that day's share of ``on_hand_mean_units``.

The series come from ``results.inventory_series`` (``results.report_detail`` feeds it the
primary strategy's chunks into ``Detail.inventory``). Without an inventory pair the panel is
left out.

Example:
    >>> inventory_panel_from({}, [], "baseline") is None
    True
"""

from __future__ import annotations

from typing import Any

import numpy as np

from results.report_charts import PALETTE, _grid, esc, nums
from results.report_data import RunData

__all__ = ["inventory_panel", "inventory_panel_from"]


def inventory_panel(data: RunData) -> dict[str, Any] | None:
    """The inventory figure of the run's primary strategy, or None without inventory data."""
    return inventory_panel_from(data.detail.inventory, data.dates(data.day_edges[:-1]), data.primary)


def inventory_panel_from(
    series: dict[tuple[str, str], np.ndarray], dates: list[str], strategy: str
) -> dict[str, Any] | None:
    """Small multiples per node of ``series`` ((node, item) -> 2 x bins: on hand, backorders) over ``dates``."""
    if not series:
        return None
    nodes = list(dict.fromkeys(node for node, _ in series))
    items = list(dict.fromkeys(item for _, item in series))
    layout, refs = _grid(len(nodes), 3, nodes, 190)
    traces: list[dict[str, Any]] = []
    shown: set[str] = set()
    for k, (node, (xr, yr)) in enumerate(zip(nodes, refs, strict=True)):
        for (nd, item), arr in series.items():
            if nd != node:
                continue
            colour = PALETTE[items.index(item) % len(PALETTE)]
            for row, label, dash in ((0, "on hand", "solid"), (1, "backorders", "dash")):
                if row == 1 and not np.any(arr[1]):
                    continue
                name = f"{item}: {label}"
                traces.append(
                    {
                        "type": "scatter",
                        "mode": "lines",
                        "x": dates,
                        "y": nums(arr[row], 2),
                        "xaxis": xr,
                        "yaxis": yr,
                        "name": esc(name),
                        "legendgroup": esc(name),
                        "showlegend": name not in shown,
                        "line": {"color": colour, "width": 1.5, "dash": dash},
                        "hovertemplate": f"{esc(node)}<br>{esc(name)}<br>%{{x}}<br>%{{y:,.1f}} units<extra></extra>",
                    }
                )
                shown.add(name)
        layout[f"xaxis{'' if k == 0 else k + 1}"]["type"] = "date"
    layout["yaxis"]["title"] = {"text": f"units (daily mean, {esc(strategy)})"}
    return {"data": traces, "layout": layout}
