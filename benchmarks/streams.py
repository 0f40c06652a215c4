"""Requirement streams at scale: 10^5 requirements from one stream against the same lots from one line.

Not a timed test: a script that prints what it measures (issue 12 item 8's target is the stream
within 2x the time and the peak memory of the line).

- ``stream``: one requirement ``stream`` with Poisson arrivals (``lam`` a day) of one-lot
  requirements, domestic (no funding, no tender), into one line with exponential lot times
  (mean ``1 / mu``), then one road to one unit. Every arrival is a requirement of its own:
  opened, awarded, produced, carried, delivered, filled.
- ``line``: one requirement for all the lots; the line releases them as a Poisson process of
  rate ``lam`` (exponential lot times of mean ``1 / lam``), the same road to the same unit.

Each case runs in a fresh interpreter (``python -m benchmarks.streams --case NAME``) that
reports the wall and CPU time of ``sim.run.run`` (CPU time is the steadier figure on a shared
machine) and the process's peak resident memory (``VmHWM``),
and, for scale, the peak of an interpreter that imported the engine and built the scenario only.

Usage::

    .venv/bin/python -m benchmarks.streams            # 10^5 requirements
    .venv/bin/python -m benchmarks.streams -n 20000   # smaller
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import sys
import time
from typing import Any

__all__ = ["main", "scenario"]

START = dt.date(2025, 1, 1)
LAM_PER_DAY = 100.0
"""Arrivals (lots) a day."""
MU_PER_DAY = 125.0
"""The stream case's line: lots a day (utilisation 0.8)."""


def scenario(case: str, n: int) -> Any:
    """The validated scenario of ``case`` (``stream`` or ``line``) with about ``n`` lots."""
    from scenarios.schema import Scenario

    days = n / LAM_PER_DAY
    until = START + dt.timedelta(days=int(days) - 1)
    if case == "stream":
        product = {"item": "box", "rate_per_day": MU_PER_DAY, "unit_price_eur": 1, "lot_time": "exponential"}
        req = {
            "id": "S",
            "unit": "unit",
            "item": "box",
            "qty": 1,
            "need_by": until,
            "channel": "domestic",
            "stream": {"interarrival_days": {"dist": "exponential", "mean": 1 / LAM_PER_DAY}, "until": until},
        }
    elif case == "line":
        product = {"item": "box", "rate_per_day": LAM_PER_DAY, "unit_price_eur": 1, "lot_time": "exponential"}
        req = {"id": "R", "unit": "unit", "item": "box", "qty": n, "need_by": until, "channel": "domestic"}
    else:
        raise ValueError(f"unknown case {case!r}")
    return Scenario.model_validate(
        {
            "name": f"bench_{case}",
            "start": START,
            "horizon_days": days * 1.5 + 30,
            "seed": 1,
            "items": [{"id": "box", "unit_value_eur": 1, "volume_m3": 0.01, "lot_size": 1}],
            "nodes": [
                {"id": "sup", "kind": "supplier", "domestic": True, "products": [product]},
                {"id": "unit", "kind": "unit"},
                {"id": "ua_state", "kind": "donor", "state_budget": True, "budget_eur": "unlimited"},
            ],
            "links": [
                {
                    "id": "road",
                    "from": "sup",
                    "to": "unit",
                    "mode": "road",
                    "transit_days": 1.0,
                    "vehicles": 200,
                    "capacity_m3": 0.01,
                    "return_days": 1.0,
                }
            ],
            "requirements": [req],
        }
    )


def _peak_rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")  # pragma: no cover - not Linux


def _child(case: str, n: int, run_it: bool) -> dict[str, Any]:
    from sim.run import run

    s = scenario(case, n)
    out: dict[str, Any] = {"case": case, "n": n}
    if run_it:
        t0, c0 = time.perf_counter(), time.process_time()
        _, res = run(s, max_events=2**62)
        out["wall_s"] = time.perf_counter() - t0
        out["cpu_s"] = time.process_time() - c0
        out["status"] = res.status
        out["rows"] = res.rows
        out["requirements_opened"] = res.counters.get("requirements_opened", 0)
        out["lots_done"] = res.counters.get("lots_done", 0)
    out["peak_rss_mb"] = _peak_rss_mb()
    return out


def _spawn(case: str, n: int, run_it: bool) -> dict[str, Any]:
    args = [sys.executable, "-m", "benchmarks.streams", "--case", case, "-n", str(n)]
    if not run_it:
        args.append("--build-only")
    proc = subprocess.run(args, check=True, capture_output=True, text=True)
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def main(argv: list[str] | None = None) -> int:
    """Run both cases in fresh interpreters and print the comparison."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-n", type=int, default=100_000, help="requirements (stream) = lots (line)")
    ap.add_argument("--case", choices=["stream", "line"], help=argparse.SUPPRESS)
    ap.add_argument("--build-only", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.case is not None:
        print(json.dumps(_child(a.case, a.n, not a.build_only)))
        return 0
    base = _spawn("line", a.n, run_it=False)
    line = _spawn("line", a.n, run_it=True)
    stream = _spawn("stream", a.n, run_it=True)
    print(f"{a.n:,} lots; interpreter + engine + scenario, not run: peak RSS {base['peak_rss_mb']:.0f} MB")
    for r in (line, stream):
        print(
            f"{r['case']:>6}: {r['wall_s']:6.2f} s wall, {r['cpu_s']:6.2f} s CPU, peak RSS {r['peak_rss_mb']:6.0f} MB "
            f"({r['peak_rss_mb'] - base['peak_rss_mb']:5.0f} MB over the baseline), "
            f"{r['rows']:,} rows, {r['requirements_opened']:,} requirements, {r['lots_done']:,} lots delivered, {r['status']}"
        )
    print(
        f"stream / line: wall time {stream['wall_s'] / line['wall_s']:.2f}x, CPU {stream['cpu_s'] / line['cpu_s']:.2f}x, "
        f"peak RSS {stream['peak_rss_mb'] / line['peak_rss_mb']:.2f}x "
        f"(over the baseline {(stream['peak_rss_mb'] - base['peak_rss_mb']) / max(line['peak_rss_mb'] - base['peak_rss_mb'], 1e-9):.2f}x)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
