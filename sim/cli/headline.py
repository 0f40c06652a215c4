"""What ``run``, ``compare`` and ``sweep`` print first: the scenario's question and each item's answer.

``success_block`` prints "met in k of n replications (p, 95% Wilson CI)" for each ``success``
criterion of the scenario (``results.success``); ``item_table`` prints one row per item (and
strategy or sweep point) in calendar dates: units delivered of units required, the last
delivery date, the on-time share (``results.headline``). ``--item`` keeps the items named.
Each row is one item in its own units: items are never added up.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from results.headline import ItemHeadline, cells, item_headline
from scenarios.errors import AidflowError
from scenarios.refs import did_you_mean
from scenarios.schema import Scenario
from sim.cli.tables import Reflow, ci_caption

__all__ = ["BadItem", "answer", "answer_json", "check_items", "item_rows", "item_table", "print_answer"]


class BadItem(AidflowError):
    """An ``--item`` that the scenario does not have."""


def check_items(scenario: Scenario, path: Path, items: list[str] | None) -> list[str] | None:
    """``--item`` values checked against the scenario's items (None: every item).

    Raises:
        BadItem: an unknown item (exit 2), with the closest item id as a hint.
    """
    if not items:
        return None
    known = [it.id for it in scenario.items]
    for item in items:
        if item not in known:
            raise BadItem(f"--item: no item {item!r} in {path}{did_you_mean(item, known)} (items: {', '.join(known)})")
    return list(dict.fromkeys(items))


def item_rows(
    kpis: Any, scenario: Scenario, items: list[str] | None, strategies: Iterable[str] | None = None
) -> list[ItemHeadline]:
    """The per-item headline rows of a run's KPI table (``results.headline.item_headline``)."""
    return item_headline(kpis, scenario, items, strategies)


def item_table(
    rows: list[ItemHeadline], title: str, group: str | None = "strategy", labels: dict[str, str] | None = None
) -> Reflow:
    """Per-item rows: item first, then the strategy (or sweep point) when ``group`` is given.

    Args:
        rows: ``item_rows`` of the run.
        title: The table's title.
        group: Header of the second column (``strategy``, ``point``); None leaves it out.
        labels: Strategy label -> text shown in the group column (default: the label).
    """
    labels = labels or {}
    first = {item: k for k, item in reversed(list(enumerate(r.item for r in rows)))}
    rows = sorted(rows, key=lambda r: first[r.item])  # stable: by item, strategies (points) in their order
    lead = [group] if group else []
    heads = (
        "item",
        *lead,
        "units delivered",
        "of required",
        "95% CI",
        "last delivery",
        "95% CI ",
        "on time",
        "95% CI  ",
        "n",
    )
    table = Table(*heads, title=title)
    stacked = Table(f"item / {group} / measure" if group else "item / measure", "value", "95% CI", "n", title=title)
    for t in (table, stacked):
        for c in t.columns:
            c.no_wrap = c.header in ("item", group, "n", "units delivered", "of required", "last delivery", "value")
            c.justify = "left" if c.header in ("item", group) or str(c.header).startswith("item /") else "right"
    last_item = None
    for r in rows:
        x = cells(r)
        units, required, units_ci = x["units"], x["required"], x["units_ci"]
        date, date_ci, on_time, on_time_ci = x["last"], x["last_ci"], x["on_time"], x["on_time_ci"]
        g = [labels.get(r.strategy, r.strategy)] if group else []
        table.add_row(r.item, *g, units, required, units_ci, date, date_ci, on_time, on_time_ci, str(r.n))
        if last_item != r.item:
            stacked.add_row(r.item, "", "", "")
            last_item = r.item
        pad = "  "
        if group:
            stacked.add_row(f"  {g[0]}", "", "", "")
            pad = "    "
        stacked.add_row(f"{pad}units delivered", f"{units} of {required}", units_ci, str(r.n))
        stacked.add_row(f"{pad}last delivery", date, date_ci, "")
        stacked.add_row(f"{pad}on time", on_time, on_time_ci, "")
    wilson = any(r.on_time_share.method == "wilson" for r in rows)
    clipped = any(x.clipped for r in rows for x in (r.delivered_units, r.on_time_share, r.last_delivery_day))
    ci_caption([table, stacked], clipped, wilson)
    note = "last delivery: mean date over the replications that delivered the item, 95% CI as dates"
    for t in (table, stacked):
        t.caption = f"{t.caption}\n{note}" if t.caption else note
        t.caption_justify = "left"
    return Reflow(table, stacked)


def answer(
    run_dir: Path, scenario: Scenario, kpis: Any, strategies: list[str], items: list[str] | None
) -> tuple[list[Any], list[ItemHeadline]]:
    """The success criteria's results and the per-item rows of a run, for printing or JSON."""
    from results.success import evaluate_run

    return evaluate_run(run_dir, scenario, kpis, strategies), item_rows(kpis, scenario, items, strategies)


def answer_json(success: list[Any], rows: list[ItemHeadline]) -> dict[str, Any]:
    """``answer`` as JSON-ready keys: ``success`` and ``items``."""
    return {"success": [r.as_row() for r in success], "items": [r.as_row() for r in rows]}


def print_answer(
    out: Console,
    success: list[Any],
    rows: list[ItemHeadline],
    title: str,
    group: str | None = "strategy",
    labels: dict[str, str] | None = None,
) -> None:
    """Print the success criteria ("met in k of n replications") and then the per-item table."""
    from results.success import success_lines

    if success:
        out.print("The scenario's question (success criteria):", markup=False)
        for line in success_lines(success, several=group == "strategy" and len({r.strategy for r in success}) > 1):
            out.print(f"  {line}", markup=False)
    if rows:
        out.print(item_table(rows, title, group, labels))
