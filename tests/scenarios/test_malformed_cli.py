"""The malformed corpus through ``aidflow validate``: exit 2, file:line on stderr, no traceback.

Every corpus file goes through ``sim.cli.main`` in this process (the console script's entry,
with its exit code and stderr); a real ``python -m sim.cli validate`` process checks the
contract end to end for one malformed file and for the valid ``tiny.yaml`` (exit 0). A process
per file cost about 0.5-1 s of imports each and proved nothing more: ``main`` is what the
process runs, and an exception escaping it is the traceback a process would print.
"""

from __future__ import annotations

import subprocess
import sys
import traceback
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


def _validate_process(path: Path) -> tuple[int, str, str]:
    proc = subprocess.run(
        [sys.executable, "-m", "sim.cli", "validate", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        check=False,
    )
    return proc.returncode, proc.stdout, proc.stderr


def _validate_in_process(
    path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str, str]:
    """``aidflow validate PATH`` through ``sim.cli.main``: (exit code, stdout, stderr)."""
    from sim.cli import main

    capsys.readouterr()
    monkeypatch.setattr(sys, "argv", ["aidflow", "validate", str(path)])
    code: Any = 0
    escaped = ""
    try:
        main()
    except SystemExit as exc:
        code = exc.code
    except BaseException:  # an escaping exception is the traceback a process would print
        escaped = traceback.format_exc()
        code = 1
    captured = capsys.readouterr()
    return (0 if code is None else int(code)), captured.out, captured.err + escaped


def _why(case: Any, code: int, out: str, err: str) -> list[str]:
    why = []
    if code != 2:
        why.append(f"exit {code}")
    if "Traceback" in out + err:
        why.append("traceback")
    if f"{case.file}:{case.line}:" not in err:
        why.append(f"no {case.file}:{case.line}: on stderr")
    if case.path and case.path not in err:
        why.append(f"no {case.path} on stderr")
    return why


def test_cli_refuses_every_corpus_file(
    corpus: list[tuple[Any, Path]], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(ROOT)
    failures = []
    for case, path in corpus:
        code, out, err = _validate_in_process(path, monkeypatch, capsys)
        if why := _why(case, code, out, err):
            failures.append(f"{case.file}: {', '.join(why)}\n{err[-2000:]}")
    assert not failures, "\n".join(failures)
    code, out, err = _validate_in_process(HERE / "tiny.yaml", monkeypatch, capsys)
    assert code == 0, err


def test_cli_process_refuses_a_corpus_file_and_accepts_tiny(corpus: list[tuple[Any, Path]]) -> None:
    case, path = next((c, p) for c, p in corpus if c.file == "duplicate_id.yaml")
    code, out, err = _validate_process(path)
    assert not _why(case, code, out, err), err
    code, out, err = _validate_process(HERE / "tiny.yaml")
    assert code == 0, err
