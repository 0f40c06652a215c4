"""Rich tables of the CLI that reflow to the terminal instead of cutting values.

Rich shrinks a table that is wider than the console and, by default, cuts a cell that no
longer fits with ``…`` (``98.…``, ``[-1.48…``). ``Reflow`` never does: a table that fits is
printed as built; one that does not is replaced by its stacked form when it has one (a header
line per KPI, the rows under it: fewer, narrower columns), in a box without inner rules
(``box.SIMPLE_HEAD``), and every column wraps at spaces or folds a long word onto the next
line, so every character of every value is still printed. ``ci_caption`` adds the footnotes
of the interval marks (``results.fmt``).
"""

from __future__ import annotations

from typing import Any

from rich import box
from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.table import Table

from results.fmt import ci_note

__all__ = ["Reflow", "ci_caption", "marks"]


class Reflow:
    """A table printed as built when it fits the console, else stacked and folded, never cut."""

    def __init__(self, table: Table, stacked: Table | None = None) -> None:
        """Wrap ``table`` and, optionally, its ``stacked`` form for narrow consoles.

        Columns fold instead of cutting; a ``no_wrap`` column (a name, a number) is not
        shrunk while another can wrap, and folds only when nothing else is left to give.
        """
        for t in (table, stacked):
            for column in t.columns if t is not None else ():
                column.overflow = "fold"
        self.table = table
        self.stacked = stacked

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        """Yield the table that fits ``options.max_width`` best."""
        if _width(console, options, self.table) <= options.max_width:
            yield self.table
            return
        table = self.stacked if self.stacked is not None else self.table
        if table.box is not None:
            table.box = box.SIMPLE_HEAD
            table.show_edge = False
        _fit(console, options, table)
        yield table


def _width(console: Console, options: ConsoleOptions, renderable: Any) -> int:
    return Measurement.get(console, options.update(width=10_000), renderable).maximum


def _fit(console: Console, options: ConsoleOptions, table: Table) -> None:
    """Give ``table``'s columns widths that fit ``options.max_width`` (rich's own shrinking
    may squeeze a name and leave slack elsewhere, or crop the last column).

    A ``no_wrap`` column keeps its widest cell; the others share the rest, each at least its
    longest word, the slack going to those that need it most. When even that does not fit,
    every column may fold and rich shares the width.
    """
    columns = table.columns
    widest = [
        max([_width(console, options, c.header), *(_width(console, options, x) for x in c.cells)]) for c in columns
    ]
    overhead = _width(console, options, table) - sum(widest)
    room = options.max_width - overhead
    if sum(widest) <= room:
        return
    words = [max([_longest_word(str(c.header)), *(_longest_word(str(x)) for x in c.cells)]) for c in columns]
    need = [w if c.no_wrap else min(w, words[i]) for i, (c, w) in enumerate(zip(columns, widest, strict=True))]
    if sum(need) > room:
        for c in columns:
            c.no_wrap = False
        return
    widths = list(need)
    spare = room - sum(widths)
    while spare > 0:  # one column at a time: the one missing most of its natural width
        gaps = [widest[i] - widths[i] for i in range(len(columns))]
        i = max(range(len(columns)), key=lambda k: gaps[k])
        if gaps[i] <= 0:
            break
        step = min(spare, gaps[i], max(1, spare // len(columns)))
        widths[i] += step
        spare -= step
    for c, w in zip(columns, widths, strict=True):
        c.width = w


def _longest_word(text: str) -> int:
    return max((len(w) for w in text.split()), default=0)


def ci_caption(tables: list[Table], clipped: bool, wilson: bool) -> None:
    """Set each table's caption to the footnotes of the interval marks used (if any)."""
    notes = ci_note(clipped, wilson)
    for table in tables if notes else []:
        table.caption = "\n".join(notes)
        table.caption_justify = "left"


def marks(row: dict[str, Any]) -> dict[str, Any]:
    """``results.fmt.interval``'s ``method`` and ``clipped`` from a ``summarise`` row."""
    return {"method": row.get("ci_method") or "", "clipped": bool(row.get("ci_clipped"))}
