"""The malformed corpus through ``aidflow validate``: exit 2, file:line on stderr, no traceback.

Each file runs in its own ``python -m sim.cli validate FILE`` process (about 0.4 s each), four
at a time; the valid ``tiny.yaml`` runs alongside and must exit 0.
"""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


def _validate(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sim.cli", "validate", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        check=False,
    )


def test_cli_refuses_every_corpus_file(corpus: list[tuple[Any, Path]]) -> None:
    paths = [path for _, path in corpus] + [HERE / "tiny.yaml"]
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(_validate, paths))

    *refused, valid = results
    assert valid.returncode == 0, valid.stderr
    failures = []
    for (case, _), proc in zip(corpus, refused, strict=True):
        both = proc.stdout + proc.stderr
        why = []
        if proc.returncode != 2:
            why.append(f"exit {proc.returncode}")
        if "Traceback" in both:
            why.append("traceback")
        if f"{case.file}:{case.line}:" not in proc.stderr:
            why.append(f"no {case.file}:{case.line}: on stderr")
        if case.path and case.path not in proc.stderr:
            why.append(f"no {case.path} on stderr")
        if why:
            failures.append(f"{case.file}: {', '.join(why)}\n{proc.stderr[-2000:]}")
    assert not failures, "\n".join(failures)
