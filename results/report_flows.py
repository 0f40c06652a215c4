"""Flow figures of the HTML report: the Sankey of flows and the network map, as plotly dicts.

The map is drawn on plain longitude/latitude axes (equirectangular, scaled for the mean
latitude), without map tiles or topojson, so the report needs no network. Node labels are
annotations offset in pixels (``place_labels``: no two overlap at the nominal width, a leader
line to a label set apart). Under ``routing.policy: on_departure`` (issue 15) the Sankey has
one more view per such strategy, *lots by route*: supplier -> route (the chain of node ids a
delivered lot passed, ``results.route_flows``) -> unit, in lots per replication; a ``static``
run's report has no such view. Helpers and colours
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

__all__ = ["NOMINAL_MAP_WIDTH_PX", "network_map", "place_labels", "route_sankey", "route_views", "sankey"]

NOMINAL_MAP_WIDTH_PX = 900
"""Width of the map (pixels) for which node labels are placed apart: the report's column on a
laptop screen, less the colour bar. Labels keep their pixel offsets when the page is wider."""
MAP_HEIGHT_PX = 560
LABEL_FONT_PX = 10
_MARKER_PX = 7.0
"""Half the size of a node marker (pixels)."""


def _sankey_trace(
    flows: dict[tuple[str, str], float], kind: dict[str, str], names: dict[str, str], order: list[str], suffix: str
) -> Fig:
    """One Sankey trace of ``flows`` ((from, to) -> value), nodes in ``order`` (kind order)."""
    used = {x for pair in flows for x in pair}
    nodes = [x for x in order if x in used]
    pos = {x: i for i, x in enumerate(nodes)}
    pairs = sorted(flows, key=lambda p: (pos[p[0]], pos[p[1]]))
    return {
        "type": "sankey",
        "arrangement": "snap",
        "valueformat": ",.0f",
        "valuesuffix": suffix,
        "node": {
            "label": [esc(x) for x in nodes],
            "customdata": [esc(f"{names.get(x) or x} ({kind.get(x, '')})") for x in nodes],
            "hovertemplate": "%{customdata}<br>%{value}<extra></extra>",
            "color": [KIND_COLOURS.get(kind.get(x, ""), "#999999") for x in nodes],
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


def sankey(data: RunData) -> Fig | None:
    """Flows per replication, in EUR or in units of one item, chosen with a dropdown.

    EUR: funds committed (donor -> agency), contracts (agency or donor -> supplier) and the value
    of goods loaded on links (supplier -> hub/border/depot -> unit). Units of an item: the units
    of that item loaded on the links from one node to the next (goods only: money has no units).
    """
    sc = data.resolved[data.primary]
    kind: dict[str, str] = {n.id: n.kind for n in sc.nodes}
    names: dict[str, str] = {n.id: n.name or n.id for n in sc.nodes}
    order = [n.id for k in KIND_ORDER for n in sc.nodes if n.kind == k]
    views: list[tuple[str, Fig]] = []
    eur = {k: v for k, v in data.detail.flows.items() if v > 0}
    if eur:
        views.append(("EUR", _sankey_trace(eur, kind, names, order, " EUR")))
    for it in sc.items:
        units = {k: v for k, v in data.detail.item_flow.get(it.id, {}).items() if v > 0}
        if units:
            views.append((f"units of {it.id}", _sankey_trace(units, kind, names, order, f" {it.id} units")))
    views.extend(route_views(data))
    if not views:
        return None
    traces = [{**trace, "name": esc(label), "visible": k == 0} for k, (label, trace) in enumerate(views)]
    n_nodes = max(len(t["node"]["label"]) for t in traces)
    layout = layout_base(max(380, 28 * n_nodes), margin={"l": 10, "r": 10, "t": 48, "b": 20})
    layout["updatemenus"] = [
        {
            "type": "dropdown",
            "direction": "down",
            "x": 0,
            "y": 1.0,
            "xanchor": "left",
            "yanchor": "bottom",
            "showactive": True,
            "active": 0,
            "buttons": [
                {
                    "label": esc(label),
                    "method": "restyle",
                    "args": [{"visible": [j == k for j in range(len(views))]}],
                }
                for k, (label, _) in enumerate(views)
            ],
        }
    ]
    return {"data": traces, "layout": layout}


def route_sankey(routes: dict[tuple[str, ...], list[float]], kind: dict[str, str]) -> Fig | None:
    """A Sankey trace of lots by route: supplier -> route (``s > h > a > u``) -> unit (None if no lot)."""
    flows: dict[tuple[str, str], float] = {}
    labels: list[str] = []
    for chain, (lots, _units) in routes.items():
        if lots <= 0 or len(chain) < 2:
            continue
        label = " > ".join(chain)
        labels.append(label)
        for pair in ((chain[0], label), (label, chain[-1])):
            flows[pair] = flows.get(pair, 0.0) + lots
    if not flows:
        return None
    ends = [x for chain in routes for x in (chain[0], chain[-1])]
    order = [*dict.fromkeys(x for x in ends if kind.get(x) != "unit"), *labels, *dict.fromkeys(ends)]
    names = {x: x for x in order}
    return _sankey_trace(flows, {**kind, **dict.fromkeys(labels, "route")}, names, list(dict.fromkeys(order)), " lots")


def route_views(data: RunData) -> list[tuple[str, Fig]]:
    """``(label, trace)`` of lots by route for each strategy run under ``routing.policy: on_departure``."""
    from results.route_flows import route_flows_of_run

    out: list[tuple[str, Fig]] = []
    for strategy in data.strategies:
        sc = data.resolved.get(strategy)
        if sc is None or sc.routing.policy == "static":
            continue
        routes = route_flows_of_run(data.run_dir, strategy, data.replications.get(strategy, []))
        trace = route_sankey(routes, {n.id: n.kind for n in sc.nodes})
        if trace is not None:
            out.append((f"lots by route ({strategy})", trace))
    return out


Box = tuple[float, float, float, float]


def _overlap(a: Box, b: Box) -> float:
    """Area shared by two boxes (x0, y0, x1, y1)."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return w * h if w > 0 and h > 0 else 0.0


