"""Every number of the scenario library is traced to a source that really says it.

For each ``scenarios/*.yaml``: every ``sources`` entry names a file of the seeds folder and its
phrase occurs in that file verbatim (same characters, same quotes); every ``cite`` of an item,
node, link or requirement names one of the file's sources; and the file opens with its
question. The seeds folder is ``$AIDFLOW_SEEDS`` or ``<repo>/../shared/seeds``; without it the
phrase checks are skipped (with the reason), the structural ones still run.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from scenarios.load import load
from scenarios.schema import Scenario

ROOT = Path(__file__).resolve().parents[2]
LIBRARY = sorted((ROOT / "scenarios").glob("*.yaml"))
SEEDS = Path(os.environ.get("AIDFLOW_SEEDS") or ROOT.parent / "shared" / "seeds")


def _ids(paths: list[Path]) -> list[str]:
    return [p.stem for p in paths]


@pytest.fixture(scope="module")
def seeds() -> Path:
    if not SEEDS.is_dir():
        pytest.skip(f"seeds folder {SEEDS} not found (set AIDFLOW_SEEDS to the folder of source articles)")
    return SEEDS


@pytest.fixture(scope="module", params=LIBRARY, ids=_ids(LIBRARY))
def scenario(request: pytest.FixtureRequest) -> tuple[Path, Scenario]:
    path: Path = request.param
    return path, load(path)


def test_library_is_not_empty() -> None:
    names = {p.name for p in LIBRARY}
    assert {
        "small_routers.yaml",
        "it_coalition_2025.yaml",
        "fpv_drones_2024_2025.yaml",
        "ramstein_package_2025.yaml",
        "border_disruption.yaml",
    } <= names


def test_every_scenario_cites_sources(scenario: tuple[Path, Scenario]) -> None:
    path, s = scenario
    assert s.sources, f"{path.name}: no sources"
    assert s.question, f"{path.name}: no question"
    first = path.read_text(encoding="utf-8").lstrip().splitlines()[0]
    assert first.startswith("# Question:"), f"{path.name}: the file must open with '# Question: ...'"


def test_source_documents_exist_and_phrases_are_verbatim(scenario: tuple[Path, Scenario], seeds: Path) -> None:
    path, s = scenario
    problems: list[str] = []
    texts: dict[str, str] = {}
    for src in s.sources:
        doc = src.document
        if Path(doc).name != doc:
            problems.append(f"source {src.id}: document {doc!r} must be a bare file name of the seeds folder")
            continue
        file = seeds / doc
        if not file.is_file():
            problems.append(f"source {src.id}: document {doc!r} is not in {seeds}")
            continue
        text = texts.setdefault(doc, file.read_text(encoding="utf-8"))
        if src.phrase not in text:
            problems.append(f"source {src.id}: phrase {src.phrase!r} does not occur verbatim in {doc}")
    assert not problems, f"{path.name}:\n" + "\n".join(problems)


def test_every_cite_names_a_source(scenario: tuple[Path, Scenario]) -> None:
    path, s = scenario
    known = {src.id for src in s.sources}
    entries = [*s.items, *s.nodes, *s.links, *s.requirements]
    missing = [(e.id, c) for e in entries for c in e.cite if c not in known]
    assert not missing, f"{path.name}: cites without a source: {missing}"
    assert any(e.cite for e in entries), f"{path.name}: nothing cites a source"
