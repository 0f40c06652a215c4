"""Plotly figures of the HTML report, as plain ``{"data": [...], "layout": {...}}`` dicts.

Each builder takes the projections of ``results.report_data`` and returns one figure (or None
when the run has nothing to show), ready for ``Plotly.newPlot`` in the page: no template, no
external resource. The Sankey and the network map are in ``results.report_flows``, the
bottleneck figures in ``results.report_bottlenecks``. Free text from the scenario (names) is
HTML-escaped, because plotly.js reads a subset of HTML in labels. Numbers are rounded and
non-finite values become null, so the figures serialise with ``json.dumps(allow_nan=False)``.

Example:
    >>> fig = forest([])
    >>> fig is None
    True
"""

from __future__ import annotations

import html
import itertools
import math
from typing import Any

import numpy as np

from results.report_data import Detail, RunData, ecdf_points, mean_band

__all__ = [
    "KIND_COLOURS",
    "PALETTE",
    "AXIS",
    "Fig",
    "KIND_ORDER",
    "HEAT_SCALE",
    "KIND_SYMBOLS",
    "STAGE_COLOURS",
    "colour_at",
    "cumulative",
    "esc",
    "forest",
    "layout_base",
    "lead_time_ecdf",
    "nums",
    "rgba",
    "stage_breakdown",
    "throughput",
    "utilisation_heatmap",
    "wip_queue",
]

Fig = dict[str, Any]

PALETTE = ("#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f")
"""Series colours (Tableau 10)."""

KIND_COLOURS = {
    "donor": "#59a14f",
    "agency": "#b07aa1",
    "supplier": "#4e79a7",
    "hub": "#f28e2b",
    "border": "#e15759",
    "depot": "#edc948",
    "unit": "#76b7b2",
}
KIND_ORDER = tuple(KIND_COLOURS)
KIND_SYMBOLS = {
    "donor": "diamond",
    "agency": "star",
    "supplier": "square",
    "hub": "circle",
    "border": "x",
    "depot": "triangle-up",
    "unit": "hexagon",
}
HEAT_SCALE = [[0.0, "#ffffcc"], [0.25, "#fed976"], [0.5, "#fd8d3c"], [0.75, "#e31a1c"], [1.0, "#800026"]]
STAGE_COLOURS = ("#bab0ac", "#b07aa1", "#4e79a7", "#f28e2b", "#59a14f")
AXIS = {"gridcolor": "#e6e6e6", "zeroline": False, "automargin": True}
_FONT = {"family": "system-ui, -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif", "size": 12}


# --------------------------------------------------------------------------- helpers


def esc(text: Any) -> str:
    """``text`` with ``&``, ``<`` and ``>`` as HTML entities (plotly.js parses tags in labels)."""
    return html.escape(str(text), quote=False)


def nums(values: Any, digits: int = 3) -> list[float | None]:
    """A JSON-ready list: rounded floats, None for NaN and infinities."""
    arr = np.round(np.asarray(values, dtype=np.float64), digits)
    out: list[float | None] = arr.tolist()
    if not np.isfinite(arr).all():
        out = [v if v is not None and math.isfinite(v) else None for v in out]
    return out


