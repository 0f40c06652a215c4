"""Start-up cost of the command processes: keep pandas out, skip work a command never needs.

aidflow never uses pandas, but pyarrow imports it (about 0.8 s, a third of a tiny ``aidflow
run``) the first time it converts Python or numpy data: ``pa.array``, ``pa.scalar``,
``pa.table`` and ``import pyarrow.dataset`` all ask pyarrow's pandas shim, or its C++
conversion code, whether pandas is installed, and that question imports it. pyarrow works
without pandas (pandas is an optional dependency of pyarrow), so the processes aidflow owns
— the ``aidflow`` command and its local worker processes — make ``import pandas`` fail, and
pyarrow takes the path it takes when pandas is not installed. The data written is the same:
pandas only matters to pyarrow for pandas objects, and aidflow hands it numpy arrays and lists.

Other processes are left alone: a test or a notebook calling ``sim.cli.main`` in-process may
use pandas itself, so :func:`is_command_process` tells the command's own process from those.
Dask workers belong to Dask and are not touched either.

Two more savings of issue 19 (a tiny ``aidflow run`` within 1 s beyond the simulation), each
measured in ``benchmarks/README.md``:

- :func:`skip_pydantic_plugin_scan`: the first pydantic model of a process looks for pydantic
  plugins in the entry points of every installed distribution (``importlib.metadata``; about
  15-30 ms, more the more packages the environment holds). aidflow's command processes use
  none, so they set pydantic's own switch ``PYDANTIC_DISABLE_PLUGINS`` unless the user set it.
- :func:`only_invoked_command`: typer turns every registered command into a click command
  (signatures, parameter types) before it parses anything, about 20 ms for aidflow's twelve.
  When the first argument names a command, the app handed to typer holds that command alone:
  the same group, callback and options, so parsing, help, errors and exit codes of that
  command are those of the full app. Anything else (no command, an option, a misspelt
  command and its did-you-mean) goes to the full app.
- :func:`pause_gc` and :func:`resume_gc`: start-up allocates some 400,000 container objects
  (modules, classes, pydantic's schemas, the loaded scenario) and almost none of them is
  garbage, yet the cyclic collector runs dozens of young and several full collections over
  them (a full one over the grown heap costs ~0.1 s on the development machine), ~0.1-0.15 s
  of CPU in all. The command process pauses the collector from the import of ``sim.cli`` until
  the scenario is loaded and checked (``sim.cli.common.load_checked``), or until the command
  starts for commands that load no scenario (:func:`resume_gc_unless_loading`); it then moves
  every object alive at that point into the permanent generation (``gc.freeze``) and turns
  the collector on again, so the engine runs with the usual collector and its full
  collections do not walk the start-up objects. Refcounting frees everything else as usual
  during the pause; the few cycles made before it ends (~500 objects in a tiny run) stay.

- :func:`keep_cloudpickle_from_pyarrow`: ``import pyarrow`` tries ``import cloudpickle`` (~11
  ms) when it is installed (Dask installs it) and binds it as ``pickle`` in ``pyarrow.lib``,
  but two later ``import pickle`` lines of the same module rebind that name to the standard
  library's ``pickle``: pyarrow never uses cloudpickle. The command process refuses
  ``cloudpickle`` to imports made by pyarrow's own modules only; any other importer (Dask,
  distributed, a user's code) gets it as usual.

Example:
    >>> import sys
    >>> blocked = keep_pandas_out()  # True unless pandas is loaded already
    >>> release_pandas()
    >>> any(isinstance(f, _NoPandas) for f in sys.meta_path)
    False
"""

from __future__ import annotations

import copy
import gc
import os
import sys
from collections.abc import Sequence
from importlib.machinery import ModuleSpec
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import typer
    from typer.models import CommandInfo

__all__ = [
    "is_command_process",
    "keep_cloudpickle_from_pyarrow",
    "keep_pandas_out",
    "only_invoked_command",
    "pause_gc",
    "release_pandas",
    "resume_gc",
    "resume_gc_unless_loading",
    "skip_pydantic_plugin_scan",
]

PLUGINS_ENV = "PYDANTIC_DISABLE_PLUGINS"
"""pydantic's documented switch: ``__all__`` loads no plugin and skips the entry-point scan."""

_KEPT_OUT = "pandas"

LOADING_COMMANDS = frozenset({"run", "compare", "sweep", "validate"})
"""Commands whose first work is ``load_checked`` (it resumes the collector); others resume it on start."""

_gc_paused = False


class _NoPandas:
    """A ``sys.meta_path`` finder that makes every ``import pandas[.x]`` fail as if not installed."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None = None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        """Refuse pandas and its submodules; leave every other module to the next finders."""
        if fullname == _KEPT_OUT or fullname.startswith(_KEPT_OUT + "."):
            raise ModuleNotFoundError(
                f"No module named {fullname!r} (kept out of aidflow's command processes: aidflow does not use it, "
                "and importing it costs about a second of start-up)",
                name=fullname,
            )
        return None


class _NoCloudpickleForPyarrow:
    """A ``sys.meta_path`` finder that fails ``import cloudpickle`` when pyarrow's own code asks for it."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None = None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        """Refuse ``cloudpickle`` to an importer in the ``pyarrow`` package; leave all else to the next finders."""
        if fullname == "cloudpickle" and _importer() in ("pyarrow", "pyarrow.lib"):
            raise ModuleNotFoundError(
                "No module named 'cloudpickle' (not for pyarrow in aidflow's command process: "
                "pyarrow.lib rebinds the name to the standard pickle anyway)",
                name=fullname,
            )
        return None


