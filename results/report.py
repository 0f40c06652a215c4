"""HTML report of a run directory (and PNG figures for briefings): ``aidflow report RUN``.

``build_report(run_dir)`` reads the run directory (manifest, resolved scenario, event parts,
KPIs), projects it (``results.report_data``), draws the figures (``results.report_charts``,
``results.report_flows``, ``results.report_bottlenecks``) and renders ``templates/report.html.j2`` with jinja2 (autoescape on) into one self-contained
file, written atomically: plotly.js is embedded once, the figures are one JSON block that a
small script hands to ``Plotly.newPlot``, and a Content-Security-Policy (``default-src
'none'``, scripts allowed by hash only) forbids every network request and every script the
report did not write itself. Embedded JSON has ``<``, ``>`` and ``&`` as ``\\u003c`` escapes, so
no scenario text can close a ``<script>`` element.

Sections: scenario summary with its sources, headline KPIs (the whole-run row of a scenario
with several items says "mixed units"), cumulative deliveries against
need-by dates (mean and 95% band over replications), weekly throughput, lead-time ECDF and
stage breakdown, WIP and queues per node with suppliers' order backlogs, utilisation heatmap
(resource x week), bottlenecks by the active-period method of ``results.bottlenecks`` (ranking
over replications, sole and shifting bottleneck timeline), Sankey of flows (EUR, or units of
one item), network map with labels set apart, strategy forest plot (paired
differences against the baseline), a budget burn-down per donor (``results.report_money``), stock
on hand and backorders per node when the run has inventory data (``results.report_inventory``), and
the run's provenance, with the run's and the replications' statuses in words.

Example:
    >>> script_json({"a": "</script>"})
    '{"a":"\\\\u003c/script\\\\u003e"}'
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import math
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from results.report_data import RunData

__all__ = [
    "BOOT_JS",
    "PART_STATUS",
    "REPORT_FILE",
    "RUN_STATUS",
    "build_report",
    "last_date",
    "parts_in_words",
    "render_html",
    "report_context",
    "script_json",
]

REPORT_FILE = "report.html"
"""Name of the report in a run directory."""

BOOT_JS = """(function () {
  "use strict";
  var figs = JSON.parse(document.getElementById("aidflow-figures").textContent);
  var config = {displaylogo: false, responsive: true};
  var jobs = [];
  Object.keys(figs).forEach(function (id) {
    var el = document.getElementById(id);
    if (el) { jobs.push(Plotly.newPlot(el, figs[id].data, figs[id].layout, config)); }
  });
  Promise.all(jobs).then(function () {
    var root = document.documentElement;
    root.setAttribute("data-plots-ms", String(Math.round(performance.now())));
    root.setAttribute("data-plots", "ready");
  }, function (err) {
    document.documentElement.setAttribute("data-plots", "failed");
    console.error("aidflow report: a chart failed", err);
  });
})();"""
"""The page's own script: draws every figure of the JSON block, then marks ``<html data-plots="ready">``
(and ``data-plots-ms``: milliseconds from navigation start until every chart was drawn)."""

HEADLINE: tuple[tuple[str, str, str], ...] = (
    ("fill_rate", "fill rate", "share"),
    ("otif", "OTIF", "share"),
    ("lead_time_p50_days", "lead time p50", "days"),
    ("lead_time_p90_days", "lead time p90", "days"),
    ("last_delivery_day", "last delivery (day)", "days"),
)


def script_json(obj: Any) -> str:
    """Compact JSON safe inside ``<script>``: ``<``, ``>``, ``&``, U+2028/9 as ``\\u`` escapes."""
    text = json.dumps(obj, separators=(",", ":"), allow_nan=False, ensure_ascii=False)
    for ch, rep in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(ch, rep)
    return text


def last_date(start: dt.date, horizon_days: float) -> dt.date:
    """The last calendar date a run of ``horizon_days`` from 00:00 of ``start`` reaches (whole or in part).

    Example:
        >>> last_date(dt.date(2025, 1, 1), 20)
        datetime.date(2025, 1, 20)
    """
    return start + dt.timedelta(days=max(math.ceil(horizon_days) - 1, 0))


def _csp_hash(script: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii") + "'"


def _fmt(value: float | None, kind: str) -> str:
    if value is None or not math.isfinite(value):
        return "–"
    if kind == "share":
        return f"{value:.1%}"
    if kind == "days":
        return f"{value:,.1f}"
    if kind == "eur":
        return f"EUR {value:,.0f}"
    if kind == "ratio":
        return f"{value:.0%}"
    return f"{value:,.0f}"


def _num(value: float, signed: bool = False) -> str:
    """A number for a comparison table: thousands separators for large values, 4 digits else."""
    sign = "+" if signed else ""
    if abs(value) >= 1000:
        return f"{value:{sign},.0f}"
    return f"{value:{sign}.4g}"


def _cell(row: dict[str, Any] | None, kind: str) -> dict[str, str]:
    """A table cell: the mean, and its 95% CI when there are two or more replications.

    The interval is clipped to the KPI's range (shares in [0, 1], counts and days >= 0).
    """
    if row is None:
        return {"value": "–", "ci": ""}
    lo, hi = row.get("ci95_low"), row.get("ci95_high")
    if lo is not None and hi is not None:
        lo = max(lo, 0.0)
        hi = min(hi, 1.0) if kind == "share" else hi
    ci = f"[{_fmt(lo, kind)}, {_fmt(hi, kind)}]" if lo is not None and hi is not None else ""
    return {"value": _fmt(row.get("mean"), kind), "ci": ci}


# --------------------------------------------------------------------------- context


def _headline(data: RunData, summary: dict[tuple[str | None, ...], dict[str, Any]]) -> list[dict[str, Any]]:
    from results.report_data import mean_band

    rows = []
    # units of different items are added up in the whole-run row: say so when there are several
    whole = "all items (mixed units)" if len(data.scenario.items) > 1 else "all items"
    for s in data.strategies:
        scopes: list[str | None] = [None, *(it.id for it in data.scenario.items if it.id in data.cum[s])]
        for item in scopes:
            arrays = [data.cum[s][i][:, -1] for i in ([item] if item else list(data.cum[s]))]
            delivered: dict[str, Any] | None = None
            if arrays:
                mean, lo, hi = mean_band(np.vstack(arrays).sum(axis=0)[:, None])
                delivered = {
                    "mean": float(mean[0]),
                    "ci95_low": None if lo is None else float(lo[0]),
                    "ci95_high": None if hi is None else float(hi[0]),
                }
            cells = [_cell(delivered, "units")]
            cells += [_cell(summary.get((s, kpi, item, None, None)), kind) for kpi, _, kind in HEADLINE]
            rows.append(
                {
                    "strategy": s,
                    "item": item or whole,
                    "whole": item is None,
                    "cells": cells,
                    "n": len(data.replications[s]),
                }
            )
    return rows


def _sources(data: RunData) -> list[dict[str, Any]]:
    sc = data.scenario
    used: dict[str, list[str]] = {}
    groups: list[tuple[str, list[Any]]] = [
        ("item", list(sc.items)),
        ("node", list(sc.nodes)),
        ("link", list(sc.links)),
        ("requirement", list(sc.requirements)),
    ]
    for what, objs in groups:
        for obj in objs:
            for c in obj.cite:
                used.setdefault(c, []).append(f"{what} {obj.id}")
    return [
        {"id": x.id, "document": x.document, "phrase": x.phrase, "supports": x.supports, "used_by": used.get(x.id, [])}
        for x in sc.sources
    ]


def _scenario_tables(data: RunData) -> dict[str, Any]:
    from scenarios.schema import effective_channel

    sc = data.resolved[data.primary]
    names = {n.id: n.name for n in sc.nodes}
    required = Counter[str]()
    for r in sc.requirements:
        required[r.item] += r.qty
    end = last_date(sc.start, sc.horizon_days)  # the template shows start -> last date, both whole days
    return {
        "end": end.isoformat(),
        "kinds": Counter(n.kind for n in sc.nodes),
        "nodes": [
            {
                "id": n.id,
                "kind": n.kind,
                "name": n.name,
                "location": f"{n.location.lat:.2f}°N {n.location.lon:.2f}°E" if n.location else "–",
                "cite": ", ".join(n.cite),
            }
            for n in sc.nodes
        ],
        "items": [
            {
                "id": it.id,
                "name": it.name,
                "unit_value": _fmt(it.unit_value_eur, "eur"),
                "volume": f"{it.volume_m3:g}",
                "lot_size": f"{it.lot_size:,}",
                "priority": it.priority,
                "required": f"{required.get(it.id, 0):,}",
            }
            for it in sc.items
        ],
        "requirements": [
            {
                "id": r.id,
                "unit": r.unit,
                "unit_name": names.get(r.unit, ""),
                "item": r.item,
                "qty": f"{r.qty:,}",
                "opens": (r.opens or sc.start).isoformat(),
                "need_by": r.need_by.isoformat(),
                "channel": effective_channel(sc, r),
                "funders": ", ".join(r.funders),
            }
            for r in sc.requirements
        ],
        "links": len(sc.links),
        "disruptions": len(sc.disruptions),
        "unplaced": [n.id for n in sc.nodes if n.location is None],
    }


RUN_STATUS = {
    "completed": "every replication ran to its end (none failed, the run was not interrupted)",
    "failed": "a replication failed (see the error)",
    "interrupted": "stopped by the user; aidflow run --resume continues it",
    "running": "still running, or stopped without recording why; the report shows the parts written",
}
"""The manifest's run status in words (``results.store.STATUSES``)."""

