"""Start-up cost of the command processes: keep pandas out of them.

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

Example:
    >>> import sys
    >>> blocked = keep_pandas_out()  # True unless pandas is loaded already
    >>> release_pandas()
    >>> any(isinstance(f, _NoPandas) for f in sys.meta_path)
    False
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from importlib.machinery import ModuleSpec
from pathlib import Path
from types import ModuleType

__all__ = ["is_command_process", "keep_pandas_out", "release_pandas"]

_KEPT_OUT = "pandas"


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
