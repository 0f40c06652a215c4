"""The work behind ``compare`` and ``sweep``: paired comparisons and parameter responses.

``compare`` runs every strategy on the same replications (common random numbers), prints the
paired difference of each headline KPI against the first strategy with its 95% CI, says
"no significant difference" where the CI spans zero, and ranks the strategies. With
``--target-halfwidth`` it doubles the replications (resuming the same run directory, so the
replications already run are kept) until the ranking KPI's CIs are narrow enough or a cap is
reached.

``sweep`` turns ``PATH=LO..HI[:STEPS]`` specs into points (a full grid or a Latin hypercube),
runs each point as an overlay of the scenario, and writes each KPI's mean and CI per point to
``sweep.parquet`` in the run directory.
"""

from __future__ import annotations

import itertools
import json
import math
import re
import sys
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.table import Table

from scenarios.errors import AidflowError
from scenarios.schema import Scenario
from sim.cli_run import Experiment, execute

__all__ = ["COMPARE_KPIS", "ParamSpec", "compare_command", "parse_params", "sweep_command", "sweep_points"]

COMPARE_KPIS = (
    "units_delivered",
    "lead_time_mean_days",
    "lead_time_p90_days",
    "otif",
    "fill_rate",
    "units_lost",
    "total_cost_eur",
    "cost_per_delivered_unit_eur",
)


class BadSweep(AidflowError):
    """A ``--param`` or ``--target-halfwidth`` that cannot be used."""


@dataclass(frozen=True)
class ParamSpec:
    """One swept parameter: a dotted path and its range."""

    path: str
    low: float
    high: float
    steps: int
    integer: bool

    def values(self) -> list[float | int]:
        """The grid values of this parameter."""
        if self.steps == 1:
            vals = [self.low]
        else:
            vals = [self.low + (self.high - self.low) * i / (self.steps - 1) for i in range(self.steps)]
        if self.integer:
            return sorted({round(v) for v in vals})
        return [round(v, 12) for v in vals]

    def scale(self, u: float) -> float | int:
        """Map ``u`` in [0, 1) onto the range (for Latin hypercube points)."""
        v = self.low + (self.high - self.low) * u
        return round(v) if self.integer else v


_PARAM = re.compile(r"^(?P<path>[A-Za-z_][\w.\-]*)=(?P<lo>-?[0-9.eE+]+)\.\.(?P<hi>-?[0-9.eE+]+)(:(?P<steps>[0-9]+))?$")


def parse_params(specs: list[str]) -> list[ParamSpec]:
    """Parse ``--param`` values; raise BadSweep with the offending text."""
    out: list[ParamSpec] = []
    for text in specs:
        m = _PARAM.match(text.strip())
        if not m:
            raise BadSweep(f"--param {text!r}: expected PATH=LO..HI[:STEPS], e.g. links.rail.vehicles=2..12:6")
        lo_s, hi_s = m["lo"], m["hi"]
        try:
            lo, hi = float(lo_s), float(hi_s)
        except ValueError:
            raise BadSweep(f"--param {text!r}: LO and HI must be numbers") from None
        if not (math.isfinite(lo) and math.isfinite(hi)) or hi < lo:
            raise BadSweep(f"--param {text!r}: need finite LO <= HI")
        integer = all(re.fullmatch(r"-?[0-9]+", x) is not None for x in (lo_s, hi_s))
        default = min(int(hi - lo) + 1, 11) if integer else 5
        steps = int(m["steps"]) if m["steps"] else default
        if not 1 <= steps <= 1000:
            raise BadSweep(f"--param {text!r}: STEPS must be 1..1000")
        out.append(ParamSpec(m["path"], lo, hi, steps, integer))
    if len({p.path for p in out}) != len(out):
        raise BadSweep("--param: each path may be swept once")
    return out


def sweep_points(scenario: Scenario, specs: list[ParamSpec], design: str, n: int, seed: int) -> list[dict[str, Any]]:
    """The points of a grid or Latin-hypercube design, each checked against the scenario."""
    from scenarios.strategies import StrategyProblem, apply_overrides

    if design == "grid":
        grid = itertools.product(*(p.values() for p in specs))
        points = [dict(zip((p.path for p in specs), combo, strict=True)) for combo in grid]
    else:
        from scipy.stats import qmc

        sample = qmc.LatinHypercube(d=len(specs), seed=seed).random(n)
        points = [{p.path: p.scale(float(u)) for p, u in zip(specs, row, strict=True)} for row in sample]
    if len(points) > 10_000:
        raise BadSweep(f"the design has {len(points)} points; at most 10,000")
    for pt in points:
        try:
            apply_overrides(scenario, pt, ("sweep",))
        except StrategyProblem as exc:
            raise BadSweep(f"--param: point {pt} is not a valid scenario: {exc.message}") from None
    return points


def _halfwidth_target(text: str) -> tuple[float, bool]:
    t = text.strip()
    relative = t.endswith("%")
    try:
        v = float(t[:-1] if relative else t)
    except ValueError:
        raise BadSweep(f"--target-halfwidth: expected a number or a percentage like 5% (got {text!r})") from None
    if not (math.isfinite(v) and v > 0):
        raise BadSweep("--target-halfwidth: must be > 0")
    return (v / 100 if relative else v), relative


