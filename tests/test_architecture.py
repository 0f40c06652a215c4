"""The house rules of issue 18, as tests: modules stay small, imports never go round in circles.

- Every Python module of the project (packages, benchmarks and tests) has at most
  ``MAX_MODULE_LINES`` lines: a module that grows past it is split by concept.
- The import graph of the project's packages has no cycle. Imports under ``TYPE_CHECKING`` are
  left out: they never run, and a Protocol or a type named under ``TYPE_CHECKING`` is the
  design's way of pointing back at a type without importing it at run time.

Both checks fail with the offending modules named, so the message says what to split or cut.
"""

from __future__ import annotations

from pathlib import Path

import grimp
import networkx as nx
import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("scenarios", "network", "sim", "results")
"""The import names of the project (pyproject's import-linter root packages)."""
CHECKED_DIRS = (*PACKAGES, "benchmarks", "tests")
MAX_MODULE_LINES = 600


def _python_files() -> list[Path]:
    return sorted(p for d in CHECKED_DIRS for p in (ROOT / d).rglob("*.py") if "__pycache__" not in p.parts)


def _line_count(path: Path) -> int:
    with path.open("rb") as f:
        return sum(1 for _ in f)


def oversized(paths: list[Path], root: Path = ROOT, limit: int = MAX_MODULE_LINES) -> dict[str, int]:
    """Modules over ``limit`` lines, by path relative to ``root``."""
    return {str(p.relative_to(root)): n for p in paths if (n := _line_count(p)) > limit}


def import_cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Each set of modules that import one another in a circle, sorted."""
    g: nx.DiGraph[str] = nx.DiGraph()
    for m in graph.modules:
        g.add_node(m)
        for dep in graph.find_modules_directly_imported_by(m):
            g.add_edge(m, dep)
    return sorted(sorted(c) for c in nx.strongly_connected_components(g) if len(c) > 1)


def test_every_module_is_at_most_600_lines() -> None:
    files = _python_files()
    assert len(files) > 100  # the walk found the project, not an empty folder
    assert oversized(files) == {}


def test_the_size_check_sees_a_long_module(tmp_path: Path) -> None:
    long = tmp_path / "long.py"
    long.write_text("x = 1\n" * (MAX_MODULE_LINES + 1))
    short = tmp_path / "short.py"
    short.write_text("x = 1\n" * MAX_MODULE_LINES)
    assert oversized([long, short], root=tmp_path) == {"long.py": MAX_MODULE_LINES + 1}


@pytest.fixture(scope="module")
def project_graph() -> grimp.ImportGraph:
    return grimp.build_graph(*PACKAGES, exclude_type_checking_imports=True, cache_dir=None)


def test_no_import_cycles(project_graph: grimp.ImportGraph) -> None:
    assert len(project_graph.modules) > 50
    assert import_cycles(project_graph) == []


def test_the_cycle_check_sees_a_cycle(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pkg = tmp_path / "circle_pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from circle_pkg import b\n")
    (pkg / "b.py").write_text("from circle_pkg import c\n")
    (pkg / "c.py").write_text("import circle_pkg.a\n")
    (pkg / "leaf.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from circle_pkg import a\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    graph = grimp.build_graph("circle_pkg", exclude_type_checking_imports=True, cache_dir=None)
    assert import_cycles(graph) == [["circle_pkg.a", "circle_pkg.b", "circle_pkg.c"]]


def _engine_layer() -> set[str]:
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    contracts = config["tool"]["importlinter"]["contracts"]
    layers = next(c["layers"] for c in contracts if c["type"] == "layers")
    engine = next(layer for layer in layers if "sim.run" in layer)
    return {m.strip() for m in engine.split(":")}


def test_the_layered_contract_names_every_engine_module() -> None:
    """The engine layer lists ``sim``'s modules one by one (it cannot be ``sim``, which holds
    ``sim.cli``): a new engine module left out of it would escape the layering."""
    top = {
        f"sim.{p.stem if p.is_file() else p.name}"
        for p in (ROOT / "sim").iterdir()
        if (p.suffix == ".py" and p.stem != "__init__") or (p.is_dir() and (p / "__init__.py").exists())
    }
    assert top - {"sim.cli"} == _engine_layer()
