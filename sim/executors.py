"""Executors for experiments: serial, local processes, or Dask (a LocalCluster or a scheduler).

All three are ``concurrent.futures.Executor``s, so ``sim.experiment`` does not care which runs
the tasks. Dask is imported only when asked for (``pip install aidflow[dist]``); with
``--scheduler local`` a ``LocalCluster`` with one thread per worker is started and closed
with the context; ``--scheduler tcp://host:8786`` or ``--scheduler-file F`` joins an existing
cluster, whose workers must have the same aidflow installed.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from scenarios.errors import AidflowError

if TYPE_CHECKING:  # multiprocessing and socket only when asked for (-j, --scheduler): ~7 ms of a serial start-up
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing.connection import Connection

__all__ = ["SerialExecutor", "check_scheduler", "make_executor"]

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


def check_scheduler(scheduler: str | None, scheduler_file: str | None = None, timeout: float = 5.0) -> None:
    """Fail fast (``AidflowError``, exit 2) on a Dask address or scheduler file that cannot be used.

    A malformed address or an unknown scheme, a missing or unreadable scheduler file, and a
    TCP scheduler that refuses the connection are reported at once (Dask itself would wait for
    a missing file forever and retry a refused connection until its timeout).
    """
    if scheduler_file is not None:
        path = Path(scheduler_file)
        try:
            address = json.loads(path.read_text(encoding="utf-8"))["address"]
        except FileNotFoundError:
            raise AidflowError(f"--scheduler-file {path}: no such file (is the Dask scheduler running?)") from None
        except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
            raise AidflowError(f"--scheduler-file {path}: not a Dask scheduler file ({exc!r})") from None
        what = f"--scheduler-file {path}"
    elif scheduler is None or scheduler == "local":
        return
    else:
        address, what = scheduler, f"--scheduler {scheduler}"
    try:
        from distributed.comm.addressing import parse_address, parse_host_port
        from distributed.comm.registry import get_backend
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise AidflowError("Dask is not installed: pip install 'aidflow[dist]'") from exc
    if not isinstance(address, str):
        raise AidflowError(f"{what}: not a Dask scheduler address: {address!r}")
    try:
        scheme, loc = parse_address(address, strict=False)
        get_backend(scheme)
        hostport = parse_host_port(loc) if scheme in ("tcp", "tls") else None
    except (ValueError, TypeError) as exc:
        raise AidflowError(
            f"{what}: bad Dask scheduler address {address!r}: {exc} (expected 'local' or tcp://host:port)"
        ) from None
    if hostport is not None:
        import socket

        host, port = hostport
        try:
            socket.create_connection((host or "127.0.0.1", int(port)), timeout=timeout).close()
        except OSError as exc:
            raise AidflowError(f"cannot reach the Dask scheduler {address} ({what}): {exc}") from None


def _worker_init(alive: Connection) -> None:
    """Set up a local worker process: leave Ctrl-C to the command, end with it, keep pandas out.

    The command decides what SIGINT means (it stops the workers itself, see ``_stop_pool``),
    so a worker ignores it: a Ctrl-C in a terminal reaches the whole process group, and a
    worker waiting for a task would otherwise die printing a traceback. ``alive`` is the read
    end of a pipe whose only write end the command holds; nothing is ever written, so the
    read returns when the command is gone, even killed with SIGKILL (a forkserver's workers
    are not its children and share the pool's pipes, so they would otherwise wait forever),
    and the worker exits at once.
    """
    from sim.startup import keep_pandas_out

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    keep_pandas_out()  # a worker is aidflow's own process: pyarrow need not import pandas (sim/startup.py)

    def watch() -> None:
        with contextlib.suppress(EOFError, OSError):
            alive.recv_bytes()
        os._exit(1)

    threading.Thread(target=watch, name="aidflow-command-watch", daemon=True).start()


def _stop_pool(pool: ProcessPoolExecutor, timeout_s: float = 5.0) -> None:
    """Stop ``pool`` now: cancel the queued tasks and end the running ones with their workers."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for p in processes:
        with contextlib.suppress(Exception):
            p.terminate()
    deadline = time.monotonic() + timeout_s
    for p in processes:
        with contextlib.suppress(Exception):
            p.join(max(0.0, deadline - time.monotonic()))
            if p.is_alive():
                p.kill()
                p.join(1.0)


@contextmanager
def make_executor(jobs: int = 1, scheduler: str | None = None, scheduler_file: str | None = None) -> Iterator[Executor]:
    """The executor for ``-j``/``--scheduler``/``--scheduler-file``, closed on exit.

    On a normal exit the executor finishes its work; when the body raises (Ctrl-C, a failed
    task) local workers are stopped at once (queued tasks cancelled, running ones terminated)
    and a LocalCluster is closed, so no worker process outlives the command.
    """
    if scheduler is None and scheduler_file is None:
        if jobs <= 1:
            yield SerialExecutor()
            return
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        ctx = multiprocessing.get_context("forkserver")
        alive_r, alive_w = ctx.Pipe(duplex=False)  # closing alive_w (or dying) ends the workers
        try:
            pool = ProcessPoolExecutor(max_workers=jobs, mp_context=ctx, initializer=_worker_init, initargs=(alive_r,))
            try:
                yield pool
            except BaseException:
                _stop_pool(pool)
                raise
            pool.shutdown(wait=True)
        finally:
            alive_w.close()
            alive_r.close()
        return
    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise AidflowError("Dask is not installed: pip install 'aidflow[dist]'") from exc
    if scheduler == "local":
        cluster = LocalCluster(n_workers=max(jobs, 1), threads_per_worker=1, processes=True, dashboard_address=None)
        client = Client(cluster)
        try:
            with _cancelled_on_error(client.get_executor(pure=False)) as executor:
                yield executor
        finally:
            client.close()
            cluster.close()
        return
    try:
        client = Client(scheduler_file=scheduler_file) if scheduler_file else Client(scheduler, timeout="20s")
    except (OSError, ValueError) as exc:
        raise AidflowError(f"cannot reach the Dask scheduler {scheduler or scheduler_file}: {exc}") from exc
    try:
        with _cancelled_on_error(client.get_executor(pure=False)) as executor:
            yield executor
    finally:
        client.close()


@contextmanager
def _cancelled_on_error(executor: Executor) -> Iterator[Executor]:
    """A Dask executor whose unfinished tasks are cancelled when the body raises (Ctrl-C)."""
    try:
        yield executor
    except BaseException:
        with contextlib.suppress(Exception):
            executor.shutdown(wait=False)  # Dask's ClientExecutor: cancels the unfinished futures
        raise
