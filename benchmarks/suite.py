"""The benchmark suite: three workloads, each against plain SimPy, engine only and end to end through the CLI.

Workloads (each with a plain-SimPy model of the same system and an equivalence test):

- ``core``: ``benchmarks/workload.py`` (fixed-rate lines, three stations at utilisation 0.75,
  links that never wait for a vehicle); reference ``benchmarks/reference_simpy.py``;
- ``ftl``: ``benchmarks/workloads_ftl.py`` (Poisson lots, three stations at 0.78, a
  full-truck-load leg with four trucks on 4-day round trips, five single-clerk last miles);
  reference ``benchmarks/reference_ftl.py``;
- ``many_requirements``: ``benchmarks/workloads_requirements.py`` (Poisson requirement streams,
  ~lots/5 requirements with need-by dates and unit priorities, scheduled border closures and link
  outages); reference ``benchmarks/reference_requirements.py``.

For each workload and size, three fresh processes run back to back (the order rotates with
``--repeat``; the best wall time of each is kept):

- ``simpy``: the plain-SimPy model, after a 3,000-lot warm-up run in the same process; wall
  time of the timed run;
- ``engine``: aidflow's engine with the full log written to Parquet by the run store's writer
  (``benchmarks.core.run_scenario``), after a warm-up run; wall time of the timed run, closing
  the file included;
- ``cli``: ``aidflow run <file>.yaml -n 1 --out <dir> --overwrite -q`` on the workload written
  as YAML (``sim.cli.execute.resolved_yaml``; writing it is not timed): the whole process —
  start-up, loading and validating the YAML, the run, the KPIs and the summary.

Recorded per run: wall seconds, µs per lot, rows per lot (rows in the log / lots), peak RSS of
the process (``os.wait4``'s ``ru_maxrss``: the child and what it waited for) and the exact
command. Per workload: start-up, the wall and peak RSS of ``aidflow run`` on a 10-lot instance
(12 for ``core``, whose lots are a multiple of its 4 suppliers). Ratios: plain-SimPy wall /
engine wall (engine only) and plain-SimPy wall / CLI wall (end to end; plain SimPy's imports,
~0.1 s, are left out of its side, which favours it). ``many_requirements`` makes a random number
of lots (Poisson streams, about ``lots``); µs and rows per lot use the lots actually delivered.

Output: a markdown table on stdout and, under ``.benchmarks/suite/`` (git-ignored),
``<date>.md`` and ``<date>.json`` with every run; the scenario files stay in
``.benchmarks/suite/yaml/`` so that each recorded command can be run again (run directories go
to a temporary directory).

Usage::

    python benchmarks/suite.py                              # 10^4, 10^5, 10^6 lots, all workloads
    python benchmarks/suite.py --sizes 10000,100000 --workloads ftl,many_requirements --repeat 2
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import shlex
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

WORKLOADS = ("core", "ftl", "many_requirements")
ENGINES = ("simpy", "engine", "cli")
WARM_LOTS = 3000
STARTUP_LOTS = 10


def spec_for(workload: str, lots: int) -> Any:
    """The workload's spec for about ``lots`` lots (rounded to what the workload allows)."""
    if workload == "core":
        from benchmarks.workload import CoreSpec

        return CoreSpec(lots=max(4, lots + (-lots) % 4))
    if workload == "ftl":
        from benchmarks.workloads_ftl import FtlSpec

        return FtlSpec(lots=max(5, lots + (-lots) % 5))
    if workload == "many_requirements":
        from benchmarks.workloads_requirements import RequirementsSpec

        return RequirementsSpec(lots=lots, lots_per_day=min(1000.0, float(lots)))
    raise SystemExit(f"unknown workload {workload!r} (one of {', '.join(WORKLOADS)})")


def scenario_for(workload: str, spec: Any) -> Any:
    """The workload's aidflow scenario."""
    if workload == "core":
        from benchmarks.workload import core_scenario

        return core_scenario(spec)
    if workload == "ftl":
        from benchmarks.workloads_ftl import ftl_scenario

        return ftl_scenario(spec)
    from benchmarks.workloads_requirements import requirements_scenario

    return requirements_scenario(spec)


def reference_for(workload: str) -> Callable[[Any], Any]:
    """The workload's plain-SimPy model (``spec -> ReferenceResult``)."""
    if workload == "core":
        from benchmarks.reference_simpy import run_reference

        return run_reference
    if workload == "ftl":
        from benchmarks.reference_ftl import run_reference_ftl

        return run_reference_ftl
    from benchmarks.reference_requirements import run_reference_requirements

    return run_reference_requirements


# --------------------------------------------------------------------------- children


