"""The HTML report: self-contained, escaped, complete; its data projections and PNG figures."""

from __future__ import annotations

import html as html_lib
import json
import math
import re
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from results.report import REPORT_FILE, build_report, script_json
from results.report_data import (
    FOREST_KPIS,
    ecdf_points,
    load_run,
    mean_band,
    paired_differences,
    step_average,
    summary_index,
)
from results.store.layout import TMP_PREFIX, StoreError

ROOT = Path(__file__).resolve().parents[2]
SMALL = ROOT / "scenarios" / "small_routers.yaml"
XSS = "<script>alert(1)</script>"
XSS_ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"
FIGURE_IDS = (
    "fig-cumulative",
    "fig-throughput",
    "fig-leadtime",
    "fig-stages",
    "fig-wip",
    "fig-utilisation",
    "fig-bottlenecks",
    "fig-shifting",
    "fig-sankey",
    "fig-map",
    "fig-budget",
    "fig-inventory",  # small_routers: brigade_south consumes chargers
)


# --------------------------------------------------------------------------- run directories


def make_run(
    scenario: Path, out: Path, reps: int = 2, strategies: Sequence[str] = ("baseline",), cli: bool = False
) -> Path:
    """A run directory of ``scenario``, written with the library (``RunStore``, ``PartWriter``, ``run``).

    With ``cli`` (one strategy) ``aidflow run`` writes it, if that works yet; the library is the
    fallback. Several strategies always go through the library (``aidflow compare`` is another issue).
    """
    if cli and list(strategies) == ["baseline"]:
        cmd = [sys.executable, "-m", "sim.cli", "run", str(scenario), "--out", str(out), "--quiet", "-n", str(reps)]
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
        if proc.returncode == 0 and (out / "manifest.json").is_file() and (out / "kpis.parquet").is_file():
            return out
    from rundirs import make_run_dir

    from scenarios.load import load

    return make_run_dir(out, load(scenario), tuple(strategies), reps, args=["test", str(scenario)])


@pytest.fixture(scope="module")
def multi_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_run(SMALL, tmp_path_factory.mktemp("report") / "multi", 2, ("baseline", "bilateral", "more_lanes"))


@pytest.fixture(scope="module")
def multi_report(multi_run: Path) -> str:
    return build_report(multi_run).read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def single_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_run(SMALL, tmp_path_factory.mktemp("report") / "single", 2)


def figures_of(html: str) -> dict[str, dict]:
    m = re.search(r'<script type="application/json" id="aidflow-figures">(.*?)</script>', html, re.S)
    assert m, "no figure block"
    return json.loads(m.group(1))


# --------------------------------------------------------------------------- the page


def test_report_is_self_contained(multi_run: Path, multi_report: str) -> None:
    html = multi_report
    assert (multi_run / REPORT_FILE).is_file()
    assert not list(multi_run.rglob(f"{TMP_PREFIX}*"))
    assert html.count("* plotly.js v") == 1  # plotly.js embedded once
    assert len(re.findall(r"<script\b", html)) == 3  # figures JSON, plotly.js, the page's own script
    own = re.sub(r"<script>/\*\*\n\* plotly\.js v.*?</script>", "", html, flags=re.S)  # the page without plotly.js
    assert len(own) < len(html) - 4_000_000
    assert not re.search(r"<(link|img|iframe|object|embed|base)\b", own, re.I)
    assert not re.search(r"(src|href)\s*=\s*\\?[\"']?\s*(https?:)?//", own, re.I)
    csp = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)"', html_lib.unescape(html[:2000]))
    assert csp and "default-src 'none'" in csp.group(1) and "unsafe-inline" not in csp.group(1).split("style-src")[0]


def test_report_sections_and_figures(multi_report: str) -> None:
    import plotly.graph_objects as go

    html = multi_report
    figs = figures_of(html)
    assert set(figs) == {*FIGURE_IDS, "fig-forest"}
    containers = re.findall(r'<div class="chart" id="([^"]+)"></div>', html)
    assert sorted(containers) == sorted(figs)  # every container has its figure and the other way round
    for fid, fig in figs.items():
        go.Figure(fig)  # plotly validates every property name and value
        assert fig["data"], fid
    for heading in ("Summary", "Deliveries against requirements", "Lead times", "Bottlenecks", "Strategy comparison"):
        assert f"<h2>{heading}</h2>" in html
    assert "provisional" not in html.lower()  # the bottleneck section is the active-period analysis
    assert 'id="bottleneck-ranking"' in html and "Active-period method" in html
    assert "NSPA, NATO’s logistics service agency" in html  # a source's phrase
    assert "routers_lv" in html and "item router" in html  # a source and what cites it
    for s in ("bilateral", "more_lanes"):
        assert s in figs["fig-forest"]["data"][0]["y"]
    cum = figs["fig-cumulative"]
    assert {t["name"] for t in cum["data"] if t.get("showlegend")} >= {"baseline", "bilateral", "more_lanes"}
    assert any(t.get("fill") == "tonexty" for t in cum["data"])  # 95% band over two replications


