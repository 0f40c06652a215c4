"""Experiments: replications x strategies x sweep points over a ``concurrent.futures.Executor``.

A ``Task`` names one replication of one strategy (and optional sweep overrides). ``run_task``
is a pure function of the task — its streams come from ``SeedSequence`` spawn keys of
(replication, stream, resource) — so results never depend on which worker ran it or in which
order tasks finished, and replications 0..29 stay identical when 31 are asked for. Workers
return the event table as Arrow IPC bytes plus the run result; the caller (the CLI) hands them
to a sink (``results.store``), since the engine never writes files.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, Future, as_completed
from dataclasses import dataclass, field
from typing import Any

from scenarios.schema import Scenario
from scenarios.strategies import apply_overrides
from sim.run import RunResult, run
from sim.stops import TaskFailed

__all__ = ["Task", "TaskResult", "plan", "run_task", "submit_all"]


@dataclass(frozen=True)
class Task:
    """One replication to simulate."""

    scenario: Scenario
    strategy: str
    replication: int
    seed: int | None = None
    point: int = -1
    overrides: tuple[tuple[str, Any], ...] = ()
    max_events: int | None = None

    @property
    def key(self) -> tuple[str, int, int]:
        """(strategy, point, replication): where the result goes."""
        return (self.strategy, self.point, self.replication)


@dataclass
class TaskResult:
    """What a worker sends back."""

    task_key: tuple[str, int, int]
    result: RunResult
    ipc: bytes = b""
    extra: dict[str, Any] = field(default_factory=dict)


def plan(
    scenario: Scenario,
    strategies: Iterable[str],
    replications: int,
    seed: int | None = None,
    points: list[dict[str, Any]] | None = None,
    max_events: int | None = None,
    skip: set[tuple[str, int, int]] | None = None,
) -> list[Task]:
    """Every task of an experiment, in a stable order (point, strategy, replication)."""
    tasks: list[Task] = []
    pts: list[tuple[int, dict[str, Any]]] = [(-1, {})] if not points else list(enumerate(points))
    for p, overrides in pts:
        for strat in strategies:
            for rep in range(replications):
                t = Task(scenario, strat, rep, seed, p, tuple(sorted(overrides.items())), max_events)
                if skip is None or t.key not in skip:
                    tasks.append(t)
    return tasks


def resolve(task: Task) -> Scenario:
    """The scenario a task simulates: the strategy, then the sweep point's overrides."""
    s = task.scenario.with_strategy(task.strategy)
    if task.overrides:
        s = apply_overrides(s, dict(task.overrides), ("sweep",))
    return s


def run_task(task: Task, sink: Callable[[Any], None] | None = None) -> TaskResult:
    """Simulate one task; without a sink, return the event table as Arrow IPC bytes."""
    scenario = resolve(task)
    log, result = run(scenario, "baseline", task.replication, task.seed, sink=sink, max_events=task.max_events)
    result.strategy = task.strategy
    if sink is not None:
        return TaskResult(task.key, result)
    import pyarrow as pa

    table = log.table()
    buf = io.BytesIO()
    with pa.ipc.new_stream(buf, table.schema) as writer:
        writer.write_table(table)
    return TaskResult(task.key, result, buf.getvalue())


def submit_all(executor: Executor, tasks: list[Task]) -> Iterator[TaskResult]:
    """Run ``tasks`` on ``executor``; yield results as they complete.

    Raises:
        TaskFailed: a task raised an exception (``key`` names the task, ``cause`` is it).
    """
    futures: dict[Future[TaskResult], Task] = {executor.submit(run_task, t): t for t in tasks}
    for fut in as_completed(futures):
        try:
            result = fut.result()
        except Exception as exc:
            raise TaskFailed(futures[fut].key, exc) from exc
        yield result
