"""The work behind ``run``, ``compare`` and ``sweep``: tasks into a run directory, then KPIs.

Part of the CLI composition root (it may import ``results``). Tasks run on the chosen
executor (serial, processes, Dask); in the serial case each replication streams its record
batches straight into its Parquet part, otherwise workers return Arrow IPC bytes and this
process writes the part. Parts are recorded in the manifest as they finish (so ``--resume``
skips them), and KPIs are recomputed from every part read back from disk, in a fixed
(strategy, replication) order, so results never depend on completion order.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import io
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from scenarios.schema import Scenario

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["Experiment", "Outcome", "execute", "resolved_yaml", "summary_table"]

HEADLINE = ("units_delivered", "units_lost", "lead_time_p50_days", "lead_time_p90_days", "otif", "fill_rate")


def resolved_yaml(scenario: Scenario, strategy: str | None) -> str:
    """The scenario as YAML text for ``scenario.resolved.yaml``: with ``strategy`` applied, or
    the base (whose ``strategies`` resolve each part) when a run holds several strategies."""
    from ruamel.yaml import YAML

    resolved = scenario if strategy is None else scenario.with_strategy(strategy)
    data = resolved.model_dump(mode="json", by_alias=True, exclude_none=True)
    buf = io.StringIO()
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    yaml.dump(data, buf)
    return buf.getvalue()


@dataclass
class Experiment:
    """What to run and where."""

    scenario_path: Path
    scenario: Scenario
    strategies: list[str]
    replications: int
    out_dir: Path
    seed: int | None = None
    overwrite: bool = False
    resume: bool = False
    jobs: int = 1
    scheduler: str | None = None
    scheduler_file: str | None = None
    max_events: int | None = None
    quiet: bool = False
    argv: tuple[str, ...] = ()
    points: list[dict[str, Any]] | None = None


@dataclass
class Outcome:
    """What an experiment left: the KPI table (all parts) and how many parts failed."""

    kpis: pa.Table | None
    failed: int
    status: str
    messages: list[str]


def _label(strategy: str, point: int) -> str:
    return strategy if point < 0 else f"{strategy}-pt{point:03d}"


def execute(exp: Experiment, err: Console, store: Any = None) -> Outcome:
    """Run every task of ``exp`` into its run directory; return the KPI table and status."""
    import pyarrow as pa

    from results.kpis import kpi_table
    from results.store import RunStore, read_events
    from scenarios.strategies import apply_overrides
    from sim.executors import check_scheduler, make_executor
    from sim.experiment import plan, submit_all

    check_scheduler(exp.scheduler, exp.scheduler_file)  # before the run directory is touched
    s = exp.scenario
    root_seed = s.seed if exp.seed is None else exp.seed
    if store is None:
        if exp.resume:
            store = RunStore.open_existing(exp.out_dir)
            store.set_status("running")
        else:
            store = RunStore(
                exp.out_dir,
                overwrite=exp.overwrite,
                scenario_name=s.name,
                scenario_sha256=hashlib.sha256(exp.scenario_path.read_bytes()).hexdigest(),
                seeds=[root_seed],
                args=list(exp.argv),
            )
            only = exp.strategies[0] if len(exp.strategies) == 1 else None
            store.write_scenario(resolved_yaml(s, only))
    store.update(
        strategies=exp.strategies,
        replications=exp.replications,
        scenario_file=str(exp.scenario_path),
        points=exp.points,
    )
    done_parts = store.finished_parts()
    done = {
        (st, pt, r)
        for st in exp.strategies
        for pt in _points(exp)
        for r in range(exp.replications)
        if (_label(st, pt), r) in done_parts
    }
    tasks = plan(s, exp.strategies, exp.replications, exp.seed, exp.points, exp.max_events, skip=done)
    total = len(done) + len(tasks)
    messages: list[str] = []
    failed = 0

    def record(key: tuple[str, int, int], result: Any, sha: str, rows: int) -> None:
        nonlocal failed
        strategy, point, rep = key
        store.finish_part(_label(strategy, point), rep, sha, rows, dataclasses.asdict(result))
        if result.status in ("failed", "deadlocked"):
            failed += 1
            messages.append(
                f"{_label(strategy, point)} rep {rep}: {result.status}: {result.error or '; '.join(result.blocked)}"
            )

    with _progress(err, exp.quiet) as bar:
        task_id = bar.add_task("replications", total=total, date="")
        bar.update(task_id, completed=len(done))
        serial = exp.jobs <= 1 and exp.scheduler is None and exp.scheduler_file is None
        if serial:
            for t in tasks:

                def tick(day: float, label: str = f"{_label(t.strategy, t.point)} rep {t.replication}") -> None:
                    bar.update(task_id, date=f"{label} {(s.start + dt.timedelta(days=day)).isoformat()}")

                writer = store.open_part(_label(t.strategy, t.point), t.replication)
                try:
                    result = run_task_with_progress(t, writer, tick)
                except BaseException:
                    writer.abort()
                    raise
                sha, rows = writer.close()
                record(t.key, result, sha, rows)
                bar.advance(task_id)
        else:
            with make_executor(exp.jobs, exp.scheduler, exp.scheduler_file) as executor:
                for tr in submit_all(executor, tasks):
                    strategy, point, rep = tr.task_key
                    writer = store.open_part(_label(strategy, point), rep)
                    try:
                        with pa.ipc.open_stream(tr.ipc) as reader:
                            for batch in reader:
                                writer(batch)
                    except BaseException:
                        writer.abort()
                        raise
                    sha, rows = writer.close()
                    record(tr.task_key, tr.result, sha, rows)
                    bar.advance(task_id)
    tables = []
    for pt in _points(exp):
        for strategy in exp.strategies:
            resolved = s.with_strategy(strategy)
            if pt >= 0 and exp.points is not None:
                resolved = apply_overrides(resolved, exp.points[pt], ("sweep",))
            for rep in range(exp.replications):
                label = _label(strategy, pt)
                k = kpi_table(read_events(exp.out_dir, label, rep), resolved, label, rep)
                tables.append(k)
    kpis = pa.concat_tables(tables) if tables else None
    if kpis is not None:
        store.write_kpis(kpis)
    status = "failed" if failed else "completed"
    store.set_status(status, "; ".join(messages) or None)
    return Outcome(kpis, failed, status, messages)


def _points(exp: Experiment) -> list[int]:
    return [-1] if not exp.points else list(range(len(exp.points)))


def run_task_with_progress(task: Any, sink: Any, tick: Any) -> Any:
    """Run one task in this process, streaming batches into ``sink`` and reporting progress."""
    from sim.experiment import resolve
    from sim.run import run

    scenario = resolve(task)
    _, result = run(
        scenario, "baseline", task.replication, task.seed, sink=sink, max_events=task.max_events, progress=tick
    )
    result.strategy = task.strategy
    return result


def _progress(err: Console, quiet: bool) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[date]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err,
        disable=quiet,
        transient=False,
    )


def summary_table(summary: Any, title: str, headline: tuple[str, ...] = HEADLINE) -> Table:
    """The headline KPIs (mean and 95% CI across replications) as a rich table."""
    rows = [r for r in summary.to_pylist() if r["kpi"] in headline and r.get("link") is None]
    rows = [r for r in rows if r.get("node") is None or r["kpi"] not in ("units_delivered",)]
    rows.sort(key=lambda r: (r["strategy"], headline.index(r["kpi"]), r.get("item") or "", r.get("node") or ""))
    table = Table("strategy", "kpi", "item", "unit/node", "mean", "95% CI", "n", title=title)
    for r in rows:
        lo, hi = r.get("ci95_low"), r.get("ci95_high")
        ci = "" if lo is None or hi is None or r["n"] < 2 else f"[{lo:,.2f}, {hi:,.2f}]"
        mean = r.get("mean")
        table.add_row(
            r["strategy"],
            r["kpi"],
            r.get("item") or "all",
            r.get("node") or "",
            "" if mean is None else f"{mean:,.2f}",
            ci,
            str(r["n"]),
        )
    return table
