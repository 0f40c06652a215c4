"""The ``make bench`` table: aidflow against plain SimPy on the core workload, measured in one run.

For each size of the core workload (lot size 1, ``benchmarks/workload.py``) the two engines
run back to back, each in a fresh process, ``--repeat`` times (order alternating), and the
best wall time of each is kept:

- aidflow: one replication, the full event log written to Parquet by the run store's writer
  (``benchmarks/core.py``); the wall time includes closing the Parquet file;
- plain SimPy: the same model, one process per lot, no log (``benchmarks/reference_simpy.py``).

``ratio`` = plain-SimPy wall / aidflow wall. Peak RSS is each process's maximum resident set
(interpreter and imports included). Each process makes a tiny warm-up run of its engine
first, so imports are not timed (pyarrow, for one, loads pandas on first use). The flagship scenario's 30 replications with ``-j 2``
(through the CLI, as a user runs them) get a row of their own. Results go to
``.benchmarks/compare/<date>.json``.

Usage::

    python benchmarks/compare_table.py                 # 10^4, 10^5, 3x10^5 lots; fpv x30
    AIDFLOW_BENCH_1M=1 python benchmarks/compare_table.py   # adds 10^6 lots
    python benchmarks/compare_table.py --sizes 10000,1000000 --repeat 1 --no-fpv
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

TARGET_RATIO = 4.0
TARGET_RSS_MB = 500.0
TARGET_FPV_S = 60.0
FPV = ROOT / "scenarios" / "fpv_drones_2024_2025.yaml"


def _peak_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def child(engine: str, lots: int) -> dict[str, Any]:
    """Run one engine once in this (fresh) process; the measurement as plain data."""
    from benchmarks.workload import CoreSpec

    spec = CoreSpec(lots=lots)
    warm = CoreSpec(lots=3000)  # a small run first: imports (pyarrow loads pandas lazily), caches, arenas
    if engine == "aidflow":
        from benchmarks.core import run_core

        with tempfile.TemporaryDirectory() as d:
            run_core(warm, d)
            r = run_core(spec, d)
        out = {"wall_s": r.wall_s, "build_s": r.build_s, "rows": r.rows, "lots": r.lots, "status": r.status}
    else:
        from benchmarks.reference_simpy import run_reference

        run_reference(warm)
        res = run_reference(spec)
        out = {"wall_s": res.wall_s, "build_s": 0.0, "rows": 0, "lots": res.lots, "status": "completed"}
    out.update({"engine": engine, "size": lots, "peak_rss_mb": _peak_rss_mb()})
    return out


def _spawn(engine: str, lots: int) -> dict[str, Any]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", engine, str(lots)]
    p = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, check=False)
    if p.returncode != 0:
        raise SystemExit(f"{engine} at {lots} lots failed:\n{p.stderr}")
    return json.loads(p.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def measure(lots: int, repeat: int) -> dict[str, Any]:
    """``repeat`` back-to-back pairs at ``lots``; best of each side."""
    runs: dict[str, list[dict[str, Any]]] = {"aidflow": [], "simpy": []}
    for k in range(repeat):
        order = ("aidflow", "simpy") if k % 2 == 0 else ("simpy", "aidflow")
        for engine in order:
            runs[engine].append(_spawn(engine, lots))
            print(f"  {engine:8s} {lots:>9,} lots  {runs[engine][-1]['wall_s']:7.2f} s", file=sys.stderr, flush=True)
    a = min(runs["aidflow"], key=lambda r: r["wall_s"])
    s = min(runs["simpy"], key=lambda r: r["wall_s"])
    assert a["status"] == "completed" and a["lots"] == lots, a
    return {
        "lots": lots,
        "aidflow_s": a["wall_s"],
        "simpy_s": s["wall_s"],
        "ratio": s["wall_s"] / a["wall_s"],
        "pair_ratios": [sr["wall_s"] / ar["wall_s"] for ar, sr in zip(runs["aidflow"], runs["simpy"], strict=True)],
        "rows": a["rows"],
        "rows_per_lot": a["rows"] / lots,
        "events_per_s": a["rows"] / a["wall_s"],
        "us_per_lot": a["wall_s"] / lots * 1e6,
        "aidflow_rss_mb": max(r["peak_rss_mb"] for r in runs["aidflow"]),
        "simpy_rss_mb": max(r["peak_rss_mb"] for r in runs["simpy"]),
        "build_s": a["build_s"],
        "runs": runs,
    }


def fpv_replications() -> dict[str, Any]:
    """The flagship scenario, 30 replications, ``-j 2``, through the CLI (parts, KPIs, summary)."""
    aidflow = Path(sys.executable).with_name("aidflow")
    with tempfile.TemporaryDirectory() as d:
        cmd = [str(aidflow), "run", str(FPV), "-n", "30", "-j", "2", "--out", str(Path(d) / "fpv"), "--overwrite"]
        t0 = time.perf_counter()
        p = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, check=False)
        wall = time.perf_counter() - t0
    return {"wall_s": wall, "returncode": p.returncode, "stderr": p.stderr[-2000:] if p.returncode else ""}


def _fmt_rate(x: float) -> str:
    return f"{x / 1e6:.2f} M" if x >= 1e6 else f"{x / 1e3:.0f} k"


def table(results: list[dict[str, Any]], fpv: dict[str, Any] | None) -> str:
    """The table printed by ``make bench``."""
    head = (
        f"{'workload':<34} {'lots':>10} {'aidflow s':>10} {'plain SimPy s':>14} {'ratio':>7} "
        f"{'events/s':>10} {'us/lot':>7} {'peak RSS aidflow / SimPy':>25}"
    )
    lines = [head, "-" * len(head)]
    for r in results:
        lines.append(
            f"{'core, lot size 1, log -> Parquet':<34} {r['lots']:>10,} {r['aidflow_s']:>10.2f} {r['simpy_s']:>14.2f} "
            f"{r['ratio']:>6.2f}x {_fmt_rate(r['events_per_s']):>10} {r['us_per_lot']:>7.1f} "
            f"{r['aidflow_rss_mb']:>11.0f} MB / {r['simpy_rss_mb']:>5.0f} MB"
        )
    if fpv is not None:
        ok = "ok" if fpv["returncode"] == 0 else f"FAILED (exit {fpv['returncode']})"
        lines.append(
            f"{'fpv_drones_2024_2025 x30, -j 2 (CLI)':<34} {'':>10} {fpv['wall_s']:>10.1f} {'':>14} {'':>7} {ok}"
        )
    lines.append("")
    big = [r for r in results if r["lots"] >= 300_000]
    if big:
        r = max(big, key=lambda x: x["lots"])
        verdict = "met" if r["ratio"] >= TARGET_RATIO else f"missed by {TARGET_RATIO / r['ratio']:.2f}x"
        lines.append(
            f"target: core >= {TARGET_RATIO:.0f}x plain SimPy at {r['lots']:,} lots: {r['ratio']:.2f}x ({verdict})"
        )
        rss = max(x["aidflow_rss_mb"] for x in results)
        lines.append(
            f"target: peak RSS <= {TARGET_RSS_MB:.0f} MB: {rss:.0f} MB ({'met' if rss <= TARGET_RSS_MB else 'missed'})"
        )
    if len(results) >= 2:
        lo, hi = results[0], results[-1]
        drift = hi["us_per_lot"] / lo["us_per_lot"] - 1
        lines.append(
            f"target: wall time linear in lots ({lo['lots']:,} -> {hi['lots']:,}: {lo['us_per_lot']:.1f} -> "
            f"{hi['us_per_lot']:.1f} us/lot, {drift:+.0%}; within +-20%: {'met' if abs(drift) <= 0.2 else 'missed'})"
        )
    if fpv is not None:
        lines.append(
            f"target: fpv x30 -j 2 under {TARGET_FPV_S:.0f} s: {fpv['wall_s']:.1f} s "
            f"({'met' if fpv['wall_s'] < TARGET_FPV_S and fpv['returncode'] == 0 else 'missed'})"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--child", nargs=2, metavar=("ENGINE", "LOTS"), help=argparse.SUPPRESS)
    ap.add_argument("--sizes", default="10000,100000,300000", help="lots per run, comma-separated")
    ap.add_argument("--repeat", type=int, default=3, help="pairs per size (best of each side is kept)")
    ap.add_argument("--no-fpv", action="store_true", help="skip the flagship x30 -j 2 row")
    ap.add_argument("--json", type=Path, default=None, help="where to save the results")
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child[0], int(args.child[1]))))
        return 0
    sizes = [int(x) for x in args.sizes.split(",") if x]
    if os.environ.get("AIDFLOW_BENCH_1M") and 1_000_000 not in sizes:
        sizes.append(1_000_000)
    print(f"core workload vs plain SimPy, {args.repeat} pairs per size (best of each side):", file=sys.stderr)
    results = [measure(n, args.repeat) for n in sizes]
    fpv = None if args.no_fpv else fpv_replications()
    text = table(results, fpv)
    print()
    print(text)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    out = args.json or ROOT / ".benchmarks" / "compare" / f"{stamp}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    meta = {
        "date": dt.datetime.now().isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "load_avg": os.getloadavg(),
        "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
    }
    out.write_text(json.dumps({"meta": meta, "core": results, "fpv": fpv, "table": text}, indent=1) + "\n")
    print(f"\nsaved {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
