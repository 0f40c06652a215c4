"""Start-up of the ``aidflow`` command: wall and CPU time, peak RSS and the costliest imports.

Run: ``.venv/bin/python benchmarks/startup.py [--repeat 7] [--scenario tests/scenarios/tiny.yaml] [--against REV] [--json]``

Each command runs in a fresh process, ``--repeat`` times; every figure is the best (lowest) of
the repeats, the usual way to read a timing on a shared machine. Commands:

- ``help``: ``aidflow --help``;
- ``validate``: ``aidflow validate SCENARIO``;
- ``run``: ``aidflow run SCENARIO -n 1 --out TMP -q --format json``. The engine's own time is
  the ``wall_s`` of the run's part in its manifest (``sim.run.run``: building the model,
  simulating and flushing the log); *beyond engine* is the command's wall time minus that,
  what issue 19 wants at most 1 s for a tiny scenario. *cpu beyond engine* is the command's CPU
  time minus the same engine time: on a loaded machine, where a process waits for a core and
  its wall time says little, the closer estimate of what an idle machine would show.

Wall time counts from the start of the process to its exit; CPU time (user + system) and peak
RSS come from ``wait4``'s resource usage of that process. Bytecode caches are used as on a
normal install (``PYTHONDONTWRITEBYTECODE`` is dropped from the children's environment). One more process per command runs
under ``python -X importtime`` and lists the modules with the highest cumulative import time,
and the heavy libraries (pandas, scipy, networkx, pyarrow, duckdb, dask, plotly, matplotlib)
loaded when it exited. The import times of that process are inflated by ``-X importtime``
itself; read them as shares, not as seconds saved.

The 1-minute load average before and after the measurements is printed with them: on a
shared machine (load above its core count) wall times say little and the CPU columns are
the figures to compare.

``--against REV`` measures the code of an older commit in the same session: ``git archive``
puts its ``sim``, ``results``, ``scenarios`` and ``network`` packages in a temporary folder
that goes first on ``PYTHONPATH`` (the console script's own folder is ``sys.path[0]``, so the
folder wins over the editable install), and each repeat runs the two versions back to back,
in alternating order, so both see the same load. The table then has a row per command and
version (``run @REV``).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEAVY: tuple[str, ...] = (
    *("pandas", "scipy", "scipy.stats", "networkx", "pyarrow", "pyarrow.compute", "pyarrow.dataset", "duckdb"),
    *("dask", "distributed", "plotly", "matplotlib", "jinja2", "rich", "typer", "pydantic", "ruamel.yaml", "simpy"),
    "numpy",
)
"""Libraries reported when loaded (the start-up costs of issue 19)."""
PACKAGES: tuple[str, ...] = ("sim", "results", "scenarios", "network")
"""aidflow's own packages: what ``--against`` takes from the older commit."""
_IMPORT_LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)$")
# runs the console script as the console script runs it (``__main__`` is the script), and
# notes which modules are loaded when the process ends
_IMPORTED = """
import atexit, json, os, runpy, sys
def _note():
    with open(os.environ["AIDFLOW_STARTUP_MODULES"], "w") as f:
        json.dump(sorted(sys.modules), f)
atexit.register(_note)
sys.argv = sys.argv[1:]
sys.path[0] = os.path.dirname(os.path.abspath(sys.argv[0]))  # as for the script itself, not the working folder
runpy.run_path(sys.argv[0], run_name="__main__")
"""


@dataclass
class Timing:
    """The best of the repeats of one command (seconds, MB)."""

    command: str
    argv: list[str]
    repeats: int
    wall_s: float
    cpu_s: float
    peak_rss_mb: float
    engine_s: float | None = None
    beyond_engine_s: float | None = None
    beyond_engine_cpu_s: float | None = None
    import_s: float = 0.0
    top_imports: list[tuple[str, float]] = field(default_factory=list)
    heavy_loaded: list[str] = field(default_factory=list)
    load_before: float | None = None
    load_after: float | None = None


def aidflow_script() -> Path:
    """The ``aidflow`` console script of the interpreter running this file (the venv's)."""
    here = Path(sys.executable).parent / "aidflow"
    if here.exists():
        return here
    raise SystemExit(f"no aidflow console script next to {sys.executable} (pip install -e .)")


