"""Executors for experiments: serial, local processes, or Dask (a LocalCluster or a scheduler).

All three are ``concurrent.futures.Executor``s, so ``sim.experiment`` does not care which runs
the tasks. Dask is imported only when asked for (``pip install aidflow[dist]``); with
``--scheduler local`` a ``LocalCluster`` with one thread per worker is started and closed
with the context; ``--scheduler tcp://host:8786`` or ``--scheduler-file F`` joins an existing
cluster, whose workers must have the same aidflow installed.
"""

from __future__ import annotations

import json
import multiprocessing
import socket
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from scenarios.errors import AidflowError

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
        host, port = hostport
        try:
            socket.create_connection((host or "127.0.0.1", int(port)), timeout=timeout).close()
        except OSError as exc:
            raise AidflowError(f"cannot reach the Dask scheduler {address} ({what}): {exc}") from None


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
    except (OSError, ValueError) as exc:
        raise AidflowError(f"cannot reach the Dask scheduler {scheduler or scheduler_file}: {exc}") from exc
    try:
        yield client.get_executor(pure=False)
    finally:
        client.close()
