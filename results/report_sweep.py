"""The report's sweep section: points by their parameter values, a response chart, the target's answer.

Read from a sweep's run directory: ``sweep.parquet`` (each KPI's mean and 95% CI per point),
the manifest's ``sweep`` (the parameters in ``--param`` order and the ``--target``) and, for
the paired gain of the answer, ``kpis.parquet``. A run without ``sweep.parquet`` has no sweep
section.

The response chart shows one KPI against the parameters: the target's KPI (with its selector)
when the sweep had a ``--target``, else the mean lead time over all items. One parameter: the
mean as a line over the parameter with its 95% CI as a band (and the target as a dashed
line); two parameters: a heatmap of the mean over the grid (hover: the point's label and CI),
or coloured markers when the points are not a full grid (a Latin hypercube). With more
parameters there is no chart, only the table. A date target's KPI is drawn as calendar dates.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Any

from results.sweep import Target

__all__ = ["DEFAULT_KPI", "response_figure", "sweep_section"]

DEFAULT_KPI = "lead_time_mean_days"
"""The KPI of the response chart when the sweep has no target (all items)."""

_BASE_COLUMNS = ("kpi", "item", "node", "link", "mean", "ci95_low", "ci95_high", "n", "ci_method", "ci_clipped")


def sweep_section(run_dir: Path, manifest: dict[str, Any], scenario: Any) -> tuple[dict[str, Any] | None, Any]:
    """The template's ``sweep`` context and the response figure; ``(None, None)`` for a run that is no sweep.

    Args:
        run_dir: the run directory.
        manifest: its manifest (``sweep``: parameters and target, written by ``aidflow sweep``).
        scenario: the run's scenario (its start date, for date targets; ids, for selectors).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    from results.store.layout import StoreError

    path = Path(run_dir) / "sweep.parquet"
    if not path.is_file():
        return None, None
    try:
        rows = pq.read_table(path).to_pylist()
    except (OSError, pa.ArrowException) as exc:
        raise StoreError(f"{path}: cannot read: {exc}") from None
    info = manifest.get("sweep") or {}
    params = list(info.get("params") or _params_of(rows))
    target, note = _target(info.get("target"), scenario)
    chart = target or Target("", DEFAULT_KPI, "<", math.inf)
    from results.sweep import answer_lines, evaluate, point_label

    answer = evaluate(rows, params, chart)
    units = evaluate(rows, params, Target("", "units_delivered", ">", -math.inf))
    units_by = {p.point: p for p in units.points}
    lines: list[str] = []
    if target is not None:
        lines = answer_lines(answer, _gain(run_dir, answer, target, scenario), _fill(rows, target))
    shown = f"{chart.kpi.removesuffix('_day')}_date" if chart.is_date else chart.kpi
    kpi_name = f"{shown}{chart.scope()}" if chart.scope() else f"{shown} (all items)"
    table = [
        {
            "point": p.point,
            "label": p.label or point_label(dict(zip(params, p.values, strict=True))),
            "value": _text(chart, p.mean),
            "ci": _ci(chart, p.low, p.high),
            "units": _text(Target("", "units_delivered", ">", 0.0), units_by[p.point].mean),
            "meets": _verdict(p) if target is not None else "",
            "confident": p.confident,
        }
        for p in answer.points
    ]
    context = {
        "params": params,
        "kpi": kpi_name,
        "target": None if target is None else target.text,
        "note": note,
        "answer": lines,
        "rows": table,
        "chart": len(params) <= 2,
    }
    return context, response_figure(answer, kpi_name, target)


def _verdict(p: Any) -> str:
    return "with confidence" if p.confident else "on the mean only" if p.meets else "no"


def _params_of(rows: list[dict[str, Any]]) -> list[str]:
    """The parameter columns of a sweep table written before the manifest named them."""
    if not rows:
        return []
    return [c for c in rows[0] if c not in ("point", "point_label", *_BASE_COLUMNS)]


def _target(text: str | None, scenario: Any) -> tuple[Target | None, str]:
    from results.sweep import BadTarget, parse_target

    if not text:
        return None, ""
    try:
        return parse_target(text, scenario.start, scenario), ""
    except BadTarget as exc:
        return None, f"the sweep's target cannot be read: {exc}"


