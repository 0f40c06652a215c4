"""``aidflow run`` keeps freed arrays out of its resident memory (``sim.cli.heap``, issue 19).

glibc raises its mmap threshold to the size of each mapped block freed, so after the first
flush of the log, arrays of a few MB came from the heap and stayed resident once freed (a
3x10^5-lot ``many_requirements`` run peaked at 344 MB, 261 MB with the threshold fixed and
Arrow on the system pool). Checked in fresh processes, since the settings are process-wide:
with ``bound_heap`` a 1 MB array allocated after a 4 MB one was freed still gets a mapping of
its own (without it: from the heap, which the first test shows), and ``aidflow run`` leaves
Arrow on the system pool.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from sim.cli.heap import glibc

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import ctypes, sys
import numpy as np

class MallInfo2(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]

libc = ctypes.CDLL(None)
libc.mallinfo2.restype = MallInfo2
if sys.argv[1] == "bound":
    from sim.cli.heap import bound_heap
    assert bound_heap()
a = np.ones(4 * 2**20 // 8)  # 4 MB: above the first threshold, mapped
del a  # glibc's own rule: the threshold becomes 4 MB
mapped = libc.mallinfo2().hblkhd
b = np.ones(2**20 // 8)  # 1 MB
print(libc.mallinfo2().hblkhd - mapped >= 2**20)
"""


def probe(mode: str) -> str:
    out = subprocess.run(
        [sys.executable, "-c", PROBE, mode], cwd=ROOT, capture_output=True, text=True, check=True, timeout=60
    )
    return out.stdout.strip()


needs_glibc = pytest.mark.skipif(glibc() is None or not hasattr(glibc(), "mallinfo2"), reason="glibc >= 2.33 only")


@needs_glibc
def test_without_bound_heap_a_freed_block_raises_the_mmap_threshold() -> None:
    assert probe("default") == "False"  # the 1 MB array came from the heap


@needs_glibc
def test_bound_heap_keeps_blocks_above_the_threshold_mapped() -> None:
    assert probe("bound") == "True"


def test_aidflow_run_puts_arrow_on_the_system_pool(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "import pyarrow as pa\n"
        "from sim.cli import main\n"
        f"sys.argv = ['aidflow', 'run', 'tests/scenarios/tiny.yaml', '-n', '1', '-q', '--out', {str(tmp_path / 'r')!r}]\n"
        "try:\n"
        "    main()\n"
        "except SystemExit as e:\n"
        "    assert not e.code, e.code\n"
        "print(pa.default_memory_pool().backend_name)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "system"
