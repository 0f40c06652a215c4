"""PNG figures of the report for briefings (``aidflow report RUN --png DIR``), drawn with matplotlib.

The same projections as the HTML report (``results.report_data``), drawn without pyplot (one
``matplotlib.figure.Figure`` per chart, Agg canvas), so nothing global is touched and no display
is needed. Each figure carries its title (``PNG_TITLES``, with the scenario and strategy) so a
file stands on its own in a briefing. Each file is written atomically. Files: ``cumulative.png``, ``throughput.png``,
``lead_time.png``, ``utilisation.png``, ``bottlenecks.png``, ``network.png`` and, for a run of
several strategies, ``forest.png``.
"""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import Any

import numpy as np

from results.report_charts import KIND_COLOURS, STAGE_COLOURS
from results.report_data import RunData, ecdf_points, mean_band

__all__ = ["PNG_FILES", "PNG_TITLES", "png_figures", "write_pngs"]

PNG_FILES = ("cumulative", "throughput", "lead_time", "utilisation", "bottlenecks", "network", "forest")
"""Stems of the PNG files ``write_pngs`` may write."""

_COLOURS = ("#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f")
_DPI = 130


def _figure(width: float, height: float) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=_DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _save(fig: Any, path: Path) -> Path:
    from results.store.atomic import atomic_write_bytes

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=_DPI)
    atomic_write_bytes(path, buf.getvalue())
    return path


def _dates(data: RunData, days: np.ndarray) -> np.ndarray:
    start = np.datetime64(data.scenario.start.isoformat(), "s")
    return start + np.round(np.asarray(days, dtype=np.float64) * 86400).astype("timedelta64[s]")


def _axes_grid(fig: Any, n: int, cols: int) -> list[Any]:
    cols = max(1, min(cols, n))
    rows = math.ceil(n / cols)
    axes = fig.subplots(rows, cols, squeeze=False)
    flat = list(axes.ravel())
    for ax in flat[n:]:
        ax.set_visible(False)
    return flat[:n]


def _series(fig: Any, data: RunData, which: str) -> None:
    source = data.cum if which == "cum" else data.weekly
    items = [it.id for it in data.scenario.items if any(it.id in source[s] for s in data.strategies)]
    edges = data.day_edges if which == "cum" else data.week_edges[:-1]
    x = _dates(data, edges)
    sc = data.resolved[data.primary]
    for ax, item in zip(_axes_grid(fig, len(items), 2), items, strict=True):
        for k, s in enumerate(data.strategies):
            if item not in source[s]:
                continue
            mean, lo, hi = mean_band(source[s][item])
            colour = _COLOURS[k % len(_COLOURS)]
            step = "post" if which != "cum" else None
            if which == "cum" and lo is not None and hi is not None:
                ax.fill_between(x, np.maximum(lo, 0.0), hi, color=colour, alpha=0.2, linewidth=0, step=step)
            if step:
                ax.step(x, mean, where="post", color=colour, label=s)
            else:
                ax.plot(x, mean, color=colour, label=s)
        if which == "cum":
            reqs = sorted((r for r in sc.requirements if r.item == item), key=lambda r: r.need_by)
            if reqs:
                rx = np.array(
                    [np.datetime64(sc.start.isoformat()), *(np.datetime64(r.need_by.isoformat()) for r in reqs)]
                )
                ry = np.r_[0, np.cumsum([r.qty for r in reqs])]
                ax.step(rx, ry, where="post", color="#333333", linestyle="--", label="required by need-by")
        ax.set_title(item)
        ax.set_ylabel("units delivered" if which == "cum" else "units / week")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
        for label in ax.get_xticklabels():
            label.set_rotation(30)
            label.set_horizontalalignment("right")


def _lead(fig: Any, data: RunData, summary: dict[tuple[str | None, ...], dict[str, Any]]) -> None:
    from results.kpis import STAGES

    ax1, ax2 = fig.subplots(1, 2)
    for k, (item, (lead, w)) in enumerate(data.detail.lead.items()):
        if len(lead):
            x, y = ecdf_points(lead, w, 500)
            ax1.step(x, y, where="post", color=_COLOURS[k % len(_COLOURS)], label=item)
    ax1.set_xlabel("lead time, days")
    ax1.set_ylabel("share of units delivered")
    ax1.set_title("Lead-time ECDF")
    ax1.grid(alpha=0.3)
    ax1.legend(fontsize=8)
    cats: list[str | None] = [it.id for it in data.scenario.items] + [None]
    left = np.zeros(len(cats))
    for k, st in enumerate(STAGES):
        vals = []
        for c in cats:
            row = summary.get((data.primary, f"stage_mean_days_{st}", c, None, None))
            vals.append(row["mean"] if row is not None and row["mean"] is not None else 0.0)
        ax2.barh([c or "all items" for c in cats], vals, left=left, label=st, color=STAGE_COLOURS[k])
        left += np.asarray(vals)
    ax2.invert_yaxis()
    ax2.set_xlabel("mean days per delivered unit")
    ax2.set_title("Stage breakdown")
    ax2.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.15), ncol=len(STAGES))


