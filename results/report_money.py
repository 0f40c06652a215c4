"""The report's money figure: a budget burn-down per donor.

For each donor of the primary strategy, two step lines over calendar dates: the budget
received so far (opening budget plus tranches, dashed) and the money committed net of
releases (``funds_committed − funds_released``, solid; after a requirement's last contract
that is its contracts plus fees), each the mean over replications
(``results.report_data.Detail.budget``, from ``results.costs.donor_budget_series``). The gap
between them is what the donor has left.

Example:
    >>> burn_down_from({}, [], "") is None
    True
"""

from __future__ import annotations

from typing import Any

import numpy as np

from results.report_charts import AXIS, PALETTE, esc, layout_base, nums
from results.report_data import RunData

__all__ = ["budget_burn_down", "burn_down_from"]


def budget_burn_down(data: RunData) -> dict[str, Any] | None:
    """The burn-down figure of the run's primary strategy, or None without donors."""
    sc = data.resolved[data.primary]
    unlimited = {n.id for n in sc.nodes if getattr(n, "budget_eur", None) == "unlimited"}
    return burn_down_from(data.detail.budget, data.dates(data.day_edges), data.primary, unlimited)


def burn_down_from(
    budget: dict[str, np.ndarray], dates: list[str], strategy: str, unlimited: set[str] | frozenset[str] = frozenset()
) -> dict[str, Any] | None:
    """Figure of ``budget`` (donor -> replications x 2 x dates: received, committed net) over ``dates``.

    A donor in ``unlimited`` (a state budget without limit) has no budget line.
    """
    if not budget:
        return None
    traces: list[dict[str, Any]] = []
    for k, (donor, arr) in enumerate(budget.items()):
        colour = PALETTE[k % len(PALETTE)]
        mean = arr.mean(axis=0)
        name = esc(donor)
        for row, label, dash in ((0, "budget + tranches", "dash"), (1, "committed − released", "solid")):
            if row == 0 and donor in unlimited:
                continue
            traces.append(
                {
                    "type": "scatter",
                    "mode": "lines",
                    "x": dates,
                    "y": nums(mean[row], 2),
                    "line": {"shape": "hv", "dash": dash, "color": colour, "width": 2 if row else 1.5},
                    "name": f"{name}: {label}",
                    "legendgroup": name,
                    "hovertemplate": f"{name}<br>{label}<br>%{{x}}<br>EUR %{{y:,.0f}}<extra></extra>",
                }
            )
    layout = layout_base(380, title={"text": esc(f"Budget burn-down per donor ({strategy}, mean over replications)")})
    layout["xaxis"] = {**AXIS, "type": "date"}
    layout["yaxis"] = {**AXIS, "title": {"text": "EUR"}}
    return {"data": traces, "layout": layout}
