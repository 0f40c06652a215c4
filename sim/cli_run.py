"""The ``run`` command's work: replications into a run directory, KPIs, the summary table.

Part of the CLI composition root (it may import ``results``): the engine hands each finished
replication to ``results.store``; KPIs are recomputed from each part read back from disk, so
what the planner sees is a function of the written log alone.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from scenarios.schema import Scenario

__all__ = ["execute", "resolved_yaml", "summary_table"]

HEADLINE = (
    "delivered_units",
    "lead_time_p50_days",
    "lead_time_p90_days",
    "otif_share",
)


def resolved_yaml(scenario: Scenario, strategy: str) -> str:
    """The resolved scenario as YAML text (for ``scenario.resolved.yaml``)."""
    from ruamel.yaml import YAML

    data = scenario.with_strategy(strategy).model_dump(mode="json", by_alias=True, exclude_none=True)
    buf = io.StringIO()
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    yaml.dump(data, buf)
    return buf.getvalue()


def _progress(err: Console, quiet: bool) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[date]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err,
        disable=quiet,
        transient=False,
    )


def execute(
    *,
    scenario_path: Path,
    scenario: Scenario,
    strategies: list[str],
    replications: int,
    seed: int | None,
    out_dir: Path,
    overwrite: bool,
    fmt: str,
    max_events: int | None,
    quiet: bool,
    argv: list[str],
    out: Console,
    err: Console,
    resume: bool = False,
) -> int:
    """Run every (strategy, replication) into ``out_dir``; return the exit code."""
    import datetime as dt

    import pyarrow as pa

    from results.kpis import kpi_table, summarise
    from results.store import RunStore, read_events
    from sim.run import run

    root_seed = scenario.seed if seed is None else seed
    if resume:
        store = RunStore.open_existing(out_dir)
        store.set_status("running")
    else:
        store = RunStore(
            out_dir,
            overwrite=overwrite,
            scenario_name=scenario.name,
            scenario_sha256=hashlib.sha256(scenario_path.read_bytes()).hexdigest(),
            seeds=[root_seed],
            args=argv,
        )
    store.update(strategies=strategies, replications=replications, scenario_file=str(scenario_path))
    store.write_scenario(resolved_yaml(scenario, strategies[0]))
    done = store.finished_parts() if resume else set()
    kpis: list[pa.Table] = []
    failed = 0
    horizon = scenario.horizon_days
    with _progress(err, quiet) as bar:
        total = len(strategies) * replications
        task = bar.add_task("simulating", total=total * horizon, date="")
        finished = 0
        for strategy in strategies:
            for rep in range(replications):
                resolved = scenario.with_strategy(strategy)
                if (strategy, rep) in done:
                    finished += 1
                    kpis.append(kpi_table(read_events(out_dir, strategy, rep), resolved, strategy, rep))
                    bar.update(task, completed=finished * horizon)
                    continue
                base = finished * horizon

                def tick(day: float, base: float = base, rep: int = rep, strategy: str = strategy) -> None:
                    date = scenario.start + dt.timedelta(days=day)
                    bar.update(task, completed=base + day, date=f"{strategy} rep {rep} {date.isoformat()}")

                writer = store.open_part(strategy, rep)
                try:
                    _, result = run(scenario, strategy, rep, seed, sink=writer, max_events=max_events, progress=tick)
                except BaseException:
                    writer.abort()
                    raise
                sha, rows = writer.close()
                store.finish_part(strategy, rep, sha, rows, dataclasses.asdict(result))
                if result.status in ("failed", "deadlocked"):
                    failed += 1
                    err.print(
                        f"{strategy} rep {rep}: {result.status}: {result.error or '; '.join(result.blocked)}",
                        markup=False,
                    )
                kpis.append(kpi_table(read_events(out_dir, strategy, rep), resolved, strategy, rep))
                finished += 1
                bar.update(task, completed=finished * horizon)
    table = pa.concat_tables(kpis) if kpis else None
    if table is not None:
        store.write_kpis(table)
    status = "failed" if failed else "completed"
    store.set_status(status)
    summary = summarise(kpis) if kpis else None
    if fmt == "json":
        import json

        rows = summary.to_pylist() if summary is not None else []
        out.print_json(json.dumps({"run": str(out_dir), "status": status, "kpis": rows}, default=str))
    elif summary is not None:
        out.print(summary_table(summary, f"{scenario.name}: {replications} replication(s) -> {out_dir}"))
    return 1 if failed else 0


def summary_table(summary: Any, title: str) -> Table:
    """The headline KPIs (mean and 95% CI across replications) as a rich table."""
    rows = [r for r in summary.to_pylist() if r["kpi"] in HEADLINE]
    rows.sort(key=lambda r: (r["strategy"], HEADLINE.index(r["kpi"]), r.get("item") or "", r.get("node") or ""))
    table = Table("strategy", "kpi", "item", "unit/node", "mean", "95% CI", "n", title=title)
    for r in rows:
        lo, hi = r.get("ci95_low"), r.get("ci95_high")
        ci = "" if lo is None or hi is None or r["n"] < 2 else f"[{lo:,.2f}, {hi:,.2f}]"
        table.add_row(
            r["strategy"], r["kpi"], r.get("item") or "", r.get("node") or "", f"{r['mean']:,.2f}", ci, str(r["n"])
        )
    return table