def child_env(source: Path | None = None) -> dict[str, str]:
    """The environment of a user's shell: bytecode caches are written and read.

    With ``PYTHONDONTWRITEBYTECODE`` set (as in some sandboxes) every aidflow module would be
    compiled from source at each start, which no installed copy does. ``source``: a folder
    holding an older version of aidflow's packages, put first on ``PYTHONPATH``.
    """
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    if source is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(source), *filter(None, [env.get("PYTHONPATH")])])
    return env


def checkout_packages(rev: str, into: Path) -> Path:
    """aidflow's packages as of commit ``rev`` (``git archive``), unpacked under ``into``."""
    archive = into / "source.tar"
    subprocess.run(["git", "archive", "-o", str(archive), rev, *PACKAGES], cwd=ROOT, check=True)
    source = into / "source"
    with tarfile.open(archive) as tar:
        tar.extractall(source, filter="data")
    return source


def _timed(argv: list[str], source: Path | None = None) -> tuple[float, float, float, int]:
    """Run ``argv``; (wall s, user+sys CPU s, peak RSS MB, exit code) of that one process."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT, env=child_env(source))
    assert proc.stderr is not None
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} exited {proc.returncode}:\n{err.decode(errors='replace')[-2000:]}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, proc.returncode


def _engine_s(run_dir: Path) -> float:
    """Sum of the parts' own ``wall_s`` in the run's manifest (the engine, log flushed)."""
    manifest = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    return float(sum(p["wall_s"] for p in manifest["parts"]))


def import_profile(
    args: list[str], top: int, source: Path | None = None
) -> tuple[float, list[tuple[str, float]], list[str]]:
    """``python -X importtime`` of one command: (total import s, top cumulative imports, heavy modules loaded)."""
    with tempfile.TemporaryDirectory(prefix="aidflow-startup-") as tmp:
        noted = Path(tmp) / "modules.json"
        env = {**child_env(source), "AIDFLOW_STARTUP_MODULES": str(noted)}
        argv = [sys.executable, "-X", "importtime", "-c", _IMPORTED, str(aidflow_script()), *args]
        proc = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT, env=env, check=False)
        if proc.returncode != 0:
            raise SystemExit(f"importtime of {' '.join(args)} exited {proc.returncode}:\n{proc.stderr[-2000:]}")
        loaded = set(json.loads(noted.read_text(encoding="utf-8")))
    total = 0.0
    cumulative: dict[str, float] = {}
    for line in proc.stderr.splitlines():
        m = _IMPORT_LINE.match(line)
        if m is None:
            continue
        name, cum_s = m.group(4), int(m.group(2)) / 1e6
        if name not in loaded:
            continue  # an import that failed (pandas kept out) costs nothing further
        cumulative[name] = max(cumulative.get(name, 0.0), cum_s)
        if len(m.group(3)) == 1:  # top level: the cumulative times add up to the whole
            total += cum_s
    ranked = sorted(cumulative.items(), key=lambda kv: -kv[1])[:top]
    return total, ranked, [h for h in HEAVY if h in loaded]


def load_average() -> float | None:
    """The 1-minute load average (None where ``os.getloadavg`` is not available)."""
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:  # pragma: no cover - not on every platform
        return None


def measure(
    command: str,
    args: list[str],
    repeats: int,
    top: int,
    run_dir: Path | None = None,
    versions: dict[str, Path | None] | None = None,
) -> list[Timing]:
    """Best of ``repeats`` fresh processes of ``aidflow ARGS``, plus one import profile, per version.

    ``versions`` maps a label to the folder of an older version's packages (None: the working
    tree); each repeat runs every version once, the order turning round from one repeat to the
    next.
    """
    script = [sys.executable, str(aidflow_script())]
    versions = versions or {"": None}
    load_before = load_average()
    seen: dict[str, list[tuple[float, float, float, float | None]]] = {label: [] for label in versions}
    labels = list(versions)
    for i in range(repeats):
        for label in labels[i % len(labels) :] + labels[: i % len(labels)]:
            wall, cpu, rss, _ = _timed([*script, *args], versions[label])
            seen[label].append((wall, cpu, rss, _engine_s(run_dir) if run_dir is not None else None))
    load_after = load_average()
    timings = []
    for label, runs in seen.items():
        import_s, ranked, heavy = import_profile(args, top, versions[label])
        engines = [e for *_, e in runs if e is not None]
        timings.append(
            Timing(
                command=f"{command} @{label}" if label else command,
                argv=["aidflow", *args],
                repeats=repeats,
                wall_s=min(r[0] for r in runs),
                cpu_s=min(r[1] for r in runs),
                peak_rss_mb=min(r[2] for r in runs),
                engine_s=min(engines) if engines else None,
                beyond_engine_s=min(r[0] - r[3] for r in runs if r[3] is not None) if engines else None,
                beyond_engine_cpu_s=min(r[1] - r[3] for r in runs if r[3] is not None) if engines else None,
                import_s=import_s,
                top_imports=ranked,
                heavy_loaded=heavy,
                load_before=load_before,
                load_after=load_after,
            )
        )
    return timings


def measure_all(scenario: Path, repeats: int, top: int, against: str | None = None) -> list[Timing]:
    """``--help``, ``validate`` and a one-replication ``run`` of ``scenario`` (and of commit ``against``)."""
    with tempfile.TemporaryDirectory(prefix="aidflow-startup-") as tmp:
        versions: dict[str, Path | None] = {"": None}
        if against is not None:
            versions[against] = checkout_packages(against, Path(tmp))
        run_dir = Path(tmp) / "run"
        run_args = ["run", str(scenario), "-n", "1", "--out", str(run_dir), "--overwrite", "-q", "--format", "json"]
        return [
            *measure("help", ["--help"], repeats, top, versions=versions),
            *measure("validate", ["validate", str(scenario)], repeats, top, versions=versions),
            *measure("run", run_args, repeats, top, run_dir=run_dir, versions=versions),
        ]


def _fmt(x: float | None, unit: str = "s") -> str:
    return "-" if x is None else (f"{x:.2f} {unit}" if unit == "s" else f"{x:.0f} {unit}")


def table(timings: list[Timing], top: int) -> str:
    """The figures as a plain-text table, then each command's costliest imports."""
    head = ("command", "wall", "cpu", "engine", "beyond engine", "cpu beyond engine", "imports", "peak RSS")
    rows = [
        (
            t.command,
            _fmt(t.wall_s),
            _fmt(t.cpu_s),
            _fmt(t.engine_s),
            _fmt(t.beyond_engine_s),
            _fmt(t.beyond_engine_cpu_s),
            _fmt(t.import_s),
            _fmt(t.peak_rss_mb, "MB"),
        )
        for t in timings
    ]
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in [head, *rows]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    loads = [x for t in timings for x in (t.load_before, t.load_after) if x is not None]
    if loads:
        lines.append(
            f"1-minute load average while measuring: {min(loads):.2f}-{max(loads):.2f} on {os.cpu_count()} cores"
        )
    for t in timings:
        lines.append("")
        lines.append(f"{t.command}: heavy modules loaded: {', '.join(t.heavy_loaded) or 'none'}")
        lines.append(f"{t.command}: top {top} imports by cumulative time (python -X importtime, one process)")
        lines.extend(f"  {s * 1000:7.1f} ms  {name}" for name, s in t.top_imports)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Measure and print the table (or JSON)."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=7, help="fresh processes per command; the best is kept (7)")
    ap.add_argument("--scenario", type=Path, default=ROOT / "tests" / "scenarios" / "tiny.yaml")
    ap.add_argument("--top", type=int, default=12, help="imports listed per command (12)")
    ap.add_argument("--json", action="store_true", help="print JSON instead of the table")
    ap.add_argument("--against", metavar="REV", help="also measure commit REV's packages, run for run (git archive)")
    ns = ap.parse_args(argv)
    timings = measure_all(ns.scenario.resolve(), max(1, ns.repeat), ns.top, ns.against)
    if ns.json:
        print(json.dumps([asdict(t) for t in timings], indent=2))
    else:
        print(table(timings, ns.top))
    return 0


if __name__ == "__main__":
    sys.exit(main())
