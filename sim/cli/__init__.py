"""The ``aidflow`` command line: the composition root, the only code that imports both the engine and ``results``.

Modules:
    application: the typer app, its registration of every command group, and ``main`` (exit codes).
    common: what the commands share (consoles, table width, bad input, loading a checked scenario).
    scenario: ``validate``, ``schema``, ``graph``.
    experiments: ``run``, ``compare``, ``sweep``; carried out by ``execute`` (parts, resume, live KPIs),
        with ``compare`` (rankings, sweeps' tables), ``headline`` (per-item answers) and ``tables``.
    bottlenecks: ``bottlenecks`` (ranking, shifts, response, bound).
    audit: ``state``, ``trace`` (printed by ``trace``), ``export``, ``sql``.
    report: ``report``.

Nothing else imports this package (import-linter's layered contract, pyproject.toml).
"""

from __future__ import annotations

from sim.startup import pause_gc

pause_gc()  # no cyclic garbage collection during start-up, in the command's process only: sim/startup.py

from sim.cli.application import app, main  # noqa: E402

__all__ = ["app", "main"]
