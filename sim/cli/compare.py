"""The work behind ``compare`` and ``sweep``: paired comparisons and parameter responses.

``compare`` runs every strategy on the same replications (common random numbers), prints the
paired difference of each headline KPI against the first strategy with its 95% CI, says
"no significant difference" where the CI spans zero, and ranks the strategies (by default by
``lateness_unit_days``, which delivering less cannot improve). It warns, naming the item,
when a strategy delivers significantly more or fewer units than the first
(``results.compare.delivery_warnings``; JSON ``warnings``). With
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
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

from results.fmt import interval as ci_text
from results.fmt import value as value_text
from scenarios.errors import AidflowError
from scenarios.schema import Scenario
from sim.cli.execute import Experiment, execute
from sim.cli.tables import Reflow, ci_caption, marks

if TYPE_CHECKING:
    from results.sweep import Target, TargetAnswer

__all__ = ["COMPARE_KPIS", "ParamSpec", "compare_command", "parse_params", "sweep_command", "sweep_points"]

COMPARE_KPIS = (
    "units_delivered",
    "units_late",
    "lateness_unit_days",
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
    items: list[str] | None = None,
) -> int:
    """Run the comparison, widen it if asked, print the paired table and the ranking.

    First come the scenario's success criteria per strategy and the per-item rows in calendar
    dates (``sim.cli.headline``; ``items`` keeps only those items).
    """
    from results.compare import delivery_warnings, paired_differences, rank
    from sim.cli.headline import answer, answer_json, print_answer

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
        d
        for d in paired_differences(outcome.kpis, baseline, only=_with(COMPARE_KPIS, kpi))
        if d.node is None and d.link is None
    ]
    ranking = rank(outcome.kpis, kpi)
    warnings = delivery_warnings(outcome.kpis, baseline)
    met, per_item = answer(exp.out_dir, exp.scenario, outcome.kpis, exp.strategies, items)
    if fmt == "json":
        doc = {
            "run": str(exp.out_dir),
            "baseline": baseline,
            "replications": exp.replications,
            **answer_json(met, per_item),
            "differences": [d.as_row() for d in diffs],
            "ranking": [{"strategy": s, "mean": m} for s, m in ranking],
            "ranked_by": kpi,
            "warnings": [w.as_row() for w in warnings],
        }
        sys.stdout.write(json.dumps(doc, default=str) + "\n")
    else:
        print_answer(out, met, per_item, f"Per item and strategy ({exp.replications} replications), in calendar dates")
        out.print(paired_table(diffs, baseline, exp.replications))
        for w in warnings:
            out.print(w.text, markup=False, highlight=False)
        out.print(ranking_table(ranking, kpi))
        out.print(f"run directory: {exp.out_dir}", markup=False)
    return 1 if outcome.failed else 0


def _with(kpis: tuple[str, ...], ranked_by: str) -> tuple[str, ...]:
    """The compared KPIs, with the ranking KPI too (its differences are what the ranking rests on)."""
    return kpis if ranked_by in kpis else (*kpis, ranked_by)


_NS = "n.s."
"""The stacked table's short verdict for "no significant difference"."""