def rgba(hex_colour: str, alpha: float) -> str:
    """``#rrggbb`` with an alpha, as a CSS ``rgba()``."""
    h = hex_colour.lstrip("#")
    r, g, b = (int(h[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


def colour_at(scale: list[list[Any]], x: float) -> str:
    """The colour of ``scale`` (plotly colourscale of hex stops) at ``x`` in [0, 1]."""
    x = min(max(float(x), 0.0), 1.0) if math.isfinite(x) else 0.0
    for (x0, c0), (x1, c1) in itertools.pairwise(scale):
        if x <= x1:
            f = 0.0 if x1 == x0 else (x - x0) / (x1 - x0)
            a = [int(c0[i : i + 2], 16) for i in (1, 3, 5)]
            b = [int(c1[i : i + 2], 16) for i in (1, 3, 5)]
            return "#" + "".join(f"{round(u + (v - u) * f):02x}" for u, v in zip(a, b, strict=True))
    return str(scale[-1][1])


def layout_base(height: int, **extra: Any) -> dict[str, Any]:
    """Common layout: size, margins, font, white background, legend above the plot."""
    base: dict[str, Any] = {
        "height": height,
        "margin": {"l": 60, "r": 24, "t": 44, "b": 48},
        "font": _FONT,
        "paper_bgcolor": "#ffffff",
        "plot_bgcolor": "#ffffff",
        "hovermode": "closest",
        "legend": {"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom"},
    }
    base.update(extra)
    return base


def _grid(n: int, cols: int, titles: list[str], row_px: int = 250) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """Layout of ``n`` panels in ``cols`` columns (small multiples) and each panel's axis refs."""
    cols = max(1, min(cols, n))
    rows = max(1, math.ceil(n / cols))
    height = rows * row_px + 90
    hgap, vgap = 0.07 if cols > 1 else 0.0, min(0.25, 70 / height)
    w = (1 - hgap * (cols - 1)) / cols
    h = (1 - vgap * (rows - 1)) / rows
    layout: dict[str, Any] = layout_base(height, annotations=[], showlegend=True)
    top, bottom = 84, 40
    # the legend sits above the first row's panel titles
    layout["legend"] = {"orientation": "h", "x": 0, "y": 1 + 26 / (height - top - bottom), "yanchor": "bottom"}
    layout["margin"] = {"l": 60, "r": 24, "t": top, "b": bottom}
    refs = []
    for k in range(n):
        r, c = divmod(k, cols)
        x0, y1 = c * (w + hgap), 1 - r * (h + vgap)
        sfx = "" if k == 0 else str(k + 1)
        layout[f"xaxis{sfx}"] = {**AXIS, "domain": [round(x0, 4), round(x0 + w, 4)], "anchor": f"y{sfx}"}
        layout[f"yaxis{sfx}"] = {**AXIS, "domain": [round(y1 - h, 4), round(y1, 4)], "anchor": f"x{sfx}"}
        layout["annotations"].append(
            {
                "text": f"<b>{esc(titles[k])}</b>",
                "x": x0 + w / 2,
                "y": y1,
                "xref": "paper",
                "yref": "paper",
                "xanchor": "center",
                "yanchor": "bottom",
                "showarrow": False,
            }
        )
        refs.append((f"x{sfx}", f"y{sfx}"))
    return layout, refs


def _band(
    x: list[str], samples: np.ndarray, colour: str, name: str, xr: str, yr: str, first: bool, band: bool = True
) -> list[Fig]:
    """Mean line of replications with its 95% t-band (none for one replication, or without ``band``)."""
    mean, lo, hi = mean_band(samples)
    lo = None if lo is None else np.maximum(lo, 0.0)  # units are never negative
    traces: list[Fig] = []
    common = {"x": x, "xaxis": xr, "yaxis": yr, "legendgroup": name, "type": "scatter", "mode": "lines"}
    if band and lo is not None and hi is not None:
        traces.append({**common, "y": nums(lo, 1), "line": {"width": 0}, "hoverinfo": "skip", "showlegend": False})
        traces.append(
            {
                **common,
                "y": nums(hi, 1),
                "line": {"width": 0},
                "fill": "tonexty",
                "fillcolor": rgba(colour, 0.2),
                "hoverinfo": "skip",
                "showlegend": False,
                "name": f"{name} 95% CI",
            }
        )
    traces.append(
        {**common, "y": nums(mean, 1), "name": esc(name), "line": {"color": colour, "width": 2}, "showlegend": first}
    )
    return traces


def _colours(names: list[str]) -> dict[str, str]:
    return {n: PALETTE[k % len(PALETTE)] for k, n in enumerate(names)}


# --------------------------------------------------------------------------- deliveries


def cumulative(data: RunData) -> Fig | None:
    """Cumulative units delivered per item (mean and 95% band per strategy) against need-by dates."""
    items = [it.id for it in data.scenario.items if any(it.id in data.cum[s] for s in data.strategies)]
    if not items:
        return None
    layout, refs = _grid(len(items), 2, items, 280)
    x = data.dates(data.day_edges)
    colours = _colours(data.strategies)
    traces: list[Fig] = []
    sc = data.resolved[data.primary]
    units = {n.id: n.name or n.id for n in sc.nodes}
    for k, (item, (xr, yr)) in enumerate(zip(items, refs, strict=True)):
        for s in data.strategies:
            if item in data.cum[s]:
                traces += _band(x, data.cum[s][item], colours[s], s, xr, yr, k == 0)
        reqs = sorted((r for r in sc.requirements if r.item == item), key=lambda r: r.need_by)
        if reqs:
            cum = np.cumsum([r.qty for r in reqs])
            dates = [sc.start.isoformat(), *(r.need_by.isoformat() for r in reqs)]
            traces.append(
                {
                    "type": "scatter",
                    "mode": "lines+markers",
                    "x": dates,
                    "y": [0, *cum.tolist()],
                    "xaxis": xr,
                    "yaxis": yr,
                    "line": {"shape": "hv", "dash": "dash", "color": "#333333", "width": 1.5},
                    "marker": {"size": 6, "symbol": "line-ew-open", "color": "#333333"},
                    "name": "required by need-by date",
                    "legendgroup": "required",
                    "showlegend": k == 0,
                    "text": ["start", *(esc(f"{r.id}: {r.qty:,} for {units.get(r.unit, r.unit)}") for r in reqs)],
                    "hovertemplate": "%{text}<br>need-by %{x}<br>cumulative %{y:,}<extra></extra>",
                }
            )
        layout[f"xaxis{'' if k == 0 else k + 1}"]["type"] = "date"
        layout[f"yaxis{'' if k == 0 else k + 1}"]["title"] = {"text": "units delivered"}
    return {"data": traces, "layout": layout}


def throughput(data: RunData) -> Fig | None:
    """Units delivered per week per item, one line per strategy (mean over replications)."""
    items = [it.id for it in data.scenario.items if any(it.id in data.weekly[s] for s in data.strategies)]
    if not items or len(data.week_edges) < 2:
        return None
    layout, refs = _grid(len(items), 2, items, 240)
    x = data.dates(data.week_edges[:-1])
    colours = _colours(data.strategies)
    traces: list[Fig] = []
    for k, (item, (xr, yr)) in enumerate(zip(items, refs, strict=True)):
        for s in data.strategies:
            if item in data.weekly[s]:
                traces += _band(x, data.weekly[s][item], colours[s], s, xr, yr, k == 0, band=False)
        for tr in traces:
            if tr.get("xaxis") == xr:
                tr["line"]["shape"] = "hv"
        layout[f"xaxis{'' if k == 0 else k + 1}"]["type"] = "date"
        layout[f"yaxis{'' if k == 0 else k + 1}"]["title"] = {"text": "units / week"}
    return {"data": traces, "layout": layout}


# --------------------------------------------------------------------------- lead times


def lead_time_ecdf(data: RunData) -> Fig | None:
    """Share of delivered units with lead time <= x days, per item (<= 500 points each)."""
    from results.kpis import weighted_quantile

    traces: list[Fig] = []
    for k, (item, (lead, w)) in enumerate(data.detail.lead.items()):
        if len(lead) == 0:
            continue
        x, y = ecdf_points(lead, w, 500)
        p50, p90 = weighted_quantile(lead, w, 0.5), weighted_quantile(lead, w, 0.9)
        traces.append(
            {
                "type": "scatter",
                "mode": "lines",
                "x": nums(x, 2),
                "y": nums(y, 4),
                "line": {"shape": "hv", "color": PALETTE[k % len(PALETTE)], "width": 2},
                "name": esc(f"{item} (p50 {p50:.0f} d, p90 {p90:.0f} d)"),
                "hovertemplate": "%{y:.0%} of units within %{x:.1f} days<extra>" + esc(item) + "</extra>",
            }
        )
    if not traces:
        return None
    return {
        "data": traces,
        "layout": layout_base(
            360,
            xaxis={**AXIS, "title": {"text": "lead time, days (requirement opened → delivered)"}},
            yaxis={**AXIS, "title": {"text": "share of units delivered"}, "tickformat": ".0%", "range": [0, 1.02]},
            legend={"x": 0.99, "xanchor": "right", "y": 0.03, "yanchor": "bottom", "bgcolor": "rgba(255,255,255,0.85)"},
        ),
    }


def stage_breakdown(data: RunData, summary: dict[tuple[str | None, ...], dict[str, Any]]) -> Fig | None:
    """Mean days a delivered unit spends in each stage, per item and over all items (stacked)."""
    from results.kpis import STAGES

    cats: list[str | None] = [it.id for it in data.scenario.items] + [None]
    labels = [esc(c) if c is not None else "all items" for c in cats]
    traces: list[Fig] = []
    for st, colour in zip(STAGES, STAGE_COLOURS, strict=True):
        vals = []
        for c in cats:
            row = summary.get((data.primary, f"stage_mean_days_{st}", c, None, None))
            vals.append(row["mean"] if row is not None and row["mean"] is not None else None)
        traces.append(
            {
                "type": "bar",
                "orientation": "h",
                "y": labels,
                "x": nums(vals, 2),
                "name": st,
                "marker": {"color": colour},
                "hovertemplate": "%{y}: %{x:.1f} days in " + st + "<extra></extra>",
            }
        )
    if all(v is None for tr in traces for v in tr["x"]):
        return None
    return {
        "data": traces,
        "layout": layout_base(
            140 + 36 * len(cats),
            barmode="stack",
            legend={"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom", "traceorder": "normal"},
            margin={"l": 60, "r": 24, "t": 64, "b": 48},
            xaxis={**AXIS, "title": {"text": "mean days per delivered unit"}},
            yaxis={**AXIS, "autorange": "reversed"},
        ),
    }


# --------------------------------------------------------------------------- queues, utilisation


def wip_queue(data: RunData) -> Fig | None:
    """Small multiples per supplier and handling node: lots at the node, lots waiting for service
    (handling nodes) and the order backlog (suppliers: lots ordered and not yet produced, per line)."""
    d = data.detail
    nodes = [n.id for n in data.resolved[data.primary].nodes if n.id in d.wip]
    if not nodes:
        return None
    layout, refs = _grid(len(nodes), 3, nodes, 190)
    x = data.dates(data.day_edges[:-1])
    traces: list[Fig] = []
    shown: set[str] = set()
    for k, (node, (xr, yr)) in enumerate(zip(nodes, refs, strict=True)):
        series = [("lots at node (WIP)", "lots at node (WIP)", d.wip[node], PALETTE[0])]
        if node in d.queue:
            series.append(("waiting for service", "waiting for service", d.queue[node], PALETTE[2]))
        lines = d.backlog.get(node, {})
        for j, (item, arr) in enumerate(lines.items()):
            name = "order backlog" if len(lines) == 1 else f"order backlog: {item}"
            series.append(("order backlog", name, arr, PALETTE[(1 + 3 * j) % len(PALETTE)]))
        for group, name, arr, colour in series:
            traces.append(
                {
                    "type": "scatter",
                    "mode": "lines",
                    "x": x,
                    "y": nums(arr.mean(axis=0), 2),
                    "xaxis": xr,
                    "yaxis": yr,
                    "name": esc(name),
                    "legendgroup": group,
                    "showlegend": name not in shown,
                    "line": {"color": colour, "width": 1.5, **({"dash": "dot"} if group == "order backlog" else {})},
                }
            )
            shown.add(name)
        layout[f"xaxis{'' if k == 0 else k + 1}"]["type"] = "date"
    layout["yaxis"]["title"] = {"text": "lots (daily mean)"}
    return {"data": traces, "layout": layout}


def utilisation_heatmap(data: RunData) -> Fig | None:
    """Weekly utilisation (busy / nominal capacity) of every resource: resource x week."""
    d: Detail = data.detail
    if not d.util or len(data.week_edges) < 2:
        return None
    labels = [r.label for r in d.util]
    z = np.vstack([v.mean(axis=0) for v in d.util.values()])
    zmax = max(1.0, float(np.nanmax(z)) if z.size else 1.0)
    return {
        "data": [
            {
                "type": "heatmap",
                "z": [nums(row, 3) for row in z],
                "x": data.dates(data.week_edges[:-1]),
                "y": [esc(v) for v in labels],
                "zmin": 0,
                "zmax": round(zmax, 3),
                "colorscale": HEAT_SCALE,
                "colorbar": {"title": {"text": "utilisation"}, "tickformat": ".0%"},
                "hovertemplate": "%{y}<br>week of %{x}<br>utilisation %{z:.0%}<extra></extra>",
            }
        ],
        "layout": layout_base(
            140 + 22 * len(labels),
            xaxis={**AXIS, "type": "date", "title": {"text": "week"}},
            yaxis={**AXIS, "autorange": "reversed"},
            margin={"l": 60, "r": 24, "t": 20, "b": 48},
        ),
    }


# --------------------------------------------------------------------------- strategies


def forest(diffs: list[dict[str, Any]]) -> Fig | None:
    """Forest plot: per KPI panel, each strategy's paired difference to the baseline with its 95% CI."""
    if not diffs:
        return None
    kpis = list(dict.fromkeys(d["kpi"] for d in diffs))
    strategies = list(dict.fromkeys(d["strategy"] for d in diffs))
    layout, refs = _grid(len(kpis), len(kpis), kpis, 90 + 42 * len(strategies))
    layout["shapes"] = []
    traces: list[Fig] = []
    for k, (kpi, (xr, yr)) in enumerate(zip(kpis, refs, strict=True)):
        rows = [d for d in diffs if d["kpi"] == kpi]
        plus = [(d["hi"] - d["diff"]) if d["hi"] is not None else 0.0 for d in rows]
        minus = [(d["diff"] - d["lo"]) if d["lo"] is not None else 0.0 for d in rows]
        traces.append(
            {
                "type": "scatter",
                "mode": "markers",
                "x": nums([d["diff"] for d in rows], 4),
                "y": [esc(d["strategy"]) for d in rows],
                "xaxis": xr,
                "yaxis": yr,
                "error_x": {"type": "data", "array": nums(plus, 4), "arrayminus": nums(minus, 4), "thickness": 2},
                "marker": {"size": 9, "color": PALETTE[k % len(PALETTE)]},
                "customdata": [[d["baseline_mean"], d["strategy_mean"], d["n"], d["lo"], d["hi"]] for d in rows],
                "hovertemplate": (
                    "%{y}: %{x:.4g} vs baseline<br>95% CI [%{customdata[3]:.4g}, %{customdata[4]:.4g}]"
                    "<br>baseline %{customdata[0]:.4g} → %{customdata[1]:.4g} (n=%{customdata[2]})<extra></extra>"
                ),
                "showlegend": False,
                "name": kpi,
            }
        )
        sfx = "" if k == 0 else str(k + 1)
        layout["shapes"].append(
            {
                "type": "line",
                "xref": xr,
                "yref": f"{yr} domain",
                "x0": 0,
                "x1": 0,
                "y0": 0,
                "y1": 1,
                "line": {"color": "#888888", "dash": "dot", "width": 1},
            }
        )
        layout[f"yaxis{sfx}"].update({"type": "category", "categoryarray": [esc(s) for s in strategies]})
        if k:
            layout[f"yaxis{sfx}"]["showticklabels"] = False
        layout[f"xaxis{sfx}"]["title"] = {"text": "Δ vs baseline"}
    return {"data": traces, "layout": layout}
