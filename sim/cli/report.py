"""The ``report`` command: ``aidflow report RUN [--png DIR]`` writes ``RUN/report.html``.

Part of the CLI composition root. ``register(app)`` adds the command to the typer app of
``sim.cli``; plotly, matplotlib and pyarrow are imported only when the command runs. Errors of
the run directory (``results.store.StoreError``, an ``AidflowError``) reach ``sim.cli.main``,
which prints them without a traceback and exits 2.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

__all__ = ["register", "report"]


def report(
    run: Annotated[Path, typer.Argument(help="Run directory written by `aidflow run`.", show_default=False)],
    png: Annotated[
        Path | None,
        typer.Option("--png", help="Also write the main charts as PNG files into this folder (for briefings)."),
    ] = None,
) -> None:
    """Write RUN/report.html: a self-contained HTML report of a run that opens offline."""
    from results.report import build_report

    path = build_report(run, png_dir=png)
    typer.echo(f"report: {path} ({path.stat().st_size / 1e6:.1f} MB)")
    if png is not None:
        files = sorted(p.name for p in png.glob("*.png"))
        typer.echo(f"png: {png} ({', '.join(files)})")


def register(app: typer.Typer) -> None:
    """Add the ``report`` command to ``app``."""
    app.command("report")(report)
