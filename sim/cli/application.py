"""The ``aidflow`` command line (typer): the composition root, the one module importing all.

Exit codes: 0 ok, 1 the run failed, 2 bad input (a malformed scenario, a bad argument, a
missing file) — bad input never prints a traceback. Progress goes to stderr (rich), results to
stdout. Heavy libraries (pyarrow, duckdb, plotly) are imported inside the commands that use
them, so ``aidflow --help`` and ``aidflow validate`` start fast.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Annotated

import typer

from scenarios.errors import AidflowError, ScenarioError

if TYPE_CHECKING:
    pass
from sim.cli.common import err, out, table_width

__all__ = ["app", "main"]

app = typer.Typer(
    name="aidflow",
    help="Event-sourced simulation of military-aid delivery flows: validate, run, compare, explain.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},  # every command inherits -h
    rich_markup_mode=None,  # click's help: wraps at the terminal's width, never cuts an option name
)


def _print_version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            text = version("aidflow")
        except PackageNotFoundError:  # pragma: no cover - a checkout that was never installed
            text = "unknown (not installed)"
        sys.stdout.write(f"aidflow {text}\n")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", "-V", help="Print the version and exit.", callback=_print_version, is_eager=True),
    ] = False,
) -> None:
    """Event-sourced simulation of military-aid delivery flows: validate, run, compare, explain."""


# --------------------------------------------------------------------------- the commands


def _register_commands() -> None:
    from sim.cli import audit, bottlenecks, experiments, report, scenario

    scenario.register(app)
    experiments.register(app)
    report.register(app)
    bottlenecks.register(app)
    audit.register(app)


_register_commands()

# --------------------------------------------------------------------------- entry point


def _click_exceptions() -> tuple[type[BaseException], ...]:
    """Click's usage-error base class, wherever typer takes click from (it may bundle its own)."""
    found: list[type[BaseException]] = [c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException"]
    try:
        import click

        found.append(click.ClickException)
    except ImportError:  # pragma: no cover - typer without a separate click
        pass
    return tuple(found)


def main() -> None:
    """Console-script entry: run the app and exit with the contract's code, without tracebacks.

    Exit codes: 0 ok, 1 the run failed (a deadlock, a model failure, an exhausted event budget,
    an error inside a replication), 2 bad input or usage, 130 interrupted (Ctrl-C). ``app``
    runs with ``standalone_mode=False``, so click returns the code of a ``typer.Exit`` instead
    of exiting: it is passed on here.
    """
    from sim.startup import (
        is_command_process,
        keep_cloudpickle_from_pyarrow,
        keep_pandas_out,
        only_invoked_command,
        resume_gc_unless_loading,
        skip_pydantic_plugin_scan,
    )
    from sim.stops import RunFailed, RunInterrupted

    if is_command_process():
        keep_pandas_out()  # pyarrow would import it (~0.8 s) and aidflow never uses it: sim/startup.py
        skip_pydantic_plugin_scan()  # no pydantic plugin is used: no scan of every installed package
        keep_cloudpickle_from_pyarrow()  # pyarrow imports it (~11 ms) and never uses it: sim/startup.py
    resume_gc_unless_loading(sys.argv[1:])  # run, compare, sweep, validate: once loaded (load_checked)
    out.width = table_width()
    try:
        code = only_invoked_command(app, sys.argv[1:])(standalone_mode=False)  # typer builds one command, not 12
    except ScenarioError as exc:
        for p in exc.problems:
            err.print(str(p), markup=False)
        n = len(exc.problems)
        err.print(f"{n} problem{'s' if n != 1 else ''}; nothing was run.", markup=False)
        sys.exit(2)
    except RunInterrupted as exc:
        err.print(str(exc), markup=False)  # one line, naming the --resume command
        sys.exit(exc.exit_code)
    except RunFailed as exc:
        if os.environ.get("AIDFLOW_DEBUG"):
            raise
        err.print(f"run failed: {exc} (set AIDFLOW_DEBUG=1 for the traceback)", markup=False)
        sys.exit(exc.exit_code)
    except AidflowError as exc:
        err.print(f"error: {exc}", markup=False)
        sys.exit(2)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):  # click turns Ctrl-C outside a run into Abort
        err.print("interrupted", markup=False)
        sys.exit(130)
    except Exception as exc:  # click usage errors and the unexpected
        if isinstance(exc, _click_exceptions()):
            exc.show(file=sys.stderr)  # type: ignore[attr-defined]
            sys.exit(max(2, int(exc.exit_code)))  # type: ignore[attr-defined]  # usage or input: 2
        if os.environ.get("AIDFLOW_DEBUG"):
            raise
        err.print(f"internal error: {type(exc).__name__}: {exc} (set AIDFLOW_DEBUG=1 for the traceback)", markup=False)
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)