PART_STATUS = {
    "completed": "every requirement opened was closed (delivered or lost) before the horizon",
    "incomplete": "the horizon came while work was still open: a requirement opened and not yet filled,"
    " or lots still on their way",
    "deadlocked": "the flow stopped before the horizon with work in progress",
    "failed": "an error stopped the replication",
}
"""A replication's status in words (``sim.run.RunResult.status``)."""


def parts_in_words(statuses: list[str]) -> str:
    """What the replications' statuses mean, counted.

    Example:
        >>> parts_in_words(["incomplete", "completed", "incomplete"])
        '3 replications ran; in 2 of 3 the horizon came while work was still open: a requirement opened and not yet filled, or lots still on their way; in 1 of 3 every requirement opened was closed (delivered or lost) before the horizon'
    """
    n = len(statuses)
    if not n:
        return "no replication ran"
    counts = Counter(statuses)
    said = [f"in {k} of {n} {PART_STATUS.get(st, f'the status is {st}')}" for st, k in counts.most_common()]
    return f"{n} replication{'s' if n != 1 else ''} ran; " + "; ".join(said)


def _run_info(data: RunData) -> dict[str, Any]:
    m = data.manifest
    parts = m.get("parts", [])
    statuses = Counter(str(p.get("status", "?")) for p in parts)
    status = str(m.get("status", "?"))
    versions = m.get("versions") or {}
    return {
        "status": status,
        "status_text": RUN_STATUS.get(status, ""),
        "parts_text": parts_in_words([str(p.get("status", "?")) for p in parts]),
        "part_status_words": [(k, PART_STATUS.get(k, "")) for k in sorted(statuses)],
        "started": m.get("started") or "–",
        "finished": m.get("finished") or "–",
        "wall_s": _fmt(m.get("wall_s"), "days"),
        "seeds": json.dumps(m.get("seeds")),
        "args": " ".join(str(a) for a in m.get("args") or []),
        "sha256": m.get("scenario_sha256") or "–",
        "parts": len(parts),
        "part_status": ", ".join(f"{k} {v}" for k, v in sorted(statuses.items())) or "–",
        "versions": ", ".join(f"{k} {v}" for k, v in versions.items() if v) if isinstance(versions, dict) else "",
        "aidflow": m.get("aidflow_version") or "–",
        "error": m.get("error"),
        "replications": {s: len(r) for s, r in data.replications.items()},
    }


