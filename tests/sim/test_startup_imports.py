"""Issue 19, fast start-up: which libraries the ``aidflow`` command loads (no timings asserted).

Each command runs as the console script in a fresh process, and the modules loaded when that
process ends are read back. ``--help`` and ``validate`` load none of the heavy libraries; a
one-replication ``run`` loads pyarrow and numpy but not pandas (pyarrow would import it, see
``sim/startup.py``), networkx (routes and checks use ``network.graph``), scipy.stats, Dask,
DuckDB, plotly or matplotlib. Keeping pandas out changes nothing in what a run writes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / "tests" / "scenarios" / "tiny.yaml"
SCRIPT = Path(sys.executable).parent / "aidflow"

HEAVY = ("pandas", "scipy.stats", "dask", "distributed", "plotly", "duckdb", "matplotlib", "networkx")
"""Never loaded by --help, validate or a one-replication run."""

# the console script run as the console script runs (``__main__`` is the script), noting the
# modules loaded at exit
NOTE_MODULES = textwrap.dedent(
    """
    import atexit, json, runpy, sys
    out = sys.argv.pop(1)
    def note():
        with open(out, "w") as f:
            json.dump(sorted(sys.modules), f)
    atexit.register(note)
    sys.argv = sys.argv[1:]
    runpy.run_path(sys.argv[0], run_name="__main__")
    """
)


def loaded_by(tmp_path: Path, *args: str, code: str = NOTE_MODULES, script: Path = SCRIPT) -> set[str]:
    """Modules loaded when ``aidflow ARGS`` (the console script, a fresh process) exits 0."""
    noted = tmp_path / "modules.json"
    proc = subprocess.run(
        [sys.executable, "-c", code, str(noted), str(script), *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return set(json.loads(noted.read_text(encoding="utf-8")))


def top_level(modules: set[str], names: tuple[str, ...]) -> list[str]:
    """Those of ``names`` that were loaded (a name counts with its submodules)."""
    return [n for n in names if any(m == n or m.startswith(n + ".") for m in modules)]


@pytest.fixture(scope="module")
def script() -> Path:
    if not SCRIPT.exists():
        pytest.skip(f"no aidflow console script next to {sys.executable}")
    return SCRIPT


def test_help_loads_no_heavy_library(tmp_path: Path, script: Path) -> None:
    assert top_level(loaded_by(tmp_path, "--help"), (*HEAVY, "pyarrow", "numpy", "scipy", "pydantic")) == []


def test_validate_loads_no_heavy_library(tmp_path: Path, script: Path) -> None:
    modules = loaded_by(tmp_path, "validate", str(TINY))
    assert "scenarios.schema" in modules  # it did validate
    assert top_level(modules, (*HEAVY, "pyarrow", "numpy", "scipy")) == []


def test_a_tiny_run_loads_neither_pandas_nor_networkx(tmp_path: Path, script: Path) -> None:
    out = tmp_path / "run"
    modules = loaded_by(tmp_path, "run", str(TINY), "-n", "1", "--out", str(out), "-q", "--format", "json")
    assert json.loads((out / "manifest.json").read_text(encoding="utf-8"))["status"] == "completed"
    assert {"pyarrow", "numpy", "simpy"} <= modules  # it did run
    assert top_level(modules, HEAVY) == []
    assert top_level(modules, ("pyarrow.compute",)) == []  # ~0.1 s; the KPIs read Arrow buffers with numpy
    # a serial run starts no worker: multiprocessing and the process pool are imported for -j only (~7 ms)
    assert top_level(modules, ("multiprocessing", "concurrent.futures.process")) == []
    # pyarrow imports cloudpickle when installed (~11 ms) and rebinds the name to pickle: refused to pyarrow
    assert top_level(modules, ("cloudpickle",)) == []


def test_importing_the_cli_loads_no_heavy_library() -> None:
    code = "import json, sys, sim.cli; print(json.dumps(sorted(sys.modules)))"
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120, check=True
    )
    modules = set(json.loads(proc.stdout))
    assert top_level(modules, (*HEAVY, "pyarrow", "numpy", "scipy", "pydantic", "ruamel")) == []


def test_the_log_and_kpis_are_the_same_with_pandas_loaded(tmp_path: Path, script: Path) -> None:
    """pyarrow without pandas writes the same bytes: the same tiny run with pandas imported first."""
    with_pandas = "import pandas\n" + NOTE_MODULES
    runs = {}
    for name, code in (("kept_out", NOTE_MODULES), ("loaded", with_pandas)):
        out = tmp_path / name
        (tmp_path / name).mkdir()
        modules = loaded_by(tmp_path / name, "run", str(TINY), "-n", "1", "--out", str(out / "run"), "-q", code=code)
        assert ("pandas" in modules) == (name == "loaded")
        runs[name] = json.loads((out / "run" / "manifest.json").read_text(encoding="utf-8"))
    a, b = runs["kept_out"], runs["loaded"]
    assert [p["sha256"] for p in a["parts"]] == [p["sha256"] for p in b["parts"]]
    assert a["kpis"]["sha256"] == b["kpis"]["sha256"]


def test_keep_pandas_out_makes_the_import_fail_until_released() -> None:
    code = textwrap.dedent(
        """
        import sys
        from sim.startup import is_command_process, keep_pandas_out, release_pandas
        assert not is_command_process()
        assert keep_pandas_out()
        try:
            import pandas
        except ModuleNotFoundError as exc:
            print("refused", exc.name)
        release_pandas()
        import pandas
        print("loaded", "pandas" in sys.modules, keep_pandas_out())
        """
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["refused", "pandas", "loaded", "True", "False"]


# the same, noting also whether pydantic scanned the installed packages for plugins
NOTE_PLUGIN_SCAN = NOTE_MODULES.replace(
    "json.dump(sorted(sys.modules), f)",
    "loader = sys.modules.get('pydantic.plugin._loader'); "
    "json.dump(sorted(sys.modules) + (['<plugins scanned>'] if getattr(loader, '_plugins', None) is not None else []), f)",
)


def test_a_tiny_run_does_not_scan_the_installed_packages_for_pydantic_plugins(
    tmp_path: Path, script: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PYDANTIC_DISABLE_PLUGINS", raising=False)
    out = tmp_path / "run"
    args = ("run", str(TINY), "-n", "1", "--out", str(out), "-q", "--format", "json")
    modules = loaded_by(tmp_path, *args, code=NOTE_PLUGIN_SCAN)
    assert "pydantic" in modules  # it did validate with pydantic models
    assert "<plugins scanned>" not in modules


def test_the_plugin_switch_keeps_a_users_own_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    from sim.startup import PLUGINS_ENV, skip_pydantic_plugin_scan

    monkeypatch.setenv(PLUGINS_ENV, "some_plugin")
    assert not skip_pydantic_plugin_scan()
    assert os.environ[PLUGINS_ENV] == "some_plugin"
    monkeypatch.delenv(PLUGINS_ENV)
    assert skip_pydantic_plugin_scan()
    assert os.environ[PLUGINS_ENV] == "__all__"


def test_only_the_invoked_command_is_built() -> None:
    from sim.cli import app
    from sim.startup import command_name, only_invoked_command

    names = [command_name(c) for c in app.registered_commands]
    assert {"run", "validate", "compare", "sweep"} <= set(names)
    for name in names:
        trimmed = only_invoked_command(app, [name, "x.yaml", "-n", "1"])
        assert [command_name(c) for c in trimmed.registered_commands] == [name]
        assert trimmed.registered_callback is app.registered_callback
    assert len(app.registered_commands) == len(names)  # the full app is left whole
    for args in ([], ["--help"], ["-V"], ["rnu", "x.yaml"], ["--", "run"]):
        assert only_invoked_command(app, args) is app  # no command, an option, a misspelt command


def test_a_command_alone_parses_helps_and_fails_as_in_the_full_app() -> None:
    """Same output and exit code, command by command, for help, missing and unknown arguments."""
    from typer.testing import CliRunner

    from sim.cli import app
    from sim.startup import command_name, only_invoked_command

    runner = CliRunner()
    for name in (command_name(c) for c in app.registered_commands):
        for args in ([name, "--help"], [name], [name, "--no-such-option"], [name, "a", "b", "c"]):
            full = runner.invoke(app, args, env={"COLUMNS": "100"})
            alone = runner.invoke(only_invoked_command(app, args), args, env={"COLUMNS": "100"})
            assert (alone.output, alone.exit_code) == (full.output, full.exit_code), args


def test_cloudpickle_is_refused_to_pyarrow_only_and_pyarrow_pickles_as_before() -> None:
    """pyarrow's module ``pickle`` is the standard one with or without the refusal; others still get cloudpickle."""
    pytest.importorskip("cloudpickle")
    code = textwrap.dedent(
        """
        import pickle, sys
        from sim.startup import keep_cloudpickle_from_pyarrow
        refuse = sys.argv[1] == "refuse"
        if refuse:
            assert keep_cloudpickle_from_pyarrow()
        import pyarrow as pa, pyarrow.lib
        print("cloudpickle" in sys.modules, pyarrow.lib.pickle is pickle)
        table = pa.table({"a": [1, 2, None]})
        print(pickle.loads(pickle.dumps(table)).equals(table))
        import cloudpickle  # Dask's own import still works
        print(pickle.loads(cloudpickle.dumps(lambda x: x + 1))(1), keep_cloudpickle_from_pyarrow())
        """
    )
    for mode, loaded_by_pyarrow in (("refuse", "False"), ("as_installed", "True")):
        proc = subprocess.run([sys.executable, "-c", code, mode], capture_output=True, text=True, cwd=ROOT, timeout=120)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.split() == [loaded_by_pyarrow, "True", "True", "2", "False"], mode
