"""The Bottlenecks section of the HTML report: ranking and timelines of the active-period method.

The analysis itself is ``results.bottlenecks`` (the same as ``aidflow bottlenecks RUN``): each
replication of the primary strategy is analysed once by ``results.report_data.load_run``
(``Detail.analyses``, rule ``saturated``). Here it is projected for the page:

* :func:`ranking`: ``results.bottlenecks.rank`` over the replications, as the plain rows of
  ``ranking_table`` (NaN as None);
* :func:`share_bar`: sole and shifting bottleneck share per resource (stacked bars) with its
  utilisation;
* :func:`timeline`: the sole/shifting timeline of one replication (``timeline_table``) as a
  Gantt chart (resource x time), under a strip of the dominant bottleneck across replications
  (``dominant_timeline``), on one shared date axis.

Example:
    >>> share_bar([]) is None
    True
"""

from __future__ import annotations

from typing import Any

from results.report_charts import AXIS, PALETTE, Fig, esc, layout_base, nums
from results.report_data import RunData

__all__ = ["DOMINANT_COLOURS", "STATE_COLOURS", "ranking", "share_bar", "timeline"]

STATE_COLOURS = {"sole": "#c0392b", "shifting": "#f28e2b"}
"""Bar colours of sole and shifting bottleneck segments."""
DOMINANT_COLOURS = {"dominant": PALETTE[0], "also": "#bab0ac"}
"""Bar colours of the dominant bottleneck across replications and of other resources saturated then."""
_MS_PER_DAY = 86_400_000
_ROW_PX = 24


def ranking(data: RunData) -> list[dict[str, Any]]:
    """``results.bottlenecks.rank`` of the primary strategy's replications, best first, as plain rows.

    Each row has the fields of ``results.bottlenecks.RankRow`` (``rank``, ``resource``,
    ``utilisation``, ``queue_mean``, ``wait_mean_days``, ``lead_time_share``, ``sole_share``,
    ``shifting_share``, ``bottleneck_share``, ``top_in``, ``n``...), None where undefined.
    """
    from results.bottlenecks.ranking import rank, ranking_table

    analyses = list(data.detail.analyses.values())
    return ranking_table(rank(analyses)).to_pylist() if analyses else []


def share_bar(rows: list[dict[str, Any]], top: int = 20) -> Fig | None:
    """The ``top`` ranked resources: sole and shifting bottleneck share (stacked) and utilisation."""
    rows = rows[:top]
    if not rows:
        return None
    labels = [esc(f"{r['rank']}. {r['resource']}") for r in rows]
    top_in = [f"first in {r['top_in']} of {r['n']} replication(s)" for r in rows]
    traces: list[Fig] = [
        {
            "type": "bar",
            "orientation": "h",
            "y": labels,
            "x": nums([r[f"{state}_share"] for r in rows], 4),
            "name": f"{state} bottleneck",
            "marker": {"color": colour},
            "text": top_in,
            "hovertemplate": "%{y}<br>" + state + " bottleneck %{x:.1%} of the time<br>%{text}<extra></extra>",
            "textposition": "none",
        }
        for state, colour in STATE_COLOURS.items()
    ]
    traces.append(
        {
            "type": "scatter",
            "mode": "markers",
            "y": labels,
            "x": nums([r["utilisation"] for r in rows], 4),
            "name": "utilisation",
            "marker": {"symbol": "diamond", "size": 8, "color": "#333333"},
            "hovertemplate": "%{y}<br>utilisation %{x:.1%}<extra></extra>",
        }
    )
    return {
        "data": traces,
        "layout": layout_base(
            130 + 26 * len(rows),
            barmode="stack",
            legend={"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom", "traceorder": "normal"},
            xaxis={**AXIS, "title": {"text": "share of the time (mean over replications)"}, "tickformat": ".0%"},
            yaxis={**AXIS, "autorange": "reversed"},
        ),
    }


def _iso(data: RunData, day: float) -> str:
    return data.dates([day])[0]


