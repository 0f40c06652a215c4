"""The report's panels (issue 17 item 7): supplier order backlogs, the Sankey in units per item,
map labels that do not overlap, PNG titles, the run's status in words, mixed units labelled.

Numbers are computed by hand from the scenario (a deterministic supplier line) or counted
directly in the event log, never taken from the report's own projections.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from rundirs import make_run_dir

from results.report import build_report, report_context
from results.report_data import Detail, load_run, summary_index
from results.store.reading import read_events
from scenarios.load import load
from scenarios.schema import Scenario

ROOT = Path(__file__).resolve().parents[2]
START = dt.date(2025, 1, 1)


def line_scenario(horizon: int = 20) -> Scenario:
    """One domestic line, 4 units/day, lots of 10: an order of 40 on day 0 and one of 20 on day 12.

    Lots are produced 2.5 days apart: 40 ordered on day 0 -> lots at 2.5, 5, 7.5 and 10;
    20 ordered on day 12 (the line idle) -> lots at 14.5 and 17. The road takes each lot at once.
    With a ``horizon`` before day 17.5, R2 is still open at the end (the part is incomplete).
    """
    need_by = START + dt.timedelta(days=horizon - 1)
    return Scenario.model_validate(
        {
            "name": "line",
            "start": START,
            "horizon_days": horizon,
            "seed": 3,
            "items": [{"id": "box", "unit_value_eur": 1, "volume_m3": 0.001, "lot_size": 10}],
            "nodes": [
                {
                    "id": "sup",
                    "kind": "supplier",
                    "domestic": True,
                    "products": [{"item": "box", "rate_per_day": 4.0, "unit_price_eur": 1}],
                },
                {"id": "unit", "kind": "unit"},
                {"id": "ua_state", "kind": "donor", "state_budget": True, "budget_eur": "unlimited"},
            ],
            "links": [
                {
                    "id": "road",
                    "from": "sup",
                    "to": "unit",
                    "mode": "road",
                    "transit_days": 0.5,
                    "vehicles": 50,
                    "capacity_m3": 1e6,
                    "return_days": 0,
                }
            ],
            "requirements": [
                {"id": "R1", "unit": "unit", "item": "box", "qty": 40, "need_by": need_by, "channel": "domestic"},
                {
                    "id": "R2",
                    "unit": "unit",
                    "item": "box",
                    "qty": 20,
                    "opens": START + dt.timedelta(days=12),
                    "need_by": need_by,
                    "channel": "domestic",
                },
            ],
        }
    )


# daily mean lots ordered and not yet produced, day 0 .. 19, worked out from the docstring above
BACKLOG_LOTS = [4, 4, 3.5, 3, 3, 2, 2, 1.5, 1, 1, 0, 0, 2, 2, 1.5, 1, 1, 0, 0, 0]


@pytest.fixture(scope="module")
def line_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_run_dir(tmp_path_factory.mktemp("panels") / "line", line_scenario(), ("baseline",), 1)


@pytest.fixture(scope="module")
def small_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    s = load(ROOT / "scenarios" / "small_routers.yaml")
    return make_run_dir(tmp_path_factory.mktemp("panels") / "small", s, ("baseline",), 2)


def test_line_scenario_runs_as_worked_out(line_run: Path) -> None:
    t = read_events(line_run, "baseline", 0)
    kinds = t.column("kind").to_pylist()
    times = t.column("t").to_pylist()
    assert [x for k, x in zip(kinds, times, strict=True) if k == "contract_awarded"] == [0.0, 12.0]
    assert [x for k, x in zip(kinds, times, strict=True) if k == "lot_produced"] == [2.5, 5.0, 7.5, 10.0, 14.5, 17.0]


def test_supplier_backlog_in_the_queue_panels(line_run: Path) -> None:
    data = load_run(line_run)
    assert data.detail.backlog["sup"]["box"][0] == pytest.approx(BACKLOG_LOTS)
    fig = report_context(data)["figures"]["fig-wip"]
    (trace,) = [t for t in fig["data"] if t["name"].startswith("order backlog")]
    assert trace["xaxis"] == "x"  # the supplier's panel: sup is the first node with a panel
    assert trace["y"] == pytest.approx(BACKLOG_LOTS)


def test_backlog_by_chunks_equals_whole(line_run: Path) -> None:
    a, b = load_run(line_run, batch_rows=3).detail.backlog, load_run(line_run, batch_rows=10**6).detail.backlog
    assert np.array_equal(a["sup"]["box"], b["sup"]["box"])


def test_sankey_in_units_per_item(small_run: Path) -> None:
    data = load_run(small_run)
    s = data.resolved["baseline"]
    fig = report_context(data)["figures"]["fig-sankey"]
    menu = fig["layout"]["updatemenus"][0]
    labels = [b["label"] for b in menu["buttons"]]
    assert labels[0] == "EUR" and labels[1:] == [f"units of {it.id}" for it in s.items]
    links = {lk.id: (lk.from_, lk.to) for lk in s.links}
    units_at = {n.id for n in s.nodes if n.kind == "unit"}
    reps = data.replications["baseline"]
    for k, it in enumerate(s.items):
        trace = fig["data"][k + 1]
        assert menu["buttons"][k + 1]["args"][0]["visible"] == [j == k + 1 for j in range(len(fig["data"]))]
        nodes = trace["node"]["label"]
        got = {
            (nodes[a], nodes[b]): v
            for a, b, v in zip(trace["link"]["source"], trace["link"]["target"], trace["link"]["value"], strict=True)
        }
        want: dict[tuple[str, str], float] = {}
        delivered = 0.0
        for rep in reps:
            t = read_events(small_run, "baseline", rep).to_pylist()
            for r in t:
                if r["item"] != it.id:
                    continue
                if r["kind"] == "loaded" and r["link"] is not None:
                    key = links[r["link"]]
                    want[key] = want.get(key, 0.0) + r["qty"] / len(reps)
                elif r["kind"] == "delivered":
                    delivered += r["qty"] / len(reps)
        assert got == pytest.approx({k2: round(v) for k2, v in want.items() if v > 0}, abs=0.5)
        # every part completed (no lot left on its way), so what the last legs carried was delivered
        into_units = sum(v for (_, b), v in want.items() if b in units_at)
        assert delivered > 0 and into_units == pytest.approx(delivered)
    assert {p["status"] for p in data.manifest["parts"]} == {"completed"}


def _label_boxes(fig: dict[str, Any], width_px: float) -> list[tuple[float, float, float, float, str]]:
    """Pixel boxes of the map's node labels: annotations with ``xref`` x, centred at the arrow tail.

    The plot area is ``width_px`` by the layout's height less its margins; the axes keep the
    layout's ``scaleanchor`` ratio over their ranges, so the scale is the tighter of the two.
    Text is estimated 0.62 em per character and 1.3 em high, plus the box's padding.
    """
    lay = fig["layout"]
    (x0, x1), (y0, y1) = lay["xaxis"]["range"], lay["yaxis"]["range"]
    ratio = lay["yaxis"]["scaleanchor"] == "x" and lay["yaxis"]["scaleratio"]
    m = lay["margin"]
    w, h = width_px - m["l"] - m["r"], lay["height"] - m["t"] - m["b"]
    px_per_x = min(w / (x1 - x0), h / ((y1 - y0) * ratio))
    px_per_y = px_per_x * ratio
    out = []
    for a in lay["annotations"]:
        if a.get("xref") != "x" or not a.get("text") or a.get("axref", "pixel") != "pixel":
            continue
        size = a["font"]["size"]
        tw = 0.62 * size * len(re.sub(r"&\w+;", "x", a["text"])) + 2 * a.get("borderpad", 1)
        th = 1.3 * size + 2 * a.get("borderpad", 1)
        cx = (a["x"] - x0) * px_per_x + a["ax"]
        cy = (y1 - a["y"]) * px_per_y + a["ay"]
        out.append((cx - tw / 2, cy - th / 2, cx + tw / 2, cy + th / 2, a["text"]))
    return out


@pytest.mark.parametrize("name", sorted(p.stem for p in (ROOT / "scenarios").glob("*.yaml")))
def test_map_labels_do_not_overlap(name: str) -> None:
    from results.report_flows import NOMINAL_MAP_WIDTH_PX, network_map

    s = load(ROOT / "scenarios" / f"{name}.yaml")
    data = SimpleNamespace(resolved={"baseline": s}, primary="baseline", detail=Detail())
    fig = network_map(data, {})  # type: ignore[arg-type]
    placed = [n for n in s.nodes if n.location is not None]
    if fig is None:
        assert not placed
        return
    boxes = _label_boxes(fig, NOMINAL_MAP_WIDTH_PX)
    assert sorted(b[4] for b in boxes) == sorted(n.id for n in placed)  # every placed node has its label
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            apart = a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1]
            assert apart, f"{name}: labels {a[4]!r} and {b[4]!r} overlap"


def test_labels_all_above_their_nodes_would_overlap() -> None:
    """The check can fail: with every label above its node (the old ``top center``), two overlap."""
    from results.report_flows import NOMINAL_MAP_WIDTH_PX, network_map

    s = load(ROOT / "scenarios" / "it_coalition_2025.yaml")
    fig = network_map(SimpleNamespace(resolved={"baseline": s}, primary="baseline", detail=Detail()), {})  # type: ignore[arg-type]
    assert fig is not None
    for a in fig["layout"]["annotations"]:
        if a.get("text"):
            a["ax"], a["ay"] = 0, -14
    boxes = _label_boxes(fig, NOMINAL_MAP_WIDTH_PX)
    assert any(
        not (a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1])
        for i, a in enumerate(boxes)
        for b in boxes[i + 1 :]
    )


def test_pngs_have_titles(small_run: Path, tmp_path: Path) -> None:
    from results.report_png import png_figures

    data = load_run(small_run)
    ctx = report_context(data)
    extra = ctx["_extra"]
    figs = png_figures(data, extra["summary"], extra["ranking"], extra["diffs"])
    assert [stem for stem, _ in figs] == [
        "cumulative",
        "throughput",
        "lead_time",
        "utilisation",
        "bottlenecks",
        "network",
    ]
    heads = []
    for stem, fig in figs:
        title = fig.get_suptitle()
        assert title and f"{data.scenario.name} · baseline" in title, stem
        heads.append(title.splitlines()[0])
    assert len(set(heads)) == len(heads) and all(heads)  # each chart its own title line


def test_png_map_labels_do_not_overlap(tmp_path: Path) -> None:
    """Measured by matplotlib itself: the drawn label texts of the PNG map do not intersect."""
    from matplotlib.text import Annotation

    from results.report_png import _figure, _network

    for name in ("it_coalition_2025", "ramstein_package_2025"):
        s = load(ROOT / "scenarios" / f"{name}.yaml")
        data = SimpleNamespace(resolved={"baseline": s}, primary="baseline", detail=Detail())
        fig = _figure(10, 7.4)
        _network(fig, data, {})  # type: ignore[arg-type]
        fig.canvas.draw()
        texts = [a for a in fig.axes[0].texts if isinstance(a, Annotation) and a.get_text()]
        assert sorted(t.get_text() for t in texts) == sorted(n.id for n in s.nodes if n.location is not None)
        boxes = [t.get_window_extent() for t in texts]
        for i, a in enumerate(boxes):
            for j in range(i + 1, len(boxes)):
                assert not a.overlaps(boxes[j]), (name, texts[i].get_text(), texts[j].get_text())


def test_run_status_in_words(line_run: Path, tmp_path: Path) -> None:
    short = make_run_dir(tmp_path / "short", line_scenario(horizon=16), ("baseline",), 2)
    html = build_report(short).read_text(encoding="utf-8")
    assert [p["status"] for p in load_run(short).manifest["parts"]] == ["incomplete", "incomplete"]
    assert "2 replications ran; in 2 of 2 the horizon came while work was still open" in html
    assert "parts 2 (incomplete 2)" not in html
    line = build_report(line_run).read_text(encoding="utf-8")
    assert "1 replication ran; in 1 of 1 every requirement opened was closed" in line


def test_mixed_units_are_labelled(small_run: Path, line_run: Path) -> None:
    ctx = report_context(load_run(small_run))
    whole = [r for r in ctx["headline"] if r["whole"]]
    assert whole and all(r["item"] == "all items (mixed units)" for r in whole)
    one = report_context(load_run(line_run))
    assert [r["item"] for r in one["headline"] if r["whole"]] == ["all items"]  # one item: nothing is mixed


def test_summary_index_is_unchanged_by_panels(line_run: Path) -> None:
    data = load_run(line_run)
    row = summary_index(data.kpis)[("baseline", "units_delivered", None, None, None)]
    assert row["mean"] == 60  # 40 + 20 boxes, all delivered by day 17.5
