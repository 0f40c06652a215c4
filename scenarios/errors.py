"""The exception tree of aidflow, rooted at ``AidflowError`` (as networkx roots its own).

``ScenarioError`` carries every problem of a file at once; each ``Problem`` names the file,
line, column and field path, and its ``str`` is the line a planner reads::

    fpv.yaml:42:7 links[3].vehicles: must be > 0 (got 0)
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["AidflowError", "NetworkError", "Problem", "RunError", "ScenarioError", "format_path"]


class AidflowError(Exception):
    """Root of every error aidflow raises on purpose."""


def format_path(loc: tuple[str | int, ...]) -> str:
    """``("links", 3, "vehicles")`` -> ``links[3].vehicles``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


@dataclass(frozen=True)
class Problem:
    """One problem of a scenario file, at a position, about a field."""

    file: str
    line: int
    col: int
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.col}"
        return f"{where} {self.path}: {self.message}" if self.path else f"{where} {self.message}"


class ScenarioError(AidflowError):
    """A scenario file (or a strategy of it) is not valid; holds all its problems."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class NetworkError(AidflowError):
    """The supply graph cannot answer (no route, unknown node...)."""


class RunError(AidflowError):
    """A simulation run failed (event budget exhausted, invariant broken...)."""
