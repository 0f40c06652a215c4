"""How a KPI's numbers print: counts whole, fractions as %, money in € with separators, days to 0.1.

The kind of a KPI comes from its name (``results.stats.kpi_domain``). Every table of the CLI
(``run``'s summary, ``compare``, ``sweep``) formats through here, so one KPI reads the same
everywhere. A difference of two fractions prints in percentage points (``pp``).

Example:
    >>> value("otif", 0.973), value("units_delivered", 1318.0), value("total_cost_eur", 575670.0)
    ('97.3%', '1,318', '€575,670')
    >>> interval("lead_time_p50_days", 0.0, 78.46), interval("otif", -0.012, 0.034, difference=True)
    ('[0.0, 78.5]', '[-1.2, +3.4] pp')
"""

from __future__ import annotations

import math

from results.stats import COUNT, DAYS, FRACTION, MONEY, kpi_domain

__all__ = ["CLIPPED_MARK", "WILSON_MARK", "ci_note", "interval", "value"]

CLIPPED_MARK = "*"
"""Follows an interval that was clipped to the KPI's range."""
WILSON_MARK = "†"
"""Follows a Wilson interval (a share of replications)."""


def _number(x: float, decimals: int, signed: bool) -> str:
    x = round(x, decimals) + 0.0  # no "-0"
    return f"{x:+,.{decimals}f}" if signed and x != 0 else f"{x:,.{decimals}f}"  # zero has no sign


def value(
    kpi: str, x: float | None, *, difference: bool = False, signed: bool | None = None, scale: float | None = None
) -> str:
    """``x`` as ``kpi`` prints; empty for None or NaN.

    Args:
        kpi: KPI name; decides the kind (``results.stats.kpi_domain``).
        x: the number.
        difference: ``x`` is a difference of two values of ``kpi`` (signed; fractions in pp).
        signed: force a sign (default: only for differences).
        scale: the magnitude that decides money's cents (default ``|x|``): cents only below
            €100, and not for zero, so both bounds of an interval print alike.
    """
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return ""
    sign = difference if signed is None else signed
    kind = kpi_domain(kpi).kind
    if kind == FRACTION:
        text = _number(100 * x, 1, sign)
        return f"{text} pp" if difference else f"{text}%"
    if kind == COUNT:
        return _number(x, 0, sign)
    if kind == DAYS:
        return _number(x, 1, sign)
    if kind == MONEY:
        ref = abs(x) if scale is None else abs(scale)
        text = _number(x, 2 if 0 < ref < 100 else 0, sign)
        if text[0] in "+-":
            return f"{text[0]}€{text[1:]}"
        return f"€{text}"
    if math.isinf(x):
        return "∞" if x > 0 else "-∞"
    return _number(x, 2 if abs(x) < 1e6 else 0, sign)


def interval(
    kpi: str,
    low: float | None,
    high: float | None,
    *,
    difference: bool = False,
    method: str = "",
    clipped: bool = False,
) -> str:
    """``[low, high]`` as ``kpi`` prints, with ``*`` if clipped and ``†`` if Wilson; empty if none."""
    if low is None or high is None or math.isnan(low) or math.isnan(high):
        return ""
    ref = max(abs(low), abs(high))
    lo, hi = (value(kpi, x, difference=difference, scale=ref) for x in (low, high))
    unit = " pp" if lo.endswith(" pp") else ""  # once, after the bracket: "[-1.2, +3.4] pp"
    text = f"[{lo.removesuffix(unit)}, {hi.removesuffix(unit)}]{unit}"
    if method == "wilson":
        text += WILSON_MARK
    if clipped:
        text += CLIPPED_MARK
    return text


def ci_note(clipped: bool, wilson: bool) -> list[str]:
    """Footnotes for the marks used in a table (none when no mark was used)."""
    notes = []
    if clipped:
        notes.append(
            f"{CLIPPED_MARK} interval clipped to the KPI's range "
            "(shares 0-100%, differences of shares ±100 pp, counts, days and money >= 0)"
        )
    if wilson:
        notes.append(f"{WILSON_MARK} Wilson interval: every replication was 0% or 100%, a share of replications")
    return notes