def paired_table(diffs: list[Any], baseline: str, replications: int) -> Reflow:
    """The paired differences: one row per (KPI, item, strategy); stacked per KPI when narrow.

    Values print by kind (``results.fmt``), differences of shares in percentage points; an
    interval clipped to [-100, 100] pp carries a mark the caption explains. Stacked, each KPI
    heads its rows, the baseline's mean opens each item, and "no significant difference"
    shortens to ``n.s.``.
    """
    title = f"Paired differences vs {baseline} ({replications} replications, common random numbers)"
    heads = ("kpi", "item", "strategy", "baseline", "strategy mean", "difference", "95% CI", "verdict")
    table = Table(*heads, title=title)
    stacked = Table("kpi / item · strategy", "mean", "difference", "95% CI", "verdict", title=title)
    for t in (table, stacked):
        for c in t.columns:
            c.no_wrap = c.header not in ("95% CI", "verdict") or (t is stacked and c.header == "verdict")
            c.justify = "right" if c.header in ("baseline", "strategy mean", "mean", "difference", "95% CI") else "left"
    seen: set[tuple[str, str | None]] = set()
    for d in diffs:
        ci = ci_text(d.kpi, d.ci_low, d.ci_high, difference=True, clipped=d.ci_clipped)
        base, mean = value_text(d.kpi, d.baseline_mean), value_text(d.kpi, d.strategy_mean)
        diff = value_text(d.kpi, d.mean, difference=True)
        item = d.item or "all"
        table.add_row(d.kpi, item, d.strategy, base, mean, diff, ci, d.verdict)
        if not any(k == d.kpi for k, _ in seen):
            stacked.add_row(d.kpi, "", "", "", "")
        if (d.kpi, d.item) not in seen:
            stacked.add_row(f"  {item} · {baseline}", base, "", "", "")
            seen.add((d.kpi, d.item))
        stacked.add_row(f"  {item} · {d.strategy}", mean, diff, ci, d.verdict if d.significant else _NS)
    ci_caption([table, stacked], any(d.ci_clipped for d in diffs), False)
    note = f"{_NS} no significant difference (the 95% CI spans 0)"
    stacked.caption = f"{stacked.caption}\n{note}" if stacked.caption else note
    stacked.caption_justify = "left"
    return Reflow(table, stacked)


def ranking_table(ranking: list[tuple[str, float]], kpi: str) -> Reflow:
    """Strategies best first by the mean of ``kpi``."""
    rt = Table("rank", "strategy", f"mean {kpi}", title=f"Ranking by {kpi} (best first)")
    rt.columns[0].justify = rt.columns[2].justify = "right"
    for i, (name, mean_value) in enumerate(ranking, 1):
        rt.add_row(str(i), name, value_text(kpi, mean_value))
    return Reflow(rt)


def _narrow(d: Any, target: tuple[float, bool]) -> bool:
    limit, relative = target
    if math.isnan(d.ci_low):
        return False
    hw = (d.ci_high - d.ci_low) / 2
    if hw == 0:  # every replication's difference the same (e.g. no lateness in any): as narrow as it gets
        return True
    if relative:
        scale = abs(d.baseline_mean)
        return scale > 0 and hw / scale <= limit
    return hw <= limit


def sweep_command(
    exp: Experiment,
    specs: list[ParamSpec],
    fmt: str,
    out: Console,
    err: Console,
    target: Target | None = None,
    items: list[str] | None = None,
) -> int:
    """Run the sweep, write ``sweep.parquet`` (KPI means and CIs per point) and print the headline.

    Each point is labelled by its parameter values (``results.sweep.point_label``) in the
    table, in ``sweep.parquet`` (``point_label``, next to the ``point`` index and one column
    per parameter) and in the manifest (``sweep``). With ``target``, the smallest point that
    meets it is printed, with its paired gain against the scenario's own values.
    """
    import pyarrow as pa

    from results.kpis import summarise
    from results.store.atomic import atomic_write_parquet
    from results.sweep import point_label

    outcome = execute(exp, err)
    for m in outcome.messages:  # the replications that deadlocked or failed (exit 1)
        err.print(m, markup=False)
    if outcome.kpis is None or exp.points is None:
        return 1
    summary = summarise([outcome.kpis]).to_pylist()
    labels = [point_label({p.path: pt[p.path] for p in specs}) for pt in exp.points]
    rows: list[dict[str, Any]] = []
    for r in summary:
        label = r["strategy"]
        k = int(label.rsplit("-pt", 1)[1])
        row = {"point": k, **{p.path: exp.points[k][p.path] for p in specs}, "point_label": labels[k]}
        keys = ("kpi", "item", "node", "link", "mean", "ci95_low", "ci95_high", "n", "ci_method", "ci_clipped")
        row.update({key: r.get(key) for key in keys})
        rows.append(row)
    rows.sort(key=lambda x: (x["point"], x["kpi"], str(x["item"]), str(x["node"]), str(x["link"])))
    table = pa.Table.from_pylist(rows)
    atomic_write_parquet(exp.out_dir / "sweep.parquet", table)
    _record_sweep(exp, specs, labels, target)
    head = [
        r
        for r in rows
        if r["kpi"] in ("units_delivered", "lead_time_mean_days") and r["item"] is None and r["node"] is None
    ]
    answer = _target_answer(exp, specs, rows, outcome.kpis, target) if target is not None else None
    from sim.cli.headline import item_rows, item_table

    parts = [f"{exp.strategies[0]}-pt{k:03d}" for k in range(len(exp.points))]
    per_item = item_rows(outcome.kpis, exp.scenario, items, parts)  # one row per (item, point)
    if fmt == "json":
        doc: dict[str, Any] = {"run": str(exp.out_dir), "response": head}
        doc["items"] = [{**r.as_row(), "point_label": labels[parts.index(r.strategy)]} for r in per_item]
        if answer is not None:
            doc["target"] = {**answer[0].as_dict(), "lines": answer[1]}
        sys.stdout.write(json.dumps(doc, default=str) + "\n")
    else:
        by_point = dict(zip(parts, labels, strict=True))
        out.print(item_table(per_item, "Per item and point, in calendar dates", "point", by_point))
        out.print(sweep_table(head, specs))
        for line in answer[1] if answer is not None else []:
            out.print(line, markup=False, highlight=False)
        out.print(f"response table: {exp.out_dir / 'sweep.parquet'}", markup=False)
    return 1 if outcome.failed else 0


