"""Why a command stopped before it finished: the exceptions behind exit codes 1 and 130.

``sim.cli.main`` turns them into the exit-code contract (0 ok, 1 the run failed, 2 bad input,
130 interrupted): ``RunFailed`` exits 1 with its message, ``RunInterrupted`` exits 130 with its
one-line message naming the ``--resume`` command. Both are raised by ``sim.cli.execute.execute``
after the run directory's manifest says ``failed`` or ``interrupted``. This module imports
nothing heavy, so the entry point can catch them without loading the engine.

Example:
    >>> RunInterrupted("interrupted: continue with: aidflow run S.yaml --resume").exit_code
    130
"""

from __future__ import annotations

from scenarios.errors import RunError

__all__ = ["RunFailed", "RunInterrupted", "RunStopped", "TaskFailed"]


class RunStopped(RunError):
    """A run that stopped early; its manifest records why. ``exit_code`` is the process's."""

    exit_code = 1


class RunFailed(RunStopped):
    """An error inside a replication (the engine, a worker, writing a part): exit 1."""

    exit_code = 1


class RunInterrupted(RunStopped):
    """Ctrl-C (SIGINT): the run directory is kept, ``--resume`` continues it; exit 130."""

    exit_code = 130


class TaskFailed(Exception):
    """An exception escaped one task (replication) of an experiment; ``key`` says which.

    Args:
        key: The task's ``(strategy, point, replication)``.
        cause: The exception the task raised.
    """

    def __init__(self, key: tuple[str, int, int], cause: BaseException) -> None:
        super().__init__(f"task {key}: {type(cause).__name__}: {cause}")
        self.key = key
        self.cause = cause