def test_bottlenecks_are_the_active_period_analysis(multi_run: Path, multi_report: str) -> None:
    """The ranking, its chart and the timeline of replication 0 are those of ``results.bottlenecks``."""
    from results.bottlenecks.analysis import analyse
    from results.bottlenecks.ranking import rank
    from results.store.reading import read_events
    from results.store.run_store import read_manifest
    from scenarios.load import load

    scenario = load(multi_run / "scenario.resolved.yaml")  # the scenario as written: the baseline
    ends = {
        int(p["replication"]): p["end_day"] for p in read_manifest(multi_run)["parts"] if p["strategy"] == "baseline"
    }
    analyses = [analyse(read_events(multi_run, "baseline", r), scenario, end=ends[r]) for r in sorted(ends)]
    expected = rank(analyses)
    assert expected and expected[0].bottleneck_share > 0
    html = multi_report
    table = html[html.index('<table id="bottleneck-ranking">') :]
    table = table[: table.index("</table>")]
    rows = re.findall(r'<tr[^>]*><td class="num">(\d+)</td><td>([^<]+)</td>', table)
    assert rows[0] == ("1", expected[0].resource)  # the same top resource
    assert [name for _, name in rows] == [r.resource for r in expected]
    assert f"Top bottleneck: <b>{expected[0].resource}</b>" in html
    assert f"{expected[0].top_in} of {len(analyses)}" in table
    figs = figures_of(html)
    bars = {t["name"]: t for t in figs["fig-bottlenecks"]["data"]}
    assert bars["sole bottleneck"]["y"][0] == f"1. {expected[0].resource}"
    for state in ("sole", "shifting"):
        want = [getattr(r, f"{state}_share") for r in expected[:20]]
        assert bars[f"{state} bottleneck"]["x"] == pytest.approx(want, abs=1e-4)
    # the Gantt chart of replication 0: per resource and state, the bars add up to its timeline
    gantt = figs["fig-shifting"]["data"]
    for state in ("sole", "shifting"):
        want: dict[str, float] = {}
        for seg in analyses[0].timeline:
            if seg.state == state:
                want[seg.resource] = want.get(seg.resource, 0.0) + seg.end - seg.start
        got: dict[str, float] = {}
        for t in gantt:
            if t["name"] == f"{state} (replication 0)":
                for who, ms in zip(t["y"], t["x"], strict=True):
                    got[who] = got.get(who, 0.0) + ms / 86_400_000
        assert got == pytest.approx(want, abs=1e-3)
    assert any(t["name"].startswith("dominant bottleneck (2 replications)") for t in gantt)


def test_one_strategy_gets_a_note(single_run: Path) -> None:
    html = build_report(single_run).read_text(encoding="utf-8")
    assert "One strategy only" in html
    assert "fig-forest" not in figures_of(html)
    assert 'id="fig-forest"' not in html


def test_unit_name_is_escaped(tmp_path: Path) -> None:
    text = SMALL.read_text(encoding="utf-8")
    anchor = "  - id: brigade_east\n    kind: unit\n"
    assert anchor in text
    scenario = tmp_path / "xss.yaml"
    scenario.write_text(text.replace(anchor, anchor + f'    name: "{XSS}"\n'), encoding="utf-8")
    run_dir = make_run(scenario, tmp_path / "run", 1)
    html = build_report(run_dir).read_text(encoding="utf-8")
    assert XSS not in html
    assert XSS_ESCAPED in html  # in the node and requirement tables
    assert html.lower().count("</script") == 3  # only the report's own three script elements close
    figs = json.dumps(figures_of(html))
    assert XSS_ESCAPED in figs  # chart labels carry it as entities, which plotly.js shows as text


def test_out_elsewhere(single_run: Path, tmp_path: Path) -> None:
    out = build_report(single_run, out=tmp_path / "sub" / "r.html")
    assert out == tmp_path / "sub" / "r.html" and out.stat().st_size > 1_000_000
    assert not list(tmp_path.rglob(f"{TMP_PREFIX}*"))