def _heatmap(fig: Any, data: RunData) -> None:
    from matplotlib import dates as mdates

    ax = fig.subplots()
    labels = [r.label for r in data.detail.util]
    z = np.vstack([v.mean(axis=0) for v in data.detail.util.values()])
    edges = mdates.date2num(_dates(data, data.week_edges))
    im = ax.pcolormesh(edges, np.arange(len(labels) + 1), z, cmap="YlOrRd", vmin=0, vmax=max(1.0, float(z.max())))
    ax.set_yticks(np.arange(len(labels)) + 0.5, labels, fontsize=7)
    ax.invert_yaxis()
    ax.xaxis_date()
    fig.colorbar(im, ax=ax, label="utilisation")


def _bottlenecks(fig: Any, ranking: list[dict[str, Any]]) -> None:
    from results.report_bottlenecks import STATE_COLOURS

    ax = fig.subplots()
    rows = ranking[:15]
    labels = [f"{r['rank']}. {r['resource']}" for r in rows]
    left = np.zeros(len(rows))
    for state, colour in STATE_COLOURS.items():
        share = np.array([r[f"{state}_share"] for r in rows], dtype=np.float64)
        ax.barh(labels, share, left=left, color=colour, label=f"{state} bottleneck")
        left += share
    util = [np.nan if r["utilisation"] is None else r["utilisation"] for r in rows]
    ax.scatter(util, range(len(rows)), marker="D", s=14, color="#333333", label="utilisation", zorder=3)
    ax.invert_yaxis()
    ax.set_xlim(0, 1.02)
    ax.set_xlabel("share of the time (mean over replications)")
    ax.legend(fontsize=7, loc="lower right")
    ax.tick_params(axis="y", labelsize=7)


def _network(fig: Any, data: RunData, summary: dict[tuple[str | None, ...], dict[str, Any]]) -> None:
    from matplotlib import colormaps

    ax = fig.subplots()
    sc = data.resolved[data.primary]
    loc = {n.id: (n.location.lon, n.location.lat) for n in sc.nodes if n.location is not None}
    cmap = colormaps["YlOrRd"]
    flows = data.detail.link_flow
    top = max([f["eur"] for f in flows.values()] + [1.0])
    for lk in sc.links:
        if lk.enabled and lk.from_ in loc and lk.to in loc:
            row = summary.get((data.primary, "utilisation", None, None, lk.id))
            util = row["mean"] if row is not None and row["mean"] is not None else 0.0
            width = 0.8 + 7 * math.sqrt(flows.get(lk.id, {}).get("eur", 0.0) / top)
            (x0, y0), (x1, y1) = loc[lk.from_], loc[lk.to]
            ax.annotate(
                "",
                xy=(x1, y1),
                xytext=(x0, y0),
                arrowprops={"arrowstyle": "-|>", "color": cmap(min(util, 1.0)), "lw": width, "shrinkB": 6},
            )
    for kind, colour in KIND_COLOURS.items():
        pts = [(loc[n.id], n.id) for n in sc.nodes if n.kind == kind and n.id in loc]
        if pts:
            ax.scatter([p[0][0] for p in pts], [p[0][1] for p in pts], s=40, label=kind, zorder=3, color=colour)
    if loc:
        lat0 = float(np.mean([p[1] for p in loc.values()]))
        ax.set_aspect(1 / max(math.cos(math.radians(lat0)), 0.1))
    ax.set_xlabel("longitude °E")
    ax.set_ylabel("latitude °N")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="best")
    _node_labels(fig, ax, loc)


def _node_labels(fig: Any, ax: Any, loc: dict[str, tuple[float, float]], font_pt: float = 6.0) -> None:
    """Node labels set apart (``results.report_flows.place_labels`` in pixels), a leader line when moved far."""
    from results.report_flows import label_size, place_labels

    if not loc:
        return
    fig.canvas.draw()  # settle the layout, so data -> pixel is final
    ids = list(loc)
    xy = ax.transData.transform(np.array([loc[i] for i in ids], dtype=np.float64))
    height = fig.bbox.height
    points = [(float(x), float(height - y)) for x, y in xy]
    font_px = font_pt * fig.dpi / 72
    sizes = [label_size(i, font_px) for i in ids]
    pt_per_px = 72 / fig.dpi
    for i, (dx, dy), (w, h) in zip(ids, place_labels(points, sizes), sizes, strict=True):
        far = abs(dx) > w / 2 + 12 or abs(dy) > h / 2 + 10
        ax.annotate(
            i,
            loc[i],
            textcoords="offset points",
            xytext=(dx * pt_per_px, -dy * pt_per_px),
            ha="center",
            va="center",
            fontsize=font_pt,
            arrowprops={"arrowstyle": "-", "color": "#8c8c8c", "lw": 0.5, "shrinkB": 4} if far else None,
            annotation_clip=False,
        )