def _capacity(row: dict[str, Any]) -> str:
    cap, unit = row["capacity"], row["unit"]
    return f"{cap:,.0f} {unit}" if float(cap).is_integer() else f"{cap:,.4g} {unit}"


def _small_share(value: float | None) -> str:
    """A share of the time as a percentage; a positive share that would show as 0.0% is "<0.1%"."""
    return "<0.1%" if value is not None and 0 < value < 0.0005 else _fmt(value, "share")


def _ranking_rows(ranking: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The bottleneck ranking (``results.report_bottlenecks.ranking``) as table cells."""
    return [
        {
            "rank": r["rank"],
            "resource": r["resource"],
            "capacity": _capacity(r),
            "utilisation": _fmt(r["utilisation"], "share"),
            "queue": _fmt(r["queue_mean"], "days"),
            "wait": _fmt(r["wait_mean_days"], "days"),
            "lead": _fmt(r["lead_time_share"], "share"),
            "sole": _small_share(r["sole_share"]),
            "shifting": _small_share(r["shifting_share"]),
            "top_in": f"{r['top_in']} of {r['n']}",
            "binds": r["bottleneck_share"] > 0,
        }
        for r in ranking
    ]


def _top(ranking: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The rank-1 resource if it was ever a bottleneck, with its shares as text."""
    if not ranking or not ranking[0]["bottleneck_share"] > 0:
        return None
    r = ranking[0]
    return {
        "resource": r["resource"],
        "share": _fmt(r["bottleneck_share"], "share"),
        "sole": _fmt(r["sole_share"], "share"),
        "shifting": _fmt(r["shifting_share"], "share"),
        "top_in": r["top_in"],
        "n": r["n"],
    }


def report_context(data: RunData) -> dict[str, Any]:
    """Everything the template shows: tables (plain strings) and figures (plotly dicts)."""
    from results import report_bottlenecks as bn
    from results import report_charts as ch
    from results import report_flows as fl
    from results import report_inventory as iv
    from results import report_money as mo
    from results.headline import report_answer
    from results.report_data import paired_differences, summary_index
    from results.report_sweep import sweep_section

    summary = summary_index(data.kpis)
    ranking = bn.ranking(data)
    diffs = paired_differences(data.kpis, data.baseline, data.strategies) if len(data.strategies) > 1 else []
    figures = {
        "fig-cumulative": ch.cumulative(data),
        "fig-throughput": ch.throughput(data),
        "fig-leadtime": ch.lead_time_ecdf(data),
        "fig-stages": ch.stage_breakdown(data, summary),
        "fig-wip": ch.wip_queue(data),
        "fig-utilisation": ch.utilisation_heatmap(data),
        "fig-bottlenecks": bn.share_bar(ranking),
        "fig-shifting": bn.timeline(data, ranking),
        "fig-sankey": fl.sankey(data),
        "fig-map": fl.network_map(data, summary),
        "fig-forest": ch.forest(diffs),
        "fig-budget": mo.budget_burn_down(data),
        "fig-inventory": iv.inventory_panel(data),
        "fig-sweep": (sweep := sweep_section(data.run_dir, data.manifest, data.scenario))[1],
    }
    sc = data.scenario
    described = {x.name: x.description for x in sc.strategies}
    return {
        "scenario": sc,
        "generated": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "run_dir": data.run_dir.name,
        "primary": data.primary,
        "baseline": data.baseline,
        "strategies": [
            {"name": s, "description": described.get(s, "the scenario as written"), "n": len(data.replications[s])}
            for s in data.strategies
        ],
        "not_run": [x.name for x in sc.strategies if x.name not in data.strategies],
        "tables": _scenario_tables(data),
        "sources": _sources(data),
        "headline": _headline(data, summary),
        "answer": report_answer(data.run_dir, data.scenario, data.kpis, data.strategies),
        "headline_cols": ["units delivered", *(label for _, label, _ in HEADLINE)],
        "ranking": _ranking_rows(ranking),
        "bottleneck_top": _top(ranking),
        "bottleneck_reps": list(data.detail.analyses),
        "diffs": [
            {
                **d,
                "diff_s": _num(d["diff"], signed=True),
                "ci_s": f"[{_num(d['lo'], True)}, {_num(d['hi'], True)}]" if d["lo"] is not None else "n < 2: no CI",
                "base_s": _num(d["baseline_mean"]),
                "strat_s": _num(d["strategy_mean"]),
                "significant": d["lo"] is not None and (d["lo"] > 0 or d["hi"] < 0),
            }
            for d in diffs
        ],
        "run": _run_info(data),
        "sweep": sweep[0],
        "figures": {k: v for k, v in figures.items() if v is not None},
        "_extra": {"ranking": ranking, "diffs": diffs, "summary": summary},
    }


# --------------------------------------------------------------------------- rendering


def render_html(context: dict[str, Any]) -> str:
    """Render the report template (autoescape on) around one plotly.js and the figures' JSON."""
    import jinja2
    from markupsafe import Markup
    from plotly.offline import get_plotlyjs

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).resolve().parent / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    plotly_js = get_plotlyjs()
    if "</script" in plotly_js.lower():  # pragma: no cover - not the case in any plotly.js release so far
        plotly_js = plotly_js.replace("</script", "<\\/script").replace("</SCRIPT", "<\\/SCRIPT")
    figures_json = script_json(context["figures"])
    csp = (
        "default-src 'none'; "
        f"script-src {_csp_hash(plotly_js)} {_csp_hash(BOOT_JS)}; "
        "style-src 'unsafe-inline'; img-src data: blob:; font-src data:; "
        "base-uri 'none'; form-action 'none'"
    )
    template = env.get_template("report.html.j2")
    return template.render(
        **{k: v for k, v in context.items() if not k.startswith("_")},
        csp=csp,
        plotly_js=Markup(plotly_js),
        figures_json=Markup(figures_json),
        boot_js=Markup(BOOT_JS),
    )


def build_report(run_dir: str | Path, out: str | Path | None = None, png_dir: str | Path | None = None) -> Path:
    """Write the HTML report of a run directory (and PNG figures into ``png_dir``).

    Args:
        run_dir: A run directory written by ``aidflow run`` (``results.store``).
        out: Where to write the report; ``run_dir/report.html`` by default.
        png_dir: If given, the main charts are also written there as PNG (matplotlib).

    Returns:
        The path of the report.

    Raises:
        results.store.StoreError: ``run_dir`` is not a readable run directory.
    """
    from results.report_data import load_run
    from results.store.atomic import atomic_write_text

    run_dir = Path(run_dir)
    data = load_run(run_dir)
    context = report_context(data)
    text = render_html(context)
    target = Path(out) if out is not None else run_dir / REPORT_FILE
    target.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(target, text)
    if png_dir is not None:
        from results.report_png import write_pngs

        extra = context["_extra"]
        write_pngs(data, extra["summary"], extra["ranking"], extra["diffs"], Path(png_dir))
    return target
