"""Keep a long run's resident memory close to its live memory: the allocators, not the data.

``aidflow run`` makes and frees arrays of a few MB at every flush of the log (the record batch,
its columns, the KPI stream's chunk arrays) and Arrow buffers in the Parquet writer's thread.
Measured on ``many_requirements`` (issue 19), the live Python and numpy memory at the end of a
10^5-lot run was ~80 MB (``tracemalloc``, 35 MB of it imported code) while the process held
~300 MB; what lay between was freed memory the allocators kept:

- glibc ``malloc`` serves a request above its mmap threshold (128 KB at first) with its own
  ``mmap``, returned to the system on ``free``; but each such free raises the threshold to the
  size freed (up to 32 MB), so from the first flush on, arrays of several MB come from the
  heap, where a small block allocated after them keeps the pages resident once they are freed.
  ``mallopt(M_MMAP_THRESHOLD)`` fixes the threshold (and the trim threshold) and turns that
  adjustment off.
- Arrow's default pool (mimalloc in the pyarrow wheels) keeps freed segments per thread for
  reuse; the system pool hands them back to ``malloc``, bounded as above.

Peak RSS of ``aidflow run`` of ``many_requirements`` (one process each, loaded 2-core machine):
10^5 lots 292 -> 256 MB; 3x10^5 lots 344 -> 261 MB (mmap threshold alone: 280 MB). The price is
a page fault per new page of every array above the threshold (minor faults 47k -> 451k at 10^5
lots, user CPU within the noise of the loaded machine). Numbers do not change: only where freed
memory goes.

Example:
    >>> bound_heap()  # doctest: +SKIP
"""

from __future__ import annotations

import ctypes
import sys

__all__ = ["MMAP_THRESHOLD_BYTES", "bound_heap", "glibc"]

MMAP_THRESHOLD_BYTES = 256 * 1024
"""Blocks from this size get their own ``mmap`` (4 MB measured 12 MB more at 10^5 lots)."""

_M_MMAP_THRESHOLD = -3  # <malloc.h>


def glibc() -> ctypes.CDLL | None:
    """The process's C library when it is glibc (``mallopt`` exists), else None."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None)  # the symbols already loaded in the process (no library search)
    except OSError:
        return None
    return libc if hasattr(libc, "mallopt") and hasattr(libc, "gnu_get_libc_version") else None


def bound_heap(mmap_threshold: int = MMAP_THRESHOLD_BYTES) -> bool:
    """Fix glibc's mmap threshold and put Arrow's allocations on the system allocator.

    Process-wide; meant for the command process of ``aidflow run``/``compare``/``sweep``
    (``sim.cli.execute``). Buffers already allocated by Arrow's previous pool are freed by it.

    Args:
        mmap_threshold: Bytes from which ``malloc`` maps a block of its own.

    Returns:
        True if glibc's threshold was set (False on another C library: only Arrow's pool moved).
    """
    import pyarrow as pa

    pa.set_memory_pool(pa.system_memory_pool())
    libc = glibc()
    return bool(libc is not None and libc.mallopt(_M_MMAP_THRESHOLD, int(mmap_threshold)) == 1)