def _importer() -> str | None:
    """The module whose code runs the import being resolved (the first frame outside importlib)."""
    frame = sys._getframe(2)  # _importer <- find_spec <- importlib's frames
    while frame is not None and frame.f_code.co_filename.startswith("<frozen importlib"):
        frame = frame.f_back  # type: ignore[assignment]
    return None if frame is None else frame.f_globals.get("__name__")


def keep_cloudpickle_from_pyarrow() -> bool:
    """Make pyarrow's own ``import cloudpickle`` fail in this process (pyarrow then takes ``pickle``).

    Returns:
        True if the refusal is in place now; False if pyarrow is loaded already (then nothing
        changes).
    """
    if "pyarrow" in sys.modules:
        return False
    if not any(isinstance(f, _NoCloudpickleForPyarrow) for f in sys.meta_path):
        sys.meta_path.insert(0, _NoCloudpickleForPyarrow())
    return True


def keep_pandas_out() -> bool:
    """Make ``import pandas`` fail in this process from now on, unless pandas is loaded already.

    Returns:
        True if imports of pandas now fail; False if pandas was already loaded (then nothing
        changes: pyarrow may already have noted it).
    """
    if _KEPT_OUT in sys.modules:
        return False
    if not any(isinstance(f, _NoPandas) for f in sys.meta_path):
        sys.meta_path.insert(0, _NoPandas())
    return True


def release_pandas() -> None:
    """Undo :func:`keep_pandas_out` (pyarrow keeps what it concluded in the meantime)."""
    sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, _NoPandas)]


def is_command_process() -> bool:
    """Whether this process was started as the ``aidflow`` command (the console script or ``python -m sim.cli``).

    In-process callers of ``sim.cli.main`` (tests, notebooks) are not: their ``__main__`` is
    their own program.
    """
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    if spec is not None and getattr(spec, "name", None) == "sim.cli":
        return True
    script = getattr(main, "__file__", None)
    return bool(script) and Path(str(script)).stem == "aidflow"


def skip_pydantic_plugin_scan() -> bool:
    """Spare pydantic its scan of every installed distribution for plugins (none is used here).

    Sets ``PYDANTIC_DISABLE_PLUGINS=__all__`` for this process and the workers it starts,
    unless the variable is set already (a user's own choice is kept).

    Returns:
        True if this call set the variable.
    """
    if PLUGINS_ENV in os.environ:
        return False
    os.environ[PLUGINS_ENV] = "__all__"
    return True


def command_name(info: CommandInfo) -> str:
    """The name a registered typer command is invoked by (typer's own rule when none is given)."""
    if info.name:
        return info.name
    callback = info.callback
    assert callback is not None, "a registered command without a name has a callback"
    return callback.__name__.lower().replace("_", "-")


def only_invoked_command(app: typer.Typer, args: Sequence[str]) -> typer.Typer:
    """``app`` with only the command that ``args`` invoke, or ``app`` itself when that is unclear.

    Args:
        app: the full application (never changed: a shallow copy is trimmed).
        args: the command-line arguments after the program name.

    Returns:
        A copy of ``app`` holding the one command named by ``args[0]`` (same callback, group
        settings and options), or ``app`` when ``args`` is empty, starts with an option, names
        no single registered command, or ``app`` has sub-groups.
    """
    if not args or args[0].startswith("-") or app.registered_groups:
        return app
    kept = [c for c in app.registered_commands if command_name(c) == args[0]]
    if len(kept) != 1:
        return app
    trimmed = copy.copy(app)
    trimmed.registered_commands = kept
    return trimmed


def pause_gc() -> bool:
    """Pause the cyclic garbage collector for the command process's start-up (imports, loading).

    Only in the ``aidflow`` command's own process (:func:`is_command_process`) and only if the
    collector is on; :func:`resume_gc` ends the pause.

    Returns:
        True if this call paused the collector.
    """
    global _gc_paused
    if _gc_paused or not gc.isenabled() or not is_command_process():
        return False
    gc.disable()
    _gc_paused = True
    return True


def resume_gc() -> bool:
    """End :func:`pause_gc`'s pause: freeze what start-up left alive, then turn the collector on.

    ``gc.freeze`` moves every tracked object into the permanent generation, so the first
    collections after the pause do not walk the whole start-up heap (it all sits in the
    youngest generation after a pause). A no-op when no pause is on.

    Returns:
        True if a pause ended here.
    """
    global _gc_paused
    if not _gc_paused:
        return False
    _gc_paused = False
    gc.freeze()
    gc.enable()
    return True


def resume_gc_unless_loading(args: Sequence[str]) -> bool:
    """End the start-up pause now unless ``args`` invoke a command that loads a scenario first.

    Those (:data:`LOADING_COMMANDS`) end it in ``load_checked``, after the scenario is loaded;
    any other command, option or misspelling ends it before typer parses anything.

    Returns:
        True if a pause ended here.
    """
    if args and args[0] in LOADING_COMMANDS:
        return False
    return resume_gc()
