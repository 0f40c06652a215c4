"""Timelines for reading: the dominant bottleneck per stretch of days, and one replication's segments."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from results.bottlenecks.stats import Analysis

__all__ = ["Span", "dominant_timeline", "timeline_table"]


@dataclass(frozen=True)
class Span:
    """A stretch of days over which ``resource`` was the dominant bottleneck.

    The dominant bottleneck of a bin is the resource that was the momentary bottleneck longest
    in it (summed over replications). ``share`` is the fraction of the stretch (averaged over replications) in which it was a
    sole or shifting bottleneck, ``sole`` the part as the sole one. ``resource`` is None where
    no resource was active. ``also`` names other resources active (saturated, under the
    default rule) most of every bin of the stretch (see :func:`dominant_timeline`), most
    active first: parallel flows can bind at once, and the momentary bottleneck names one.
    """

    start: float
    end: float
    resource: str | None
    share: float
    sole: float
    also: tuple[str, ...] = ()


def _overlap(periods: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Time each bin ``[edges[b], edges[b + 1])`` spends inside ``periods``."""
    if len(periods) == 0:
        return np.zeros(len(edges) - 1)
    lo = np.maximum(periods[:, :1], edges[None, :-1])
    hi = np.minimum(periods[:, 1:], edges[None, 1:])
    return np.clip(hi - lo, 0.0, None).sum(axis=0)


def dominant_timeline(
    analyses: Sequence[Analysis],
    bin_days: float | None = None,
    max_bins: int = 24,
    also_share: float = 0.75,
    also_max: int = 2,
) -> list[Span]:
    """A coarse timeline for reading: per bin, the resource that was the momentary bottleneck longest.

    Args:
        analyses: Replications of one variant.
        bin_days: Bin width in days; by default the window split into ``max_bins`` bins (at
            least one day each).
        max_bins: See ``bin_days``.
        also_share: Other resources active at least this fraction of a bin are listed in
            ``Span.also`` (at most ``also_max``, most active first).
        also_max: See ``also_share``.

    Returns:
        Consecutive bins with the same dominant resource (and the same ``also``) merged, in
        time order.
    """
    if not analyses:
        return []
    T = max(a.end for a in analyses)
    if T <= 0:
        return []
    width = float(bin_days) if bin_days else max(1.0, T / max_bins)
    n_bins = max(1, math.ceil(T / width - 1e-9))
    edges = np.minimum(np.arange(n_bins + 1) * width, T)
    names: list[str] = [s.resource.name for s in analyses[0].stats]
    pos = {n: k for k, n in enumerate(names)}
    total = np.zeros((n_bins, len(names)))
    sole = np.zeros((n_bins, len(names)))
    active = np.zeros((n_bins, len(names)))
    momentary = np.zeros((n_bins, len(names)))
    for a in analyses:
        for lo_, hi_, who_, *_ in a.momentary:
            if who_ in pos:
                momentary[:, pos[who_]] += _overlap(np.array([[lo_, hi_]]), edges)
        for seg in a.timeline:
            if seg.resource not in pos:
                continue
            one = _overlap(np.array([[seg.start, seg.end]]), edges)
            total[:, pos[seg.resource]] += one
            if seg.state == "sole":
                sole[:, pos[seg.resource]] += one
        for name, p in a.periods.items():
            if name in pos:
                active[:, pos[name]] += _overlap(np.asarray(p).reshape(-1, 2), edges)
    out: list[Span] = []
    n = len(analyses)
    for b in range(n_bins):
        length = (edges[b + 1] - edges[b]) * n
        if length <= 0:
            continue
        k = int(np.argmax(momentary[b])) if len(names) else 0
        who = names[k] if len(names) and momentary[b, k] > 0 else None
        share = float(total[b, k] / length) if who is not None else 0.0
        sole_share = float(sole[b, k] / length) if who is not None else 0.0
        frac = active[b] / length
        also = tuple(names[j] for j in np.argsort(-frac, kind="stable") if frac[j] >= also_share and names[j] != who)[
            :also_max
        ]
        lo, hi = float(edges[b]), float(edges[b + 1])
        if out and out[-1].resource == who and out[-1].also == also:
            prev = out[-1]
            w0, w1 = prev.end - prev.start, hi - lo
            out[-1] = Span(
                prev.start,
                hi,
                who,
                (prev.share * w0 + share * w1) / (w0 + w1),
                (prev.sole * w0 + sole_share * w1) / (w0 + w1),
                also,
            )
        else:
            out.append(Span(lo, hi, who, share, sole_share, also))
    return out


def timeline_table(analysis: Analysis) -> pa.Table:
    """The sole/shifting timeline of one replication: ``start, end, resource, state`` (days)."""
    segs = analysis.timeline
    return pa.table(
        {
            "start": pa.array([s.start for s in segs], type=pa.float64()),
            "end": pa.array([s.end for s in segs], type=pa.float64()),
            "resource": pa.array([s.resource for s in segs], type=pa.string()),
            "state": pa.array([s.state for s in segs], type=pa.string()),
        }
    )
