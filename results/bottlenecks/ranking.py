"""Resources ranked across replications: mean bottleneck share (sole + shifting), then utilisation."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import pyarrow as pa

from results.bottlenecks.stats import MIN_SHARE, Analysis, ResourceStats, nan_mean, rank_key, top_index

__all__ = ["RankRow", "diverted_means", "rank", "ranking_table"]


@dataclass(frozen=True)
class RankRow:
    """One resource's place in the ranking, averaged over replications.

    ``top_in`` counts the replications in which it ranked first; ``n`` the replications.
    Means skip NaN values.
    """

    rank: int
    resource: str
    kind: str
    id: str
    item: str | None
    capacity: float
    unit: str
    utilisation: float
    queue_mean: float
    wait_mean_days: float
    lead_time_share: float
    active_share: float
    sole_share: float
    shifting_share: float
    bottleneck_share: float
    top_in: int
    n: int

    def as_dict(self) -> dict[str, Any]:
        """Plain dict (NaN -> None) for JSON and tables."""
        return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in asdict(self).items()}


def rank(analyses: Sequence[Analysis], min_share: float = MIN_SHARE) -> list[RankRow]:
    """Resources ranked by mean bottleneck share (sole + shifting), then mean utilisation.

    A share below ``min_share`` counts as 0: a resource that is a bottleneck for moments only
    (less than 1% of the time by default) ranks among those never a bottleneck, by
    utilisation; the shares themselves are reported unchanged.

    Args:
        analyses: Analyses of replications of one scenario variant (same resources).
        min_share: See above.

    Returns:
        One row per resource, best first (rank 1 binds most).
    """
    if not analyses:
        return []
    first = analyses[0]
    top_count: dict[str, int] = {}
    for a in analyses:
        best = top_index(a.stats, min_share)
        if best is not None:
            name = a.stats[best].resource.name
            top_count[name] = top_count.get(name, 0) + 1
    rows = []
    for k, s in enumerate(first.stats):
        per = [a.stats[k] for a in analyses]
        mean = ResourceStats(
            s.resource,
            nan_mean(x.utilisation for x in per),
            nan_mean(x.queue_mean for x in per),
            nan_mean(x.wait_mean_days for x in per),
            nan_mean(x.lead_time_share for x in per),
            nan_mean(x.active_share for x in per),
            nan_mean(x.sole_share for x in per),
            nan_mean(x.shifting_share for x in per),
        )
        rows.append((mean, k))
    rows.sort(key=lambda mk: rank_key(mk[0], mk[1], min_share))
    out = []
    for i, (m, _) in enumerate(rows, 1):
        r = m.resource
        out.append(
            RankRow(
                i,
                r.name,
                r.kind,
                r.id,
                r.item,
                r.capacity,
                r.unit,
                m.utilisation,
                m.queue_mean,
                m.wait_mean_days,
                m.lead_time_share,
                m.active_share,
                m.sole_share,
                m.shifting_share,
                m.bottleneck_share,
                top_count.get(r.name, 0),
                len(analyses),
            )
        )
    return out


def ranking_table(rows: Sequence[RankRow]) -> pa.Table:
    """The ranking as an Arrow table (one row per resource, ``RankRow`` fields as columns)."""
    cols = [f for f in RankRow.__dataclass_fields__]
    data = [r.as_dict() for r in rows]
    return pa.table({c: [d[c] for d in data] for c in cols}) if data else pa.table({c: [] for c in cols})


def diverted_means(analyses: Sequence[Analysis]) -> dict[str, float]:
    """Lots diverted per replication (mean over ``analyses``) per ``node:<id>`` / ``link:<id>``.

    Nodes (where lots decided) first, then links (where they went instead), each by first
    appearance; empty when no replication diverted a lot (every ``static`` run).
    """
    total: dict[str, int] = {}
    for a in analyses:
        for key, n in a.diverted.items():
            total[key] = total.get(key, 0) + n
    keys = sorted(total, key=lambda k: not k.startswith("node:"))  # stable: first appearance within each
    return {k: total[k] / len(analyses) for k in keys}