def timeline(data: RunData, rows: list[dict[str, Any]]) -> Fig | None:
    """Gantt chart of the sole/shifting timeline of the first replication, under the dominant strip.

    Lower panel: the first replication's ``timeline_table`` (resource on y, one bar per
    segment, sole and shifting coloured). Upper panel: ``dominant_timeline`` over every
    replication: per stretch, the resource that was the momentary bottleneck longest, and the
    other resources saturated most of it. Resources are in ``rows`` (ranking) order.
    """
    from results.bottlenecks.timeline import dominant_timeline, timeline_table

    analyses = data.detail.analyses
    if not analyses:
        return None
    rep, first = next(iter(analyses.items()))
    order = {r["resource"]: k for k, r in enumerate(rows)}
    seg = timeline_table(first).to_pydict()
    spans = [s for s in dominant_timeline(list(analyses.values())) if s.resource is not None]
    n = len(analyses)
    traces: list[Fig] = []

    def bars(starts: list[float], ends: list[float], who: list[str], yaxis: str, **extra: Any) -> Fig:
        return {
            "type": "bar",
            "orientation": "h",
            "base": [_iso(data, a) for a in starts],
            "x": [round((b - a) * _MS_PER_DAY) for a, b in zip(starts, ends, strict=True)],
            "y": [esc(w) for w in who],
            "xaxis": "x",
            "yaxis": yaxis,
            "width": 0.7,
            **extra,
        }

    for state, colour in STATE_COLOURS.items():
        idx = [k for k, s in enumerate(seg["state"]) if s == state]
        if not idx:
            continue
        a, b = [seg["start"][k] for k in idx], [seg["end"][k] for k in idx]
        traces.append(
            bars(
                a,
                b,
                [seg["resource"][k] for k in idx],
                "y",
                name=f"{state} (replication {rep})",
                marker={"color": colour},
                customdata=[[_iso(data, x), _iso(data, y), round(y - x, 2)] for x, y in zip(a, b, strict=True)],
                hovertemplate="%{y}: " + state + " bottleneck<br>%{customdata[0]} → %{customdata[1]}"
                " (%{customdata[2]} days)<extra></extra>",
            )
        )
    also = [(s, other) for s in spans for other in s.also]
    if also:
        traces.append(
            bars(
                [s.start for s, _ in also],
                [s.end for s, _ in also],
                [o for _, o in also],
                "y2",
                name="also saturated (most of the stretch)",
                marker={"color": DOMINANT_COLOURS["also"]},
                customdata=[[_iso(data, s.start), _iso(data, s.end)] for s, _ in also],
                hovertemplate="%{y}: saturated most of %{customdata[0]} → %{customdata[1]}<extra></extra>",
            )
        )
    if spans:
        traces.append(
            bars(
                [s.start for s in spans],
                [s.end for s in spans],
                [str(s.resource) for s in spans],
                "y2",
                name=f"dominant bottleneck ({n} replication{'s' if n > 1 else ''})",
                marker={"color": DOMINANT_COLOURS["dominant"]},
                customdata=[
                    [_iso(data, s.start), _iso(data, s.end), round(s.share, 3), round(s.sole, 3), ", ".join(s.also)]
                    for s in spans
                ],
                hovertemplate="%{y}: dominant bottleneck<br>%{customdata[0]} → %{customdata[1]}"
                "<br>bottleneck %{customdata[2]:.0%} of the stretch (sole %{customdata[3]:.0%})"
                "<br>also saturated: %{customdata[4]}<extra></extra>",
            )
        )
    if not traces:
        return None

    def names(axis: str) -> list[str]:
        found = {y for t in traces if t["yaxis"] == axis for y in t["y"]}
        return sorted(found, key=lambda y: (order.get(y, len(order)), y))

    lower, upper = names("y"), names("y2")
    n_lo, n_up = max(len(lower), 1), max(len(upper), 1)
    gap = 60
    plot_px = _ROW_PX * (n_lo + n_up) + gap
    height = plot_px + 150
    split = (_ROW_PX * n_lo) / plot_px
    horizon = float(data.day_edges[-1])
    layout = layout_base(height, barmode="overlay", margin={"l": 60, "r": 24, "t": 90, "b": 48})
    layout["legend"] = {"orientation": "h", "x": 0, "y": 1 + 34 / plot_px, "yanchor": "bottom"}
    layout["xaxis"] = {
        **AXIS,
        "type": "date",
        "anchor": "y",
        "range": [_iso(data, 0.0), _iso(data, horizon)],
        "title": {"text": "date"},
    }
    layout["yaxis"] = {
        **AXIS,
        "domain": [0, round(split, 4)],
        "categoryorder": "array",
        "categoryarray": lower,
        "autorange": "reversed",
    }
    layout["yaxis2"] = {
        **AXIS,
        "domain": [round(split + gap / plot_px, 4), 1],
        "categoryorder": "array",
        "categoryarray": upper,
        "autorange": "reversed",
        "anchor": "x",
    }
    titles = [
        (split, f"replication {rep}: sole and shifting bottlenecks{'' if lower else ' (none)'}"),
        (1.0, f"dominant bottleneck across {n} replication{'s' if n > 1 else ''}{'' if upper else ' (none)'}"),
    ]
    layout["annotations"] = [
        {
            "text": f"<b>{esc(text)}</b>",
            "x": 0,
            "y": y,
            "xref": "paper",
            "yref": "paper",
            "xanchor": "left",
            "yanchor": "bottom",
            "showarrow": False,
        }
        for y, text in titles
    ]
    return {"data": traces, "layout": layout}