def _record_sweep(exp: Experiment, specs: list[ParamSpec], labels: list[str], target: Target | None) -> None:
    """The manifest's ``sweep``: the parameters, each point's values and label, the target."""
    from results.store.run_store import RunStore

    assert exp.points is not None
    points = [
        {"point": k, "label": labels[k], "values": {p.path: pt[p.path] for p in specs}}
        for k, pt in enumerate(exp.points)
    ]
    sweep = {
        "strategy": exp.strategies[0],
        "params": [p.path for p in specs],
        "points": points,
        "target": None if target is None else target.text,
    }
    RunStore.open_existing(exp.out_dir).update(sweep=sweep)


def _target_answer(
    exp: Experiment, specs: list[ParamSpec], rows: list[dict[str, Any]], kpis: Any, target: Target
) -> tuple[TargetAnswer, list[str]]:
    """The smallest point meeting ``target`` and its paired gain against the scenario's own values."""
    from results.sweep import answer_lines, base_values, evaluate, paired_gain, reference_point, rep_values

    params = [p.path for p in specs]
    answer = evaluate(rows, params, target)
    base = base_values(exp.scenario.with_strategy(exp.strategies[0]), params)
    (ref, is_base), first = reference_point(answer, base), answer.first
    gain = paired_gain(rep_values(kpis, target), ref, first, is_base) if ref is not None and first is not None else None
    fill = {
        int(r["point"]): r["mean"]
        for r in rows
        if r["kpi"] == "fill_rate" and r["item"] == target.item and r["node"] is None and r["link"] is None
    }
    return answer, answer_lines(answer, gain, fill)


def sweep_table(head: list[dict[str, Any]], specs: list[ParamSpec]) -> Reflow:
    """The headline response per point; stacked per point (its parameter values) when narrow."""
    title = "Sweep response (all items)"
    t = Table("point", "parameters", "kpi", "mean", "95% CI", title=title)  # parameters: the point's label
    stacked = Table("point / kpi", "mean", "95% CI", title=title)
    for tb in (t, stacked):
        for c in tb.columns:
            c.no_wrap = c.header != "95% CI"
            c.justify = "right" if c.header in ("mean", "95% CI") else "left"
    last = None
    for r in head:
        kpi = r["kpi"]
        ci = ci_text(kpi, r["ci95_low"], r["ci95_high"], **marks(r))
        mean = value_text(kpi, r["mean"])  # empty when None: no lot delivered at this point
        t.add_row(str(r["point"]), r["point_label"], kpi, mean, ci)
        if last != r["point"]:
            stacked.add_row(f"point {r['point']}: {r['point_label']}", "", "")
            last = r["point"]
        stacked.add_row(f"  {kpi}", mean, ci)
    ci_caption([t, stacked], any(r.get("ci_clipped") for r in head), any(r.get("ci_method") == "wilson" for r in head))
    return Reflow(t, stacked)
