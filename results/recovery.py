"""Recovery time after a closure, from the event log: how fast throughput to the units comes back.

Definition (``recovery_days``). Let ``y[d]`` be the units delivered to units on day ``d``
(``delivered`` rows with ``d <= t < d + 1``, every item), ``s`` the first whole day of the
closure (its start, rounded down) and ``e`` its end. The *level* ``L`` is the mean of ``y``
over the ``before_days`` (28) days before ``s`` (fewer if the run starts later). The weekly
throughput from day ``d`` is ``m[d] = mean(y[d .. d + 6])`` (``window_days`` = 7: the forward
week, so a weekly convoy's burst counts once). Throughput has *dropped* on the first day
``a`` in ``[s, e]`` with ``m[a] < (1 - tolerance) L`` (tolerance 10%); it has *recovered* on the
first day ``r >= a`` on which something is delivered (``y[r] > 0``) and ``m[r] >= (1 - tolerance)
L`` (without the first condition a catch-up burst would count a silent day as recovered). Then

    recovery_days = r - s

(0 when it never drops during the closure; ``inf`` when it has not recovered by the last
whole week of the run; NaN when nothing was delivered before the closure, so there is no level
to recover to). Catching up above the level counts as recovered: a planner's question is when
the units are supplied as before, not when the backlog is gone.

``recovery`` applies it to every part of a run directory with the part's ``lots_rerouted``
(routing ``on_departure``); ``python -m results.recovery RUN DISRUPTION`` prints the means with
95% Student-t CIs over replications, per strategy.

Example:
    >>> import pyarrow as pa
    >>> rows = [(d + 0.5, 10) for d in range(28)] + [(d + 0.5, 10) for d in range(33, 60)]
    >>> t = pa.table({"t": [r[0] for r in rows], "kind": ["delivered"] * len(rows),
    ...               "qty": [r[1] for r in rows]})
    >>> recovery_days(t, closure_start_day=28, closure_end_day=33, horizon_days=60)
    5.0
"""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

if TYPE_CHECKING:
    from scenarios.schema import Scenario

__all__ = ["closure_window", "daily_delivered", "recovery", "recovery_days"]


def daily_delivered(table: pa.Table, horizon_days: float) -> np.ndarray:
    """Units delivered on each whole day ``0 .. ceil(horizon_days) - 1`` (every item, every unit)."""
    n = max(1, math.ceil(horizon_days))
    rows = table.filter(pc.equal(table.column("kind").cast(pa.string()), "delivered"))
    t = np.asarray(rows.column("t").to_numpy(zero_copy_only=False), dtype=np.float64)
    q = np.asarray(rows.column("qty").fill_null(0).to_numpy(zero_copy_only=False), dtype=np.float64)
    day = np.clip(np.floor(t).astype(np.int64), 0, n - 1)
    return np.bincount(day, weights=q, minlength=n)[:n]


def recovery_days(
    table: pa.Table,
    closure_start_day: float,
    closure_end_day: float,
    horizon_days: float,
    *,
    before_days: int = 28,
    window_days: int = 7,
    tolerance: float = 0.10,
) -> float:
    """Days from a closure's start until weekly throughput is back within ``tolerance`` of its level.

    See the module docstring for the definition. ``table`` is one replication's event table
    (columns ``t``, ``kind``, ``qty`` at least).
    """
    y = daily_delivered(table, horizon_days)
    s = math.floor(closure_start_day)
    before = y[max(0, s - before_days) : s]
    level = float(before.mean()) if len(before) else 0.0
    if level <= 0:
        return math.nan
    last = len(y) - window_days  # the last day with a whole week after it
    if last < s:
        return math.inf
    week = np.convolve(y, np.ones(window_days), "valid")[: last + 1] / window_days  # week[d] = mean y[d..d+6]
    low = week < (1 - tolerance) * level
    end = min(last, math.floor(closure_end_day))
    dropped = np.flatnonzero(low[s : end + 1])
    if not len(dropped):
        return 0.0
    a = s + int(dropped[0])
    back = np.flatnonzero(~low[a:] & (y[a : last + 1] > 0))
    return float(a + int(back[0]) - s) if len(back) else math.inf


def closure_window(scenario: Scenario, disruption_id: str) -> tuple[float, float]:
    """Start and end day of the scheduled disruption ``disruption_id`` of ``scenario``."""
    for d in scenario.disruptions:
        if d.id == disruption_id and d.kind == "scheduled":
            start = float((d.start - scenario.start).days)
            return start, start + float(d.duration_days)
    known = ", ".join(d.id for d in scenario.disruptions if d.kind == "scheduled") or "none"
    raise ValueError(f"no scheduled disruption {disruption_id!r} (scheduled ones: {known})")


def recovery(run_dir: str | Path, disruption_id: str, **kw: Any) -> dict[str, list[tuple[float, int]]]:
    """Per strategy of a run directory: ``(recovery_days, lots_rerouted)`` of each replication."""
    from results.store.layout import SCENARIO_FILE
    from results.store.reading import read_events
    from results.store.run_store import read_manifest
    from scenarios.load import load

    root = Path(run_dir)
    manifest = read_manifest(root)
    scenario = load(root / SCENARIO_FILE)
    names = {x.name for x in scenario.strategies}
    out: dict[str, list[tuple[float, int]]] = {}
    for p in manifest.get("parts", []):
        strategy, rep = p["strategy"], int(p["replication"])
        resolved = scenario.with_strategy(strategy) if strategy in names else scenario
        start, end = closure_window(resolved, disruption_id)
        horizon = float(p.get("horizon_days") or resolved.horizon_days)
        days = recovery_days(read_events(root, strategy, rep), start, end, horizon, **kw)
        out.setdefault(strategy, []).append((days, int((p.get("counters") or {}).get("lots_rerouted", 0))))
    return out


def main(argv: list[str]) -> int:
    """``python -m results.recovery RUN DISRUPTION``: recovery days and lots rerouted, mean and 95% CI."""
    from results.stats import t_interval

    if len(argv) != 2:
        print("usage: python -m results.recovery RUN_DIR DISRUPTION_ID", file=sys.stderr)
        return 2
    for strategy, reps in recovery(argv[0], argv[1]).items():
        for k, name in ((0, "recovery_days"), (1, "lots_rerouted")):
            values = [float(r[k]) for r in reps]
            if all(math.isfinite(v) for v in values):
                mean, low, high = t_interval(values)
                print(f"{strategy}\t{name}\t{mean:.2f}\t[{low:.2f}, {high:.2f}]\tn={len(values)}")
            else:
                print(f"{strategy}\t{name}\t{values}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main(sys.argv[1:]))
