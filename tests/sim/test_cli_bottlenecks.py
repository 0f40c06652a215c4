"""The ``bottlenecks`` command on a tandem line whose answers are known by construction.

supplier -> hub A (0.1 d/lot) -> border B (0.5 d/lot, the slowest) -> depot C (0.35 d/lot) -> unit:
B ranks first; one more lane at B lets C bind (the response's new top and the chain's next
step), and the units delivered by day 60 rise by about 50 lots. Run on its run directory, the
command repeats the ranking without running anything.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path
from typing import Any

import pytest
import typer
from ruamel.yaml import YAML
from typer.testing import CliRunner

from results.bottlenecks.response import BadAddition
from scenarios.errors import AidflowError
from sim.cli.bottlenecks import BottleneckError, register

START = dt.date(2025, 1, 1)


def _app() -> typer.Typer:
    app = typer.Typer(add_completion=False)

    @app.callback()
    def main() -> None:
        """aidflow (test app)."""

    register(app)
    return app


def _link(link_id: str, a: str, b: str, vehicles: int = 10, capacity_m3: float = 1.0) -> dict[str, Any]:
    return {
        "id": link_id,
        "from": a,
        "to": b,
        "mode": "road",
        "transit_days": 0.05,
        "vehicles": vehicles,
        "capacity_m3": capacity_m3,
    }


@pytest.fixture(scope="module")
def tandem_yaml(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = {
        "name": "tandem",
        "start": START,
        "horizon_days": 60,
        "seed": 7,
        "items": [{"id": "box", "unit_value_eur": 1, "volume_m3": 0.1, "lot_size": 10}],
        "nodes": [
            {
                "id": "sup",
                "kind": "supplier",
                "domestic": True,
                "products": [{"item": "box", "rate_per_day": 10000, "unit_price_eur": 1}],
            },
            {"id": "A", "kind": "hub", "servers": 1, "service_days": 0.1},
            {"id": "B", "kind": "border", "servers": 1, "service_days": 0.5},
            {"id": "C", "kind": "depot", "servers": 1, "service_days": 0.35},
            {"id": "unit", "kind": "unit"},
            {"id": "ua_state", "kind": "donor", "state_budget": True, "budget_eur": "unlimited"},
        ],
        "links": [
            _link("sup_A", "sup", "A", vehicles=2, capacity_m3=10000),
            _link("A_B", "A", "B"),
            _link("B_C", "B", "C"),
            _link("C_unit", "C", "unit"),
        ],
        "requirements": [
            {
                "id": "R",
                "unit": "unit",
                "item": "box",
                "qty": 2000,
                "need_by": START + dt.timedelta(days=59),
                "channel": "domestic",
            }
        ],
    }
    buf = io.StringIO()
    YAML(typ="safe", pure=True).dump(data, buf)
    path = tmp_path_factory.mktemp("scenario") / "tandem.yaml"
    path.write_text(buf.getvalue())
    return path


@pytest.fixture(scope="module")
def json_run(tandem_yaml: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    out = tmp_path_factory.mktemp("runs") / "bn"
    args = ["bottlenecks", str(tandem_yaml), "-n", "2", "--top", "2", "--format", "json", "--out", str(out), "-q"]
    result = CliRunner().invoke(_app(), args)
    assert result.exit_code == 0, (result.output, result.exception)
    return json.loads(result.stdout), out


def test_ranking_bound_and_timeline(json_run: tuple[dict[str, Any], Path]) -> None:
    report, _ = json_run
    assert report["top"] == "node:B"
    ranking = report["ranking"]
    assert [r["resource"] for r in ranking[:1]] == ["node:B"]
    assert ranking[0]["top_in"] == 2 and ranking[0]["n"] == 2
    assert ranking[0]["sole_share"] + ranking[0]["shifting_share"] > 0.95
    (bound,) = report["bounds"]
    assert bound["item"] == "box" and bound["min_cut"] == ["node:B"]
    assert bound["bound"] == pytest.approx(20.0)
    assert bound["ratio"] == pytest.approx(1.0, abs=0.01) and not bound["exceeds"]
    # B dominates throughout; A, working off its pile, is saturated too for the first 20 days
    spans = report["timeline"]
    assert [s["resource"] for s in spans] == ["node:B", "node:B"]
    assert [s["also_saturated"] for s in spans] == [["node:A"], []]
    assert spans[0]["start"] == "2025-01-01" and spans[1]["start_day"] == 20.0 and spans[1]["end_day"] == 60.0


def test_response_and_chain(json_run: tuple[dict[str, Any], Path]) -> None:
    report, _ = json_run
    resp = {r["candidate"]: r for r in report["response"]}
    assert set(resp) == {"node:B", report["ranking"][1]["resource"]}
    b = resp["node:B"]
    assert b["change"] == "servers 1 -> 2" and b["path"] == "nodes.B.servers"
    assert b["new_top"] == "node:C"
    assert b["d_units"] == pytest.approx(510, abs=30) and b["d_units_low"] > 0
    assert b["n"] == 2
    chain = report["chain"]
    assert [c["candidate"] for c in chain] == ["node:B", "node:C"]
    assert chain[0]["new_top"] == "node:C"
    assert chain[1]["change"] == "node:B servers 1 -> 2 + node:C servers 1 -> 2"
    assert chain[1]["d_units"] > b["d_units"]  # relieving C as well delivers more again


def test_the_run_directory_holds_every_variant(json_run: tuple[dict[str, Any], Path]) -> None:
    report, out = json_run
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "completed"
    labels = sorted({p["strategy"] for p in manifest["parts"]})
    # base, two candidates, one more chain step (step 1 is the top candidate's own variant)
    assert labels == [f"baseline-pt{k:03d}" for k in range(4)]
    assert manifest["points"][0] == {} and manifest["points"][1] == {"nodes.B.servers": 2}
    assert report["run"] == str(out)


def test_table_output_and_the_run_directory_mode(tandem_yaml: Path, json_run: tuple[dict[str, Any], Path]) -> None:
    _, out = json_run
    runner = CliRunner()
    result = runner.invoke(_app(), ["bottlenecks", str(out)])
    assert result.exit_code == 0, (result.output, result.exception)
    text = result.stdout
    assert "Bottleneck ranking of tandem" in text and "node:B" in text
    assert "max-flow bound" in text and "Response to added capacity" not in text
    assert "analysed as it is" in result.stderr

    again = out.parent / "again"
    args = [
        "bottlenecks",
        str(tandem_yaml),
        "-n",
        "1",
        "--top",
        "1",
        "--chain",
        "1",
        "--add",
        "100%",
        "--out",
        str(again),
    ]
    result = runner.invoke(_app(), [*args, "-q"])
    assert result.exit_code == 0, (result.output, result.exception)
    text = result.stdout
    for expected in ("Bottleneck ranking", "When it binds", "Response to added capacity", "The chain"):
        assert expected in text
    assert "chain: node:B -> node:C" in text
    # an explicit --out that is not empty needs --overwrite
    result = runner.invoke(_app(), [*args, "-q"])
    assert result.exit_code != 0 and isinstance(result.exception, AidflowError)
    assert runner.invoke(_app(), [*args, "-q", "--overwrite"]).exit_code == 0


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--add", "0"], "--add"),
        (["--add", "lots"], "--add"),
        (["--rule", "loudest"], "--rule"),
        (["--format", "xml"], "--format"),
        (["--strategy", "nope"], "--strategy"),
    ],
)
def test_bad_input_is_an_aidflow_error(tandem_yaml: Path, tmp_path: Path, extra: list[str], message: str) -> None:
    result = CliRunner().invoke(_app(), ["bottlenecks", str(tandem_yaml), "--out", str(tmp_path / "x"), "-q", *extra])
    assert isinstance(result.exception, BottleneckError), result.output
    assert message in str(result.exception)
    assert not isinstance(result.exception, BadAddition)