def test_kpis_recomputed_when_missing(single_run: Path, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(single_run, copy)
    (copy / "kpis.parquet").unlink()
    a = load_run(single_run).kpis.sort_by([("replication", "ascending")])
    b = load_run(copy).kpis.sort_by([("replication", "ascending")])
    assert a.num_rows == b.num_rows
    assert build_report(copy).is_file()


def test_not_a_run_directory(tmp_path: Path) -> None:
    with pytest.raises(StoreError):
        build_report(tmp_path)


def test_cli_report(multi_run: Path, tmp_path: Path) -> None:
    import typer
    from typer.testing import CliRunner

    from sim.cli.report import register

    app = typer.Typer()
    register(app)
    app.command("noop")(lambda: None)  # two commands, so typer keeps the command name
    png = tmp_path / "png"
    res = CliRunner().invoke(app, ["report", str(multi_run), "--png", str(png)])
    assert res.exit_code == 0, res.output
    assert "report.html" in res.output and (multi_run / REPORT_FILE).is_file()
    stems = sorted(p.stem for p in png.glob("*.png"))
    assert stems == sorted(["cumulative", "throughput", "lead_time", "utilisation", "bottlenecks", "network", "forest"])
    for p in png.glob("*.png"):
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not list(tmp_path.rglob(f"{TMP_PREFIX}*"))
    bad = CliRunner().invoke(app, ["report", str(tmp_path / "nothing")])
    assert isinstance(bad.exception, StoreError)  # sim.cli.main turns it into exit code 2


# --------------------------------------------------------------------------- projections


def test_projections_agree_with_kpis(single_run: Path) -> None:
    data = load_run(single_run)
    summary = summary_index(data.kpis)
    horizon = data.day_edges[-1]
    width = np.diff(data.day_edges)
    for node, arr in data.detail.wip.items():
        kpi = summary[("baseline", "wip_mean_lots", None, node, None)]["mean"]
        assert float((arr.mean(axis=0) * width).sum() / horizon) == pytest.approx(kpi, rel=1e-6, abs=1e-9)
    for node, arr in data.detail.queue.items():
        kpi = summary[("baseline", "queue_mean", None, node, None)]["mean"]
        assert float((arr.mean(axis=0) * width).sum() / horizon) == pytest.approx(kpi, rel=1e-6, abs=1e-9)
    wwidth = np.diff(data.week_edges)
    for res, arr in data.detail.util.items():
        node, link = (res.id, None) if res.kind == "node" else (None, res.id)
        kpi = summary[("baseline", "utilisation", None, node, link)]["mean"]
        assert float((arr.mean(axis=0) * wwidth).sum() / horizon) == pytest.approx(kpi, rel=1e-6, abs=1e-9)
    delivered = sum(float(v[:, -1].mean()) for v in data.cum["baseline"].values())
    assert delivered == pytest.approx(summary[("baseline", "units_delivered", None, None, None)]["mean"])


def test_step_average() -> None:
    edges = np.array([0.0, 1.0, 2.0, 4.0])
    # +1 at 0.5, +1 at 1.0, -2 at 3.0 (given out of order)
    got = step_average(np.array([3.0, 0.5, 1.0]), np.array([-2, 1, 1]), edges)
    assert got.tolist() == pytest.approx([0.5, 2.0, 1.0])
    assert step_average(np.zeros(0), np.zeros(0), edges).tolist() == [0.0, 0.0, 0.0]


def test_ecdf_points() -> None:
    rng = np.random.default_rng(1)
    v = rng.exponential(10.0, 20_000)
    w = rng.integers(1, 500, len(v))
    x, y = ecdf_points(v, w, 500)
    assert len(x) <= 500 and x[0] == v.min() and y[0] == 0.0 and y[-1] == pytest.approx(1.0)
    assert np.all(np.diff(x) >= 0) and np.all(np.diff(y) > 0)
    order = np.argsort(v)
    exact = np.cumsum(w[order]) / w.sum()
    assert np.allclose(y[1:], exact[np.searchsorted(v[order], x[1:], side="right") - 1])


def test_paired_differences_match_scipy() -> None:
    from scipy import stats

    base = [10.0, 12.0, 11.0, 13.0]
    other = [11.0, 14.0, 11.5, 15.0]
    rows = [("baseline", r, v) for r, v in enumerate(base)] + [("fast", r, v) for r, v in enumerate(other)]
    table = pa.table(
        {
            "kpi": ["units_delivered"] * len(rows),
            "item": pa.array([None] * len(rows), pa.string()),
            "node": pa.array([None] * len(rows), pa.string()),
            "link": pa.array([None] * len(rows), pa.string()),
            "value": [v for _, _, v in rows],
            "strategy": [s for s, _, _ in rows],
            "replication": [r for _, r, _ in rows],
        }
    )
    (d,) = paired_differences(table, "baseline", ["baseline", "fast"], FOREST_KPIS)
    diff = np.array(other) - np.array(base)
    ci = stats.ttest_rel(other, base).confidence_interval(0.95)
    assert d["diff"] == pytest.approx(diff.mean()) and d["n"] == 4
    assert (d["lo"], d["hi"]) == pytest.approx((ci.low, ci.high))


def test_mean_band() -> None:
    mean, lo, hi = mean_band(np.array([[1.0, 2.0], [3.0, 2.0]]))
    assert mean.tolist() == [2.0, 2.0] and lo is not None and hi is not None
    assert hi[1] == lo[1] == 2.0 and lo[0] < 1.0 < 3.0 < hi[0]
    assert mean_band(np.array([[1.0, 2.0]]))[1] is None


def test_script_json_never_closes_a_script() -> None:
    text = script_json({"a": "</script><!-- & \u2028", "b": [math.pi]})
    assert "<" not in text and ">" not in text and "&" not in text and "\u2028" not in text
    assert json.loads(text) == {"a": "</script><!-- & \u2028", "b": [math.pi]}
    with pytest.raises(ValueError):
        script_json({"x": math.nan})