def label_size(text: str, font_px: float = LABEL_FONT_PX) -> tuple[float, float]:
    """Estimated pixel width and height of a one-line label (0.62 em per character, 1.3 em high, 1 px padding)."""
    return 0.62 * font_px * len(text) + 2, 1.3 * font_px + 2


def place_labels(points: list[tuple[float, float]], sizes: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Offsets (pixels, y down) of label centres from their points so that no two labels overlap.

    Greedy: the most crowded points first, each label at the first candidate position (above,
    below, right, left, the corners, then rings further out) that overlaps no placed label and
    no marker; if none is free, the one overlapping least.

    Args:
        points: Marker centres in pixels (y down).
        sizes: Label (width, height) in pixels.
    """
    markers = [(x - _MARKER_PX, y - _MARKER_PX, x + _MARKER_PX, y + _MARKER_PX) for x, y in points]

    def crowd(i: int) -> float:
        x, y = points[i]
        return -sum(1.0 / (1.0 + math.hypot(x - u, y - v)) for j, (u, v) in enumerate(points) if j != i)

    placed: list[Box] = []
    out: list[tuple[float, float]] = [(0.0, 0.0)] * len(points)
    for i in sorted(range(len(points)), key=crowd):
        (x, y), (w, h) = points[i], sizes[i]
        gx, gy = _MARKER_PX + w / 2 + 2, _MARKER_PX + h / 2 + 1
        near = [(0.0, -gy), (0.0, gy), (gx, 0.0), (-gx, 0.0), (gx, -gy), (-gx, -gy), (gx, gy), (-gx, gy)]
        candidates = list(near)
        for ring in (1.6, 2.4, 3.4, 4.6, 6.0):
            for k in range(16):
                a = 2 * math.pi * k / 16
                candidates.append((math.cos(a) * gx * ring, -math.sin(a) * (gy + 10) * ring))
        best, best_cost = candidates[0], math.inf
        for dx, dy in candidates:
            box = (x + dx - w / 2, y + dy - h / 2, x + dx + w / 2, y + dy + h / 2)
            cost = sum(_overlap(box, b) for b in placed) + sum(_overlap(box, m) for m in markers)
            if cost < best_cost:
                best, best_cost = (dx, dy), cost
                if cost == 0:
                    break
        out[i] = best
        dx, dy = best
        placed.append((x + dx - w / 2, y + dy - h / 2, x + dx + w / 2, y + dy + h / 2))
    return out


def _map_frame(loc: dict[str, tuple[float, float]], ratio: float) -> tuple[list[float], list[float], float]:
    """Axis ranges around the nodes and the nominal pixels per degree of longitude."""
    xs, ys = [p[0] for p in loc.values()], [p[1] for p in loc.values()]
    pad_x = max(0.08 * (max(xs) - min(xs)), 0.5)
    pad_y = max(0.08 * (max(ys) - min(ys)), 0.5)
    xr = [min(xs) - pad_x, max(xs) + pad_x]
    yr = [min(ys) - pad_y, max(ys) + pad_y]
    margin = {"l": 60, "r": 24, "t": 44, "b": 48}
    w = NOMINAL_MAP_WIDTH_PX - margin["l"] - margin["r"]
    h = MAP_HEIGHT_PX - margin["t"] - margin["b"]
    return xr, yr, min(w / (xr[1] - xr[0]), h / ((yr[1] - yr[0]) * ratio))


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
                "mode": "markers",
                "x": [loc[n.id][0] for n in nodes],
                "y": [loc[n.id][1] for n in nodes],
                "customdata": [esc(f"{n.name or n.id} ({n.kind}, {n.id})") for n in nodes],
                "hovertemplate": "%{customdata}<br>%{y:.2f}°N %{x:.2f}°E<extra></extra>",
                "marker": {"size": 12, "symbol": KIND_SYMBOLS[k], "color": KIND_COLOURS[k], "line": {"width": 1}},
                "name": k,
            }
        )
    ratio = round(1 / max(math.cos(math.radians(lat0)), 0.1), 4)
    xr, yr, px = _map_frame(loc, ratio)
    ids = list(loc)
    points = [((loc[i][0] - xr[0]) * px, (yr[1] - loc[i][1]) * px * ratio) for i in ids]
    sizes = [label_size(i) for i in ids]
    for i, (dx, dy), (w, h) in zip(ids, place_labels(points, sizes), sizes, strict=True):
        far = abs(dx) > _MARKER_PX + w / 2 + 3 or abs(dy) > _MARKER_PX + h / 2 + 2
        annotations.append(
            {
                "x": loc[i][0],
                "y": loc[i][1],
                "xref": "x",
                "yref": "y",
                "text": esc(i),
                "font": {"size": LABEL_FONT_PX, "color": "#444444"},
                "bgcolor": "rgba(255,255,255,0.75)",
                "borderpad": 1,
                "showarrow": True,
                "ax": round(dx, 1),
                "ay": round(dy, 1),
                "arrowhead": 0,
                "arrowwidth": 0.8,
                "standoff": _MARKER_PX if far else 0,
                "arrowcolor": "#8c8c8c" if far else "rgba(0,0,0,0)",  # a leader line only for a label set apart
            }
        )
    return {
        "data": traces,
        "layout": layout_base(
            MAP_HEIGHT_PX,
            xaxis={**AXIS, "title": {"text": "longitude °E"}, "range": nums(xr, 4)},
            yaxis={
                **AXIS,
                "title": {"text": "latitude °N"},
                "range": nums(yr, 4),
                "scaleanchor": "x",
                "scaleratio": ratio,
            },
            annotations=annotations,
        ),
    }
