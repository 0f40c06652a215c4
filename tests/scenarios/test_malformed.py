"""The malformed corpus through ``scenarios.load``: each file is refused, fast, with its line.

The table of expectations (file -> line, field path, message) is ``CASES`` in ``conftest.py``,
shared with the CLI test; a test taking ``malformed_case`` runs once per corpus file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from scenarios.errors import ScenarioError
from scenarios.load import load

HERE = Path(__file__).resolve().parent
MALFORMED = HERE / "malformed"


def test_corpus_file_is_refused_with_its_line(malformed_case: Any, case_path: Path) -> None:
    case = malformed_case
    if case.cli_only:
        # The loader accepts it: only the network checks (run by the CLI) can see the problem.
        load(case_path)
        return
    with pytest.raises(ScenarioError) as info:
        load(case_path)

    problems = info.value.problems
    text = str(info.value)
    assert len(problems) == case.count, text
    assert case.file in text
    assert f"{case.file}:{case.line}:" in text, text
    assert any(case.path in p.path and case.message in p.message for p in problems), text
    first = problems[0]
    assert first.line == case.line and first.col >= 1


def test_every_committed_file_is_in_the_table(corpus: list[tuple[Any, Path]]) -> None:
    listed = {case.file for case, _ in corpus}
    committed = {p.name for p in MALFORMED.glob("*.yaml")}
    assert committed - listed == set(), "add these files to CASES in conftest.py"
    missing = {case.file for case, path in corpus if not path.exists()}
    assert missing == set()
    assert len(corpus) >= 35


def test_problems_come_in_file_order(tiny_text: str, tmp_path: Path) -> None:
    broken = (
        tiny_text.replace("    capacity_m3: 20\n    dispatch", "    capacity_m3: 0\n    dispatch")
        .replace("    lot_size: 50\n", "    lot_size: -1\n")
        .replace("    staff: 2\n", "    staff: many\n")
    )
    path = tmp_path / "three.yaml"
    path.write_text(broken, encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load(path)
    lines = [p.line for p in info.value.problems]
    assert lines == sorted(lines) and len(lines) == 3
    assert [p.path for p in info.value.problems] == ["items[0].lot_size", "nodes[1].staff", "links[1].capacity_m3"]