def _forest(fig: Any, diffs: list[dict[str, Any]]) -> None:
    kpis = list(dict.fromkeys(d["kpi"] for d in diffs))
    strategies = list(dict.fromkeys(d["strategy"] for d in diffs))
    axes = fig.subplots(1, len(kpis), squeeze=False, sharey=True)[0]
    for ax, kpi in zip(axes, kpis, strict=True):
        rows = [d for d in diffs if d["kpi"] == kpi]
        y = [strategies.index(d["strategy"]) for d in rows]
        x = [d["diff"] for d in rows]
        lo = [d["diff"] - d["lo"] if d["lo"] is not None else 0.0 for d in rows]
        hi = [d["hi"] - d["diff"] if d["hi"] is not None else 0.0 for d in rows]
        ax.errorbar(x, y, xerr=[lo, hi], fmt="o", color="#4e79a7", capsize=3)
        ax.axvline(0, color="#888888", linestyle=":")
        ax.set_title(kpi, fontsize=8)
        ax.grid(alpha=0.3)
    axes[0].set_yticks(range(len(strategies)), strategies)
    axes[0].invert_yaxis()


PNG_TITLES = {
    "cumulative": "Cumulative deliveries per item against need-by dates",
    "throughput": "Units delivered per week, per item",
    "lead_time": "Lead times of delivered units",
    "utilisation": "Weekly utilisation (busy / nominal capacity)",
    "bottlenecks": "Bottleneck share (active-period method)",
    "network": "Network (width = value carried, colour = link utilisation)",
    "forest": "Paired difference vs baseline, 95% t-CI",
}
"""Each PNG's title (its figure's suptitle, followed by the scenario and the strategy shown)."""


def _title(fig: Any, data: RunData, stem: str, all_strategies: bool = False) -> None:
    """The figure's title: the chart, then the scenario and the strategy (or strategies) it shows."""
    who = ", ".join(data.strategies) if all_strategies else data.primary
    fig.suptitle(f"{PNG_TITLES[stem]}\n{data.scenario.name} · {who}", fontsize=11)


def png_figures(
    data: RunData,
    summary: dict[tuple[str | None, ...], dict[str, Any]],
    ranking: list[dict[str, Any]],
    diffs: list[dict[str, Any]],
) -> list[tuple[str, Any]]:
    """The main charts as titled matplotlib figures, ``(file stem, figure)`` in ``PNG_FILES`` order."""
    out: list[tuple[str, Any]] = []
    n_items = max(1, len(data.scenario.items))
    rows = math.ceil(n_items / 2)
    for which, stem in (("cum", "cumulative"), ("weekly", "throughput")):
        fig = _figure(11, 3.2 * rows + 1.0)
        _series(fig, data, which)
        _title(fig, data, stem, all_strategies=True)
        out.append((stem, fig))
    if data.detail.lead:
        fig = _figure(11, 4.6)
        _lead(fig, data, summary)
        _title(fig, data, "lead_time")
        out.append(("lead_time", fig))
    if data.detail.util:
        fig = _figure(11, 1.9 + 0.25 * len(data.detail.util))
        _heatmap(fig, data)
        _title(fig, data, "utilisation")
        out.append(("utilisation", fig))
    if ranking:
        fig = _figure(9, 1.6 + 0.3 * min(len(ranking), 15))
        _bottlenecks(fig, ranking)
        _title(fig, data, "bottlenecks")
        out.append(("bottlenecks", fig))
    if any(n.location is not None for n in data.scenario.nodes):
        fig = _figure(10, 7.4)
        _network(fig, data, summary)
        _title(fig, data, "network")
        out.append(("network", fig))
    if diffs:
        n_strat = len({d["strategy"] for d in diffs})
        fig = _figure(12, 1.8 + 0.45 * n_strat)
        _forest(fig, diffs)
        _title(fig, data, "forest", all_strategies=True)
        out.append(("forest", fig))
    return out


def write_pngs(
    data: RunData,
    summary: dict[tuple[str | None, ...], dict[str, Any]],
    ranking: list[dict[str, Any]],
    diffs: list[dict[str, Any]],
    out_dir: Path,
) -> list[Path]:
    """Write the main charts, titled, as PNG into ``out_dir`` (created); returns the files written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    return [_save(fig, out_dir / f"{stem}.png") for stem, fig in png_figures(data, summary, ranking, diffs)]
