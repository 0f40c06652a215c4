"""The work behind ``run``, ``compare`` and ``sweep``: tasks into a run directory, then KPIs.

Part of the CLI composition root (it may import ``results``). Tasks run on the chosen
executor (serial, processes, Dask); in the serial case each replication streams its record
batches straight into its Parquet part, otherwise workers return Arrow IPC bytes and this
process writes the part. Parts are recorded in the manifest as they finish (so ``--resume``
skips them). Each part's KPIs are counted while it is written (``results.kpis.live``: every
batch handed to the part writer is also fed to a ``KpiStream``), over ``[0, end day of the
run]``; parts finished by an earlier process are read back from disk instead
(``results.kpis.kpi_table_of_part``, the same numbers). The KPI table is in a fixed
(strategy, replication) order, so results never depend on completion order.

How a run ends is always in its manifest: ``completed``; ``failed`` (a replication deadlocked
or failed, or an exception escaped one: exit 1); ``interrupted`` (Ctrl-C: exit 130, and one
line on stderr naming the ``--resume`` command). ``--resume`` continues only the same run: a
different scenario file, seed, strategy set, sweep points or event budget is refused (exit 2).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import hashlib
import io
import json
import shlex
import signal
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from scenarios.errors import AidflowError
from scenarios.schema import Scenario
from sim.stops import RunFailed, RunInterrupted, TaskFailed

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = [
    "Experiment",
    "Outcome",
    "execute",
    "interrupted",
    "open_store",
    "resolved_yaml",
    "resume_command",
    "resume_differences",
    "summary_table",
]

HEADLINE = (
    "units_delivered",
    "units_lost",
    "lead_time_p50_days",
    "lead_time_p90_days",
    "otif",
    "fill_rate",
    "total_cost_eur",
    "cost_per_delivered_unit_eur",
    "pledge_on_time_share",
    "budget_spent_eur",
    "budget_left_eur",
)
"""KPIs of the run summary table: whole run, per item, and per donor for the budget rows."""


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
    points_grow: bool = False
    """The points may extend those of the run being resumed (``bottlenecks`` adds variants as it learns)."""
    settings: dict[str, Any] = field(default_factory=dict)
    """Command options that decide the parts beyond the fields above; a resume must repeat them."""


@dataclass
class Outcome:
    """What an experiment left: the KPI table (all parts) and how many parts failed."""

    kpis: pa.Table | None
    failed: int
    status: str
    messages: list[str]


def _label(strategy: str, point: int) -> str:
    return strategy if point < 0 else f"{strategy}-pt{point:03d}"


def resume_command(exp: Experiment) -> str:
    """The command line that continues ``exp``: its own, with ``--resume`` instead of ``--overwrite``."""
    if not exp.argv:
        return f"the same command with --out {shlex.quote(str(exp.out_dir))} --resume"
    args = [a for a in exp.argv if a not in ("--overwrite", "--no-resume")]
    if "--resume" not in args:
        args.append("--resume")
    return shlex.join(["aidflow", *args])


def execute(exp: Experiment, err: Console) -> Outcome:
    """Run every task of ``exp`` into its run directory; return the KPI table and status.

    A finished experiment's manifest says ``completed`` (or ``failed`` when a replication
    deadlocked or failed: ``Outcome.failed`` counts them). Ctrl-C stops it cleanly: workers are
    stopped, the manifest says ``interrupted`` and ``RunInterrupted`` names the ``--resume``
    command. An exception inside a replication marks the manifest ``failed`` with the message
    and raises ``RunFailed`` (an ``AidflowError`` such as a Dask that cannot be reached is
    recorded and raised as it is).

    Raises:
        RunInterrupted: SIGINT (exit 130).
        RunFailed: an error inside a replication or while writing its part (exit 1).
        StoreError: the run directory cannot be used, or ``--resume`` does not match it (exit 2).
    """
    from sim.executors import check_scheduler

    check_scheduler(exp.scheduler, exp.scheduler_file)  # before the run directory is touched
    root_seed = exp.scenario.seed if exp.seed is None else exp.seed
    store = open_store(exp, root_seed)
    try:
        with _sigint_noted() as sigint:
            outcome = _execute(exp, err, store)
        if sigint.seen:  # Ctrl-C landed where Python drops exceptions (a weakref or __del__ callback)
            raise KeyboardInterrupt
        return outcome
    except KeyboardInterrupt:
        raise interrupted(exp, store) from None
    except TaskFailed as exc:
        strategy, point, rep = exc.key
        message = f"{_label(strategy, point)} rep {rep}: {type(exc.cause).__name__}: {exc.cause}"
        with _sigint_ignored():
            store.set_status("failed", message)
        raise RunFailed(message) from exc.cause
    except AidflowError as exc:
        with _sigint_ignored():
            store.set_status("failed", str(exc))
        raise
    except Exception as exc:
        message = f"{type(exc).__name__}: {exc}"
        with _sigint_ignored():
            store.set_status("failed", message)
        raise RunFailed(message) from exc


def interrupted(exp: Experiment, store: Any = None) -> RunInterrupted:
    """Record that ``exp``'s command was interrupted; return the exception that says how to resume.

    The manifest's status becomes ``interrupted`` and temporary files are removed (every writer
    has stopped by then). Commands that do more than one ``execute`` (``bottlenecks``) call it
    for a Ctrl-C that lands between two.
    """
    from results.store.run_store import RunStore

    with _sigint_ignored():
        if store is None:
            store = RunStore.open_existing(exp.out_dir)
        store.remove_temporary_files()
        store.set_status("interrupted", "interrupted by the user (SIGINT); continue it with --resume")
    return RunInterrupted(
        f"interrupted: {exp.out_dir} is kept (status interrupted); continue with: {resume_command(exp)}"
    )


class _Sigint:
    """SIGINT handler that notes the signal, then raises ``KeyboardInterrupt`` as Python's own does."""

    def __init__(self) -> None:
        self.seen = False

    def __call__(self, signum: int, frame: Any) -> None:
        self.seen = True
        raise KeyboardInterrupt