def compare_command(
    exp: Experiment,
    kpi: str,
    target_halfwidth: str | None,
    max_replications: int,
    fmt: str,
    out: Console,
    err: Console,
) -> int:
    """Run the comparison, widen it if asked, print the paired table and the ranking."""
    from results.compare import paired_differences, rank

    target = _halfwidth_target(target_halfwidth) if target_halfwidth else None
    outcome = execute(exp, err)
    baseline = exp.strategies[0]
    while target is not None and outcome.kpis is not None:
        diffs = paired_differences(outcome.kpis, baseline, only=[kpi])
        wide = [d for d in diffs if d.item is None and d.node is None and d.link is None and not _narrow(d, target)]
        if not wide or exp.replications >= max_replications:
            if wide:
                err.print(f"--target-halfwidth not reached within {max_replications} replications", markup=False)
            break
        exp.replications = min(max_replications, exp.replications * 2)
        exp.resume = True
        err.print(f"widening to {exp.replications} replications", markup=False)
        outcome = execute(exp, err)
    for m in outcome.messages:  # the replications that deadlocked or failed (exit 1)
        err.print(m, markup=False)
    if outcome.kpis is None:
        return 1
    diffs = [
        d for d in paired_differences(outcome.kpis, baseline, only=COMPARE_KPIS) if d.node is None and d.link is None
    ]
    ranking = rank(outcome.kpis, kpi)
    if fmt == "json":
        doc = {
            "run": str(exp.out_dir),
            "baseline": baseline,
            "replications": exp.replications,
            "differences": [d.as_row() for d in diffs],
            "ranking": [{"strategy": s, "mean": m} for s, m in ranking],
        }
        sys.stdout.write(json.dumps(doc, default=str) + "\n")
    else:
        table = Table(
            "kpi",
            "item",
            "strategy",
            "baseline",
            "strategy mean",
            "difference",
            "95% CI",
            "verdict",
            title=f"Paired differences vs {baseline} ({exp.replications} replications, common random numbers)",
        )
        for d in diffs:
            ci = "" if math.isnan(d.ci_low) else f"[{d.ci_low:,.3f}, {d.ci_high:,.3f}]"
            table.add_row(
                d.kpi,
                d.item or "all",
                d.strategy,
                f"{d.baseline_mean:,.3f}",
                f"{d.strategy_mean:,.3f}",
                f"{d.mean:+,.3f}",
                ci,
                d.verdict,
            )
        out.print(table)
        rt = Table("rank", "strategy", f"mean {kpi}", title=f"Ranking by {kpi} (best first)")
        for i, (name, mean_value) in enumerate(ranking, 1):
            rt.add_row(str(i), name, f"{mean_value:,.3f}")
        out.print(rt)
        out.print(f"run directory: {exp.out_dir}", markup=False)
    return 1 if outcome.failed else 0


def _narrow(d: Any, target: tuple[float, bool]) -> bool:
    limit, relative = target
    if math.isnan(d.ci_low):
        return False
    hw = (d.ci_high - d.ci_low) / 2
    if relative:
        scale = abs(d.baseline_mean)
        return scale > 0 and hw / scale <= limit
    return hw <= limit


def sweep_command(exp: Experiment, specs: list[ParamSpec], fmt: str, out: Console, err: Console) -> int:
    """Run the sweep, write ``sweep.parquet`` (KPI means and CIs per point) and print the headline."""
    import pyarrow as pa

    from results.kpis import summarise
    from results.store import atomic_write_parquet

    outcome = execute(exp, err)
    for m in outcome.messages:  # the replications that deadlocked or failed (exit 1)
        err.print(m, markup=False)
    if outcome.kpis is None or exp.points is None:
        return 1
    summary = summarise([outcome.kpis]).to_pylist()
    rows: list[dict[str, Any]] = []
    for r in summary:
        label = r["strategy"]
        k = int(label.rsplit("-pt", 1)[1])
        row = {"point": k, **{p.path: exp.points[k][p.path] for p in specs}}
        row.update({key: r.get(key) for key in ("kpi", "item", "node", "link", "mean", "ci95_low", "ci95_high", "n")})
        rows.append(row)
    rows.sort(key=lambda x: (x["point"], x["kpi"], str(x["item"]), str(x["node"]), str(x["link"])))
    table = pa.Table.from_pylist(rows)
    atomic_write_parquet(exp.out_dir / "sweep.parquet", table)
    head = [
        r
        for r in rows
        if r["kpi"] in ("units_delivered", "lead_time_mean_days") and r["item"] is None and r["node"] is None
    ]
    if fmt == "json":
        sys.stdout.write(json.dumps({"run": str(exp.out_dir), "response": head}, default=str) + "\n")
    else:
        t = Table("point", *(p.path for p in specs), "kpi", "mean", "95% CI", title="Sweep response (all items)")
        for r in head:
            lo, hi = r["ci95_low"], r["ci95_high"]
            ci = "" if lo is None or hi is None else f"[{lo:,.2f}, {hi:,.2f}]"
            mean = "" if r["mean"] is None else f"{r['mean']:,.2f}"  # None: no lot delivered at this point
            t.add_row(str(r["point"]), *(f"{r[p.path]:g}" for p in specs), r["kpi"], mean, ci)
        out.print(t)
        out.print(f"response table: {exp.out_dir / 'sweep.parquet'}", markup=False)
    return 1 if outcome.failed else 0
