"""Flow figures of the HTML report: the Sankey of flows and the network map, as plotly dicts.

The map is drawn on plain longitude/latitude axes (equirectangular, scaled for the mean
latitude), without map tiles or topojson, so the report needs no network. Helpers and colours
are those of ``results.report_charts``.
"""

from __future__ import annotations

import math
from typing import Any

from results.report_charts import (
    AXIS,
    HEAT_SCALE,
    KIND_COLOURS,
    KIND_ORDER,
    KIND_SYMBOLS,
    Fig,
    colour_at,
    esc,
    layout_base,
    nums,
    rgba,
)
from results.report_data import RunData

__all__ = ["network_map", "sankey"]


def sankey(data: RunData) -> Fig | None:
    """Flows donor -> agency -> supplier -> hub/border/depot -> unit, in EUR per replication."""
    flows = {k: v for k, v in data.detail.flows.items() if v > 0}
    if not flows:
        return None
    sc = data.resolved[data.primary]
    kind = {n.id: n.kind for n in sc.nodes}
    names = {n.id: n.name for n in sc.nodes}
    used = {x for pair in flows for x in pair}
    order = [n.id for k in KIND_ORDER for n in sc.nodes if n.kind == k and n.id in used]
    pos = {x: i for i, x in enumerate(order)}
    pairs = sorted(flows, key=lambda p: (pos[p[0]], pos[p[1]]))
    return {
        "data": [
            {
                "type": "sankey",
                "arrangement": "snap",
                "valueformat": ",.0f",
                "valuesuffix": " EUR",
                "node": {
                    "label": [esc(x) for x in order],
                    "customdata": [esc(f"{names.get(x) or x} ({kind.get(x, '')})") for x in order],
                    "hovertemplate": "%{customdata}<br>%{value}<extra></extra>",
                    "color": [KIND_COLOURS.get(kind.get(x, ""), "#999999") for x in order],
                    "pad": 14,
                    "thickness": 16,
                },
                "link": {
                    "source": [pos[a] for a, _ in pairs],
                    "target": [pos[b] for _, b in pairs],
                    "value": [round(flows[p], 0) for p in pairs],
                    "color": [rgba(KIND_COLOURS.get(kind.get(a, ""), "#999999"), 0.35) for a, _ in pairs],
                },
            }
        ],
        "layout": layout_base(max(380, 28 * len(order)), margin={"l": 10, "r": 10, "t": 20, "b": 20}),
    }


def network_map(data: RunData, summary: dict[tuple[str | None, ...], dict[str, Any]]) -> Fig | None:
    """Nodes at their coordinates (no map tiles); link width = EUR carried, colour = utilisation."""
    sc = data.resolved[data.primary]
    loc = {n.id: (n.location.lon, n.location.lat) for n in sc.nodes if n.location is not None}
    if not loc:
        return None
    lats = [lat for _, lat in loc.values()]
    lat0 = (min(lats) + max(lats)) / 2
    flows = data.detail.link_flow
    top = max([f["eur"] for f in flows.values()] + [1.0])
    traces: list[Fig] = []
    annotations: list[dict[str, Any]] = []
    mid_x, mid_y, mid_text = [], [], []
    for lk in sc.links:
        if lk.from_ not in loc or lk.to not in loc or not lk.enabled:
            continue
        (x0, y0), (x1, y1) = loc[lk.from_], loc[lk.to]
        f = flows.get(lk.id, {})
        row = summary.get((data.primary, "utilisation", None, None, lk.id))
        util = row["mean"] if row is not None and row["mean"] is not None else 0.0
        colour = colour_at(HEAT_SCALE, util)
        width = 1.5 + 10.0 * math.sqrt(f.get("eur", 0.0) / top)
        traces.append(
            {
                "type": "scatter",
                "mode": "lines",
                "x": [x0, x1],
                "y": [y0, y1],
                "line": {"color": colour, "width": round(width, 2)},
                "hoverinfo": "skip",
                "showlegend": False,
            }
        )
        annotations.append(
            {
                "x": x0 + 0.62 * (x1 - x0),
                "y": y0 + 0.62 * (y1 - y0),
                "ax": x0 + 0.5 * (x1 - x0),
                "ay": y0 + 0.5 * (y1 - y0),
                "xref": "x",
                "yref": "y",
                "axref": "x",
                "ayref": "y",
                "showarrow": True,
                "arrowhead": 2,
                "arrowsize": 1,
                "arrowwidth": 1.5,
                "arrowcolor": "#555555",
                "text": "",
            }
        )
        mid_x.append((x0 + x1) / 2)
        mid_y.append((y0 + y1) / 2)
        lines = (
            f"{lk.id} ({lk.mode}) {lk.from_} → {lk.to}",
            f"utilisation {util:.0%}, {lk.vehicles} vehicles",
            f"per replication: {f.get('lots', 0):,.0f} lots, {f.get('units', 0):,.0f} units, "
            f"EUR {f.get('eur', 0):,.0f}, {f.get('m3', 0):,.0f} m3",
        )
        mid_text.append("<br>".join(esc(line) for line in lines))
    traces.append(
        {
            "type": "scatter",
            "mode": "markers",
            "x": nums(mid_x, 4),
            "y": nums(mid_y, 4),
            "text": mid_text,
            "hovertemplate": "%{text}<extra></extra>",
            "marker": {
                "size": 9,
                "opacity": 0.01,
                "color": [0.0] * len(mid_x),
                "cmin": 0,
                "cmax": 1,
                "colorscale": HEAT_SCALE,
                "showscale": True,
                "colorbar": {"title": {"text": "link utilisation"}, "tickformat": ".0%", "len": 0.6},
            },
            "name": "links",
            "showlegend": False,
        }
    )
    for k in KIND_ORDER:
        nodes = [n for n in sc.nodes if n.kind == k and n.id in loc]
        if not nodes:
            continue
        traces.append(
            {
                "type": "scatter",
                "mode": "markers+text",
                "x": [loc[n.id][0] for n in nodes],
                "y": [loc[n.id][1] for n in nodes],
                "text": [esc(n.id) for n in nodes],
                "textposition": "top center",
                "textfont": {"size": 10, "color": "#444444"},
                "customdata": [esc(f"{n.name or n.id} ({n.kind}, {n.id})") for n in nodes],
                "hovertemplate": "%{customdata}<br>%{y:.2f}°N %{x:.2f}°E<extra></extra>",
                "marker": {"size": 12, "symbol": KIND_SYMBOLS[k], "color": KIND_COLOURS[k], "line": {"width": 1}},
                "name": k,
            }
        )
    return {
        "data": traces,
        "layout": layout_base(
            560,
            xaxis={**AXIS, "title": {"text": "longitude °E"}},
            yaxis={
                **AXIS,
                "title": {"text": "latitude °N"},
                "scaleanchor": "x",
                "scaleratio": round(1 / max(math.cos(math.radians(lat0)), 0.1), 4),
            },
            annotations=annotations,
        ),
    }