@contextlib.contextmanager
def _sigint_noted() -> Iterator[_Sigint]:
    """Note every Ctrl-C during a run, so that one Python swallowed still stops the command.

    A ``KeyboardInterrupt`` raised inside a weakref callback or a ``__del__`` is printed as
    "Exception ignored" and lost. Only where Ctrl-C would raise anyway (main thread, Python's
    default handler); a SIGINT the shell set to be ignored stays ignored.
    """
    handler = _Sigint()
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGINT) is not signal.default_int_handler
    ):
        yield handler
        return
    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield handler
    finally:
        signal.signal(signal.SIGINT, previous)


@contextlib.contextmanager
def _sigint_ignored() -> Iterator[None]:
    """Ignore a second Ctrl-C while the manifest records how the run ended (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def open_store(exp: Experiment, root_seed: int) -> Any:
    """The run directory of ``exp``: a new one, or (``resume``) the one to continue, checked.

    ``--resume`` on a directory that does not exist (or holds nothing but temporary files)
    starts the run; on a directory with a manifest it continues it, after
    ``resume_differences`` found nothing that would mix two different runs. When the run asks
    for fewer replications than the directory was started with, the run's own count is kept
    (a resume completes the run as started; a larger ``-n`` extends it).

    Raises:
        StoreError: not a run directory, or a resume that would mix two runs (exit 2).
    """
    from results.store.layout import MANIFEST, TMP_PREFIX, StoreError
    from results.store.run_store import RunStore, read_manifest

    s = exp.scenario
    sha = hashlib.sha256(exp.scenario_path.read_bytes()).hexdigest()
    root = exp.out_dir
    if exp.resume and (root / MANIFEST).is_file():
        differences = resume_differences(read_manifest(root), exp, root_seed, sha)
        if differences:
            raise StoreError(
                f"--resume: {root} holds a different run: "
                + "; ".join(differences)
                + ". Repeat the run's own arguments to continue it, or start afresh with --overwrite"
            )
        store = RunStore.open_existing(root)
        exp.replications = max(exp.replications, int(store.manifest.get("replications") or 0))
        store.set_status("running")
        return store
    if exp.resume and root.is_dir() and any(not p.name.startswith(TMP_PREFIX) for p in root.iterdir()):
        raise StoreError(
            f"--resume: {root} has no {MANIFEST}, so there is no run to continue (it was stopped before "
            "it started, or it is not a run directory); start the run afresh with --overwrite"
        )
    store = RunStore(
        root,
        overwrite=exp.overwrite or exp.resume,
        scenario_name=s.name,
        scenario_sha256=sha,
        seeds=[root_seed],
        args=list(exp.argv),
    )
    only = exp.strategies[0] if len(exp.strategies) == 1 else None
    store.write_scenario(resolved_yaml(s, only))
    return store


def resume_differences(manifest: dict[str, Any], exp: Experiment, root_seed: int, sha256: str) -> list[str]:
    """What would make ``--resume`` mix two runs: each difference as a phrase (none: [] ).

    Compared: the scenario file's sha256, the root seed, the strategies, the sweep points
    (``Experiment.points``; a prefix either way when ``points_grow``), the event budget and the
    command's own ``settings``. A field the manifest does not hold is not compared. The
    replications are not compared: ``-n`` may grow on a resume.
    """
    out: list[str] = []
    old_sha = manifest.get("scenario_sha256")
    if old_sha is not None and old_sha != sha256:
        out.append(f"the scenario file changed (sha256 {str(old_sha)[:12]}… when started, {sha256[:12]}… now)")
    seeds = manifest.get("seeds")
    if seeds and list(seeds) != [root_seed]:
        given = ", ".join(str(x) for x in seeds)
        out.append(f"seed {root_seed} (the run used --seed {given})")
    if "strategies" in manifest and list(manifest["strategies"] or []) != list(exp.strategies):
        out.append(
            f"strategies {', '.join(exp.strategies)} (the run has {', '.join(manifest['strategies'] or []) or 'none'})"
        )
    if "points" in manifest:
        old = manifest["points"] or []
        new = json.loads(json.dumps(exp.points or [], default=str))
        n = min(len(old), len(new))
        same = old[:n] == new[:n] if exp.points_grow else old == new
        if not same:
            out.append(f"{len(new)} sweep point(s) {_brief(new)} (the run has {len(old)}: {_brief(old)})")
    if "max_events" in manifest and manifest["max_events"] != exp.max_events:
        old_budget = manifest["max_events"]
        out.append(f"--max-events {exp.max_events or 'none'} (the run used {old_budget or 'none'})")
    old_settings = manifest.get("settings")
    if old_settings is not None:
        new_settings = json.loads(json.dumps(exp.settings, default=str))
        for key in sorted(set(old_settings) | set(new_settings)):
            if old_settings.get(key) != new_settings.get(key):
                out.append(f"{key} {new_settings.get(key)} (the run used {old_settings.get(key)})")
    return out


def _brief(points: list[Any], limit: int = 3) -> str:
    text = ", ".join(json.dumps(p, sort_keys=True) for p in points[:limit])
    return f"[{text}{', …' if len(points) > limit else ''}]"


def _execute(exp: Experiment, err: Console, store: Any) -> Outcome:
    import pyarrow as pa

    from results.kpis import kpi_table_of_part
    from results.kpis.live import LiveKpis
    from scenarios.strategies import apply_overrides
    from sim.cli.heap import bound_heap
    from sim.executors import make_executor
    from sim.experiment import plan, submit_all

    bound_heap()  # freed arrays go back to the system: peak RSS follows live memory (sim/cli/heap.py)
    s = exp.scenario
    store.update(
        strategies=exp.strategies,
        replications=exp.replications,
        scenario_file=str(exp.scenario_path),
        points=exp.points,
        max_events=exp.max_events,
        settings=exp.settings,
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
    live: dict[tuple[str, int], pa.Table] = {}  # (label, rep) -> KPIs counted while the part was written

    def part_scenario(strategy: str, pt: int) -> Scenario:
        resolved = s.with_strategy(strategy)
        if pt >= 0 and exp.points is not None:
            resolved = apply_overrides(resolved, exp.points[pt], ("sweep",))
        return resolved

    def record(key: tuple[str, int, int], result: Any, sha: str, rows: int, counted: LiveKpis) -> None:
        nonlocal failed
        strategy, point, rep = key
        live[(_label(strategy, point), rep)] = counted.table(_label(strategy, point), rep, result.end_day)
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

                counted = LiveKpis(part_scenario(t.strategy, t.point))
                writer = store.open_part(_label(t.strategy, t.point), t.replication, tap=counted)
                try:
                    result = run_task_with_progress(t, writer, tick)
                    sha, rows = writer.close()
                except BaseException as exc:
                    writer.abort()
                    if isinstance(exc, Exception):
                        raise TaskFailed(t.key, exc) from exc
                    raise
                record(t.key, result, sha, rows, counted)
                bar.advance(task_id)
        else:
            with make_executor(exp.jobs, exp.scheduler, exp.scheduler_file) as executor:
                for tr in submit_all(executor, tasks):
                    strategy, point, rep = tr.task_key
                    counted = LiveKpis(part_scenario(strategy, point))
                    writer = store.open_part(_label(strategy, point), rep, tap=counted)
                    try:
                        with pa.ipc.open_stream(tr.ipc) as reader:
                            for batch in reader:
                                writer(batch)
                        sha, rows = writer.close()
                    except BaseException:
                        writer.abort()
                        raise
                    record(tr.task_key, tr.result, sha, rows, counted)
                    bar.advance(task_id)
    # parts written by an earlier process (--resume) are read back, row group by row group
    end_days = {(p["strategy"], int(p["replication"])): p.get("end_day") for p in store.manifest.get("parts", [])}
    tables = []
    for pt in _points(exp):
        for strategy in exp.strategies:
            label = _label(strategy, pt)
            for rep in range(exp.replications):
                k = live.pop((label, rep), None)
                if k is None:
                    k = kpi_table_of_part(
                        exp.out_dir, part_scenario(strategy, pt), label, rep, end_days.get((label, rep))
                    )
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


def _all_items(kpi: str) -> str:
    """The item cell of a whole-run row: units of different items added up say so."""
    return "all items (mixed units)" if kpi.startswith("units_") else "all"


def summary_table(summary: Any, title: str, headline: tuple[str, ...] = HEADLINE) -> Any:
    """The headline KPIs (mean and 95% CI across replications) as a table that reflows.

    Numbers print by kind (``results.fmt``: shares in %, counts whole, money in €, days to
    0.1); an interval clipped to its KPI's range, or a Wilson interval, carries a mark that
    the caption explains. The strategy column is left out when there is one strategy (the
    title names it). On a narrow terminal each KPI heads its rows (``sim.cli.tables``).
    """
    from results import fmt
    from sim.cli.tables import Reflow, ci_caption, marks

    rows = [r for r in summary.to_pylist() if r["kpi"] in headline and r.get("link") is None]
    rows = [r for r in rows if r.get("node") is None or r["kpi"] not in ("units_delivered",)]
    rows.sort(key=lambda r: (r["strategy"], headline.index(r["kpi"]), r.get("item") or "", r.get("node") or ""))
    several = len({r["strategy"] for r in rows}) > 1
    lead = ["strategy"] if several else []
    table = Table(*lead, "kpi", "item", "unit/node", "mean", "95% CI", "n", title=title)
    stacked = Table(*lead, "kpi / item (unit/node)", "mean", "95% CI", "n", title=title)
    for t in (table, stacked):
        for c in t.columns:
            c.no_wrap = c.header in ("strategy", "kpi", "mean", "n")  # names and numbers keep one line
            c.justify = "right" if c.header in ("mean", "95% CI", "n") else "left"
    last: tuple[str, str] | None = None
    for r in rows:
        kpi, n = r["kpi"], r["n"]
        ci = "" if n < 2 else fmt.interval(kpi, r.get("ci95_low"), r.get("ci95_high"), **marks(r))
        mean, item, node = fmt.value(kpi, r.get("mean")), r.get("item") or _all_items(kpi), r.get("node") or ""
        table.add_row(*([r["strategy"]] if several else []), kpi, item, node, mean, ci, str(n))
        if last != (r["strategy"], kpi):
            stacked.add_row(*([r["strategy"]] if several else []), kpi, "", "", "")
            last = (r["strategy"], kpi)
        stacked.add_row(*([""] if several else []), f"  {item}" + (f" ({node})" if node else ""), mean, ci, str(n))
    ci_caption(
        [table, stacked], any(r.get("ci_clipped") for r in rows), any(r.get("ci_method") == "wilson" for r in rows)
    )
    return Reflow(table, stacked)