def child(engine: str, workload: str, lots: int) -> dict[str, Any]:
    """Run one engine once in this (fresh) process, after a warm-up run; the measurement as plain data."""
    spec, warm = spec_for(workload, lots), spec_for(workload, WARM_LOTS)
    if engine == "engine":
        from benchmarks.core import run_scenario

        with tempfile.TemporaryDirectory() as d:
            run_scenario(scenario_for(workload, warm), Path(d) / "warm.parquet")
            scenario = scenario_for(workload, spec)
            wall_s, result = run_scenario(scenario, Path(d) / "run.parquet")
        out = {
            "wall_s": wall_s,
            "rows": result.rows,
            "lots": int(result.counters.get("lots_done", 0)),
            "status": result.status,
        }
    else:
        ref = reference_for(workload)
        ref(warm)
        res = ref(spec)
        out = {"wall_s": res.wall_s, "rows": 0, "lots": res.lots, "status": "completed"}
    return out


def _spawn(cmd: list[str], cwd: Path) -> tuple[float, float, int, str, str]:
    """Run ``cmd``; (wall seconds, peak RSS MB of the child, exit code, stdout, stderr)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, stdout=out, stderr=err, cwd=cwd)
        _, status, usage = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return wall, usage.ru_maxrss / 1024.0, p.returncode, out.read(), err.read()


def _log_rows(run_dir: Path) -> int:
    """Rows in the event log parts of a run directory (from the Parquet footers)."""
    import pyarrow.parquet as pq

    return sum(pq.ParquetFile(p).metadata.num_rows for p in sorted((run_dir / "events").rglob("*.parquet")))


def run_one(engine: str, workload: str, lots: int, yaml_path: Path, work: Path) -> dict[str, Any]:
    """One measurement in a fresh process."""
    if engine == "cli":
        out_dir = work / f"run-{workload}-{lots}"
        aidflow = Path(sys.executable).with_name("aidflow")
        cmd = [str(aidflow), "run", str(yaml_path), "-n", "1", "--out", str(out_dir), "--overwrite", "-q"]
        wall, rss, rc, _, err = _spawn(cmd, ROOT)
        if rc != 0:
            raise SystemExit(f"{shlex.join(cmd)} failed (exit {rc}):\n{err[-3000:]}")
        rows = _log_rows(out_dir)
        res = {"wall_s": wall, "rows": rows, "lots": None, "status": "completed"}
    else:
        cmd = [sys.executable, str(Path(__file__).resolve()), "--child", engine, workload, str(lots)]
        wall, rss, rc, out, err = _spawn(cmd, ROOT)
        if rc != 0:
            raise SystemExit(f"{shlex.join(cmd)} failed (exit {rc}):\n{err[-3000:]}")
        res = json.loads(out.strip().splitlines()[-1])
        res["process_s"] = wall
    res.update({"engine": engine, "peak_rss_mb": rss, "command": shlex.join(cmd)})
    print(
        f"  {workload:18s} {engine:7s} {lots:>10,} lots  {res['wall_s']:8.2f} s  {rss:7.0f} MB",
        file=sys.stderr,
        flush=True,
    )
    return res


def write_yaml(workload: str, lots: int, yaml_dir: Path) -> tuple[Path, float]:
    """The workload as a scenario file (what a user would run); (path, seconds to build and write it)."""
    from sim.cli.execute import resolved_yaml

    t0 = time.perf_counter()
    yaml_dir.mkdir(parents=True, exist_ok=True)
    path = yaml_dir / f"{workload}_{lots}.yaml"
    path.write_text(resolved_yaml(scenario_for(workload, spec_for(workload, lots)), None))
    return path, time.perf_counter() - t0


def measure(workload: str, lots: int, repeat: int, work: Path, yaml_dir: Path) -> dict[str, Any]:
    """``repeat`` rounds of the three engines at ``lots`` (order rotating); best wall of each."""
    yaml_path, yaml_s = write_yaml(workload, lots, yaml_dir)
    runs: dict[str, list[dict[str, Any]]] = {e: [] for e in ENGINES}
    for k in range(repeat):
        order = ENGINES[k % 3 :] + ENGINES[: k % 3]
        for engine in order:
            runs[engine].append(run_one(engine, workload, lots, yaml_path, work))
    best = {e: min(runs[e], key=lambda r: r["wall_s"]) for e in ENGINES}
    lots_done = best["engine"]["lots"]
    assert best["engine"]["status"] == "completed", best["engine"]
    rows = best["engine"]["rows"]
    if best["cli"]["rows"] != rows:  # same scenario, seed and replication: the same log
        print(f"  note: CLI log has {best['cli']['rows']:,} rows, engine {rows:,}", file=sys.stderr)
    s, e, c = (best[x]["wall_s"] for x in ENGINES)
    return {
        "workload": workload,
        "lots": lots_done,
        "lots_asked": lots,
        "simpy_lots": best["simpy"]["lots"],
        "simpy_s": s,
        "engine_s": e,
        "cli_s": c,
        "ratio_engine": s / e,
        "ratio_cli": s / c,
        "us_per_lot": {
            x: best[x]["wall_s"] / (best["simpy"]["lots"] if x == "simpy" else lots_done) * 1e6 for x in ENGINES
        },
        "rows": rows,
        "rows_per_lot": rows / lots_done,
        "peak_rss_mb": {x: max(r["peak_rss_mb"] for r in runs[x]) for x in ENGINES},
        "yaml_bytes": yaml_path.stat().st_size,
        "yaml_write_s": yaml_s,
        "commands": {x: best[x]["command"] for x in ENGINES},
        "runs": runs,
    }


def startup(workload: str, repeat: int, work: Path, yaml_dir: Path) -> dict[str, Any]:
    """``aidflow run`` of a 10-lot instance: the best wall of ``repeat`` and its peak RSS."""
    yaml_path, _ = write_yaml(workload, STARTUP_LOTS, yaml_dir)
    runs = [run_one("cli", workload, STARTUP_LOTS, yaml_path, work) for _ in range(repeat)]
    best = min(runs, key=lambda r: r["wall_s"])
    return {"wall_s": best["wall_s"], "peak_rss_mb": best["peak_rss_mb"], "command": best["command"]}


# --------------------------------------------------------------------------- the table


def table(results: list[dict[str, Any]], starts: dict[str, dict[str, Any]]) -> str:
    """The markdown table of a suite run."""
    lines = [
        "| workload | lots | plain SimPy s | engine s | CLI s | ratio engine | ratio end to end "
        "| µs/lot SimPy / engine / CLI | rows/lot | peak RSS MB SimPy / engine / CLI | start-up s / MB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        u, m, st = r["us_per_lot"], r["peak_rss_mb"], starts.get(r["workload"])
        start = f"{st['wall_s']:.2f} / {st['peak_rss_mb']:.0f}" if st else ""
        lines.append(
            f"| {r['workload']} | {r['lots']:,} | {r['simpy_s']:.2f} | {r['engine_s']:.2f} | {r['cli_s']:.2f} "
            f"| {r['ratio_engine']:.2f}× | {r['ratio_cli']:.2f}× "
            f"| {u['simpy']:.1f} / {u['engine']:.1f} / {u['cli']:.1f} | {r['rows_per_lot']:.1f} "
            f"| {m['simpy']:.0f} / {m['engine']:.0f} / {m['cli']:.0f} | {start} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--child", nargs=3, metavar=("ENGINE", "WORKLOAD", "LOTS"), help=argparse.SUPPRESS)
    ap.add_argument("--workloads", default=",".join(WORKLOADS), help="comma-separated: " + ", ".join(WORKLOADS))
    ap.add_argument("--sizes", default="10000,100000,1000000", help="lots per run, comma-separated")
    ap.add_argument("--repeat", type=int, default=1, help="rounds per size (best of each engine is kept)")
    ap.add_argument("--out", type=Path, default=ROOT / ".benchmarks" / "suite", help="where the JSON and table go")
    args = ap.parse_args(argv)
    if args.child:
        engine, workload, lots = args.child
        print(json.dumps(child(engine, workload, int(lots))))
        return 0
    workloads = [w for w in args.workloads.split(",") if w]
    for w in workloads:
        spec_for(w, 10)  # unknown names fail before anything runs
    sizes = [int(x) for x in args.sizes.split(",") if x]
    results: list[dict[str, Any]] = []
    starts: dict[str, dict[str, Any]] = {}
    t0 = time.perf_counter()
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="aidflow-suite-") as d:
        work = Path(d)
        for w in workloads:
            print(f"{w}: start-up, then {', '.join(f'{n:,}' for n in sizes)} lots", file=sys.stderr)
            starts[w] = startup(w, max(1, args.repeat), work, args.out / "yaml")
            for n in sizes:
                results.append(measure(w, n, args.repeat, work, args.out / "yaml"))
    text = table(results, starts)
    command = shlex.join([Path(sys.executable).name, *sys.argv])
    text += f"\n\nCommand: `{command}` (load average {load_before[0]:.2f} before, {os.getloadavg()[0]:.2f} after)."
    for r in results:
        if r is max((x for x in results if x["workload"] == r["workload"]), key=lambda x: x["lots"]):
            text += f"\n\n{r['workload']}, {r['lots_asked']:,} lots:\n" + "\n".join(
                f"- {e}: `{r['commands'][e]}`" for e in ENGINES
            )
    print(text)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    args.out.mkdir(parents=True, exist_ok=True)
    meta = {
        "date": dt.datetime.now().isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "load_avg_before": load_before,
        "load_avg_after": os.getloadavg(),
        "suite_wall_s": time.perf_counter() - t0,
        "command": shlex.join([sys.executable, *sys.argv]),
        "own_peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
    }
    (args.out / f"{stamp}.md").write_text(text + "\n")
    (args.out / f"{stamp}.json").write_text(
        json.dumps({"meta": meta, "startup": starts, "results": results, "table": text}, indent=1) + "\n"
    )
    shown = args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out
    print(f"\nsaved {shown}/{stamp}.md and .json", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