def _gain(run_dir: Path, answer: Any, target: Target, scenario: Any) -> Any:
    """The answer's paired gain against the scenario's own values, from ``kpis.parquet`` (None without it)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from results.sweep import base_values, paired_gain, reference_point, rep_values

    path = Path(run_dir) / "kpis.parquet"
    first = answer.first
    if first is None or not path.is_file():
        return None
    try:
        kpis = pq.read_table(path, columns=["kpi", "item", "node", "link", "value", "strategy", "replication"])
    except (OSError, pa.ArrowException):
        return None
    ref, is_base = reference_point(answer, base_values(scenario, answer.params))
    return None if ref is None else paired_gain(rep_values(kpis, target), ref, first, is_base)


def _fill(rows: list[dict[str, Any]], target: Target) -> dict[int, float | None]:
    return {
        int(r["point"]): r["mean"]
        for r in rows
        if r["kpi"] == "fill_rate" and r.get("item") == target.item and r.get("node") is None and r.get("link") is None
    }


def _text(target: Target, x: float | None) -> str:
    from results.sweep import show

    return "–" if x is None else show(target, x)


def _ci(target: Target, lo: float | None, hi: float | None) -> str:
    return "" if lo is None or hi is None else f"[{_text(target, lo)}, {_text(target, hi)}]"


def _y(target: Target | None, x: float | None) -> Any:
    """A value as the chart plots it: a timestamp for a date target, else the rounded number."""
    if x is None or not math.isfinite(x):
        return None
    if target is not None and target.start is not None:
        moment = dt.datetime.combine(target.start, dt.time()) + dt.timedelta(days=x)
        return moment.isoformat(timespec="minutes")
    return round(x, 4)


def response_figure(answer: Any, kpi_name: str, target: Target | None) -> dict[str, Any] | None:
    """The KPI against one parameter (mean line, 95% CI band) or two (heatmap); None for more.

    Args:
        answer: ``results.sweep.evaluate`` over the sweep table for the chart's KPI.
        kpi_name: the KPI as the axis names it.
        target: the sweep's target (its threshold is drawn; a date target plots dates), or None.
    """
    from results.report_charts import AXIS, HEAT_SCALE, PALETTE, esc, layout_base, rgba

    pts = [p for p in answer.points if p.mean is not None and all(isinstance(v, (int, float)) for v in p.values)]
    params = list(answer.params)
    if not pts or not 1 <= len(params) <= 2:
        return None
    dates = target is not None and target.is_date
    shown: Target = answer.target  # the chart's KPI, as the table prints it
    hover = [esc(f"{p.label}: {_text(shown, p.mean)}{_ci_hover(shown, p)}") for p in pts]
    if len(params) == 1:
        x = [p.values[0] for p in pts]
        colour = PALETTE[0]
        data: list[dict[str, Any]] = []
        if any(p.low is not None for p in pts):
            band_x = x + x[::-1]
            band_y = [_y(target, p.high) for p in pts] + [_y(target, p.low) for p in pts[::-1]]
            data.append(
                {
                    "type": "scatter",
                    "x": band_x,
                    "y": band_y,
                    "fill": "toself",
                    "fillcolor": rgba(colour, 0.2),
                    "line": {"width": 0},
                    "hoverinfo": "skip",
                    "name": "95% CI",
                }
            )
        data.append(
            {
                "type": "scatter",
                "mode": "lines+markers",
                "x": x,
                "y": [_y(target, p.mean) for p in pts],
                "line": {"color": colour},
                "text": hover,
                "hoverinfo": "text",
                "name": "mean",
            }
        )
        layout = layout_base(
            380,
            xaxis={**AXIS, "title": {"text": esc(params[0])}},
            yaxis={**AXIS, "title": {"text": esc(kpi_name)}, **({"type": "date"} if dates else {})},
        )
        if target is not None and math.isfinite(target.threshold):
            layout["shapes"] = [
                {
                    "type": "line",
                    "xref": "paper",
                    "x0": 0,
                    "x1": 1,
                    "y0": _y(target, target.threshold),
                    "y1": _y(target, target.threshold),
                    "line": {"color": PALETTE[2], "dash": "dash", "width": 1.5},
                }
            ]
            layout["annotations"] = [
                {
                    "xref": "paper",
                    "x": 1,
                    "y": _y(target, target.threshold),
                    "text": esc(f"target {target.text}"),
                    "showarrow": False,
                    "xanchor": "right",
                    "yanchor": "bottom",
                    "font": {"color": PALETTE[2], "size": 11},
                }
            ]
        return {"data": data, "layout": layout}
    xs = sorted({p.values[0] for p in pts})
    ys = sorted({p.values[1] for p in pts})
    colourbar = {"title": {"text": esc(f"{kpi_name}{' (run day)' if dates else ''}")}}
    layout = layout_base(
        420,
        xaxis={**AXIS, "title": {"text": esc(params[0])}},
        yaxis={**AXIS, "title": {"text": esc(params[1])}},
    )
    if len(pts) == len(xs) * len(ys):  # a full grid
        cell = {(p.values[0], p.values[1]): (p, h) for p, h in zip(pts, hover, strict=True)}
        z = [[round(cell[(x, y)][0].mean or 0.0, 4) for x in xs] for y in ys]
        text = [[cell[(x, y)][1] for x in xs] for y in ys]
        trace = {
            "type": "heatmap",
            "x": xs,
            "y": ys,
            "z": z,
            "text": text,
            "hoverinfo": "text",
            "colorscale": HEAT_SCALE,
            "colorbar": colourbar,
        }
        return {"data": [trace], "layout": layout}
    trace = {
        "type": "scatter",
        "mode": "markers",
        "x": [p.values[0] for p in pts],
        "y": [p.values[1] for p in pts],
        "text": hover,
        "hoverinfo": "text",
        "marker": {
            "size": 12,
            "color": [round(p.mean or 0.0, 4) for p in pts],
            "colorscale": HEAT_SCALE,
            "showscale": True,
            "colorbar": colourbar,
        },
    }
    return {"data": [trace], "layout": layout}


def _ci_hover(target: Target, p: Any) -> str:
    return "" if p.low is None or p.high is None else f", 95% CI {_ci(target, p.low, p.high)}"
