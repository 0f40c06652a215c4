"""Executors for experiments: serial, local processes, or Dask (a LocalCluster or a scheduler).

All three are ``concurrent.futures.Executor``s, so ``sim.experiment`` does not care which runs
the tasks. Dask is imported only when asked for (``pip install aidflow[dist]``); with
``--scheduler local`` a ``LocalCluster`` with one thread per worker is started and closed
with the context; ``--scheduler tcp://host:8786`` or ``--scheduler-file F`` joins an existing
cluster, whose workers must have the same aidflow installed.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from contextlib import contextmanager
from typing import Any, TypeVar

from scenarios.errors import AidflowError

__all__ = ["SerialExecutor", "make_executor"]

T = TypeVar("T")


class SerialExecutor(Executor):
    """Runs each task at once in the calling process (the default for one replication)."""

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        """Run ``fn`` now and return a finished future."""
        fut: Future[T] = Future()
        try:
            fut.set_result(fn(*args, **kwargs))
        except BaseException as exc:
            fut.set_exception(exc)
        return fut


@contextmanager
def make_executor(jobs: int = 1, scheduler: str | None = None, scheduler_file: str | None = None) -> Iterator[Executor]:
    """The executor for ``-j``/``--scheduler``/``--scheduler-file``, closed on exit."""
    if scheduler is None and scheduler_file is None:
        if jobs <= 1:
            yield SerialExecutor()
            return
        ctx = multiprocessing.get_context("forkserver")
        with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx) as pool:
            yield pool
        return
    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise AidflowError("Dask is not installed: pip install 'aidflow[dist]'") from exc
    if scheduler == "local":
        cluster = LocalCluster(n_workers=max(jobs, 1), threads_per_worker=1, processes=True, dashboard_address=None)
        client = Client(cluster)
        try:
            yield client.get_executor(pure=False)
        finally:
            client.close()
            cluster.close()
        return
    try:
        client = Client(scheduler_file=scheduler_file) if scheduler_file else Client(scheduler, timeout="20s")
    except OSError as exc:
        raise AidflowError(f"cannot reach the Dask scheduler {scheduler or scheduler_file}: {exc}") from exc
    try:
        yield client.get_executor(pure=False)
    finally:
        client.close()
