"""Per-key KPI state merges in amortised time, with bit-equal sums.

``KeyedSums`` (sums per (requirement, item), per (link, requirement, item)...) and the first
``contract_awarded`` day per (requirement, supplier) (``LeadTimes``) kept their keys sorted
by merging every chunk into them: with one key per requirement, 10^6 lots of
``many_requirements`` (200,000 requirements, ~500 chunks) sorted the whole key set ~500 times
per accumulator. Here the elements that go through ``np.unique`` are counted while 200 chunks
of 500 new keys each are added: merging every chunk sorts ~200 x 100 / 2 x 500 = 5 x 10^6 of
them; a geometric merge at most a small multiple of the 10^5 rows added. The sums and first
days are checked bit for bit against the merge-every-chunk algorithm written out here.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import results.kpis.lead as kpi_lead
import results.kpis.levels as kpi_levels
from results.kpis.levels import KeyedSums

CHUNKS, NEW_PER_CHUNK = 200, 500
ROWS = CHUNKS * NEW_PER_CHUNK


def chunks(seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Each chunk: 500 new keys (a requirement each) plus 200 rows of keys seen before; 3 weights a row."""
    rng = np.random.default_rng(seed)
    out = []
    for c in range(CHUNKS):
        new = np.arange(c * NEW_PER_CHUNK, (c + 1) * NEW_PER_CHUNK, dtype=np.int64)
        old = rng.integers(0, (c + 1) * NEW_PER_CHUNK, size=200)
        keys = rng.permutation(np.concatenate([new, old]))
        out.append((keys, rng.normal(size=(len(keys), 3)) * 10.0 ** rng.integers(-3, 6, size=(len(keys), 1))))
    return out


def merged_every_chunk(data: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """The previous algorithm: every chunk merged into the sorted keys at once."""
    keys, sums = np.zeros(0, dtype=np.int64), np.zeros((0, 3))
    for k, w in data:
        uk, inv = np.unique(np.concatenate([keys, k]), return_inverse=True)
        out = np.zeros((len(uk), 3))
        both = np.concatenate([sums, w])
        for j in range(3):
            out[:, j] = np.bincount(inv, weights=both[:, j], minlength=len(uk))
        keys, sums = uk, out
    return keys, sums


class UniqueCounter:
    """Stands for ``np.unique`` (numpy's, patched) and counts the elements it is given."""

    def __init__(self) -> None:
        self.elements = 0
        self.unique = np.unique

    def __call__(self, ar: Any, *args: Any, **kwargs: Any) -> Any:
        self.elements += len(ar)
        return self.unique(ar, *args, **kwargs)


def test_keyed_sums_are_bit_equal_to_merging_every_chunk() -> None:
    data = chunks(3)
    ks = KeyedSums(3)
    for k, w in data:
        ks.add(k, w)
    want_keys, want_sums = merged_every_chunk(data)
    assert np.array_equal(ks.keys, want_keys)
    assert ks.sums.tobytes() == want_sums.tobytes()
    ks.add(np.array([7, 10**6], dtype=np.int64), np.ones((2, 3)))  # reading, then adding more, still adds
    assert ks.keys[-1] == 10**6 and ks.sums[-1].tolist() == [1.0, 1.0, 1.0]
    assert ks.sums[7].tolist() == pytest.approx((want_sums[7] + 1.0).tolist())


def test_keyed_sums_sort_each_row_a_bounded_number_of_times(monkeypatch: pytest.MonkeyPatch) -> None:
    counter = UniqueCounter()
    monkeypatch.setattr(kpi_levels.np, "unique", counter)
    try:
        ks = KeyedSums(3)
        for k, w in chunks(4):
            ks.add(k, w)
        n = len(ks.keys)
    finally:
        monkeypatch.undo()
    total_rows = CHUNKS * (NEW_PER_CHUNK + 200)
    assert n == ROWS
    assert counter.elements <= 4 * total_rows, counter.elements  # merging every chunk: ~5 x 10^6


def award_chunks(seed: int) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(ref, supplier, day) of contract_awarded rows, chunk by chunk (some (ref, supplier) awarded twice)."""
    rng = np.random.default_rng(seed)
    out = []
    for c in range(CHUNKS):
        ref = np.concatenate([np.arange(c * NEW_PER_CHUNK, (c + 1) * NEW_PER_CHUNK), rng.integers(0, ROWS, 50)])
        sup = rng.integers(0, 3, size=len(ref))
        out.append((ref.astype(np.int64), sup.astype(np.int64), np.full(len(ref), float(c)) + rng.random(len(ref))))
    return out


class _Ev:
    """The part of ``EventArrays`` that ``LeadTimes`` reads of contract rows (all rows are awards)."""

    def __init__(self, ref: np.ndarray, node: np.ndarray, t: np.ndarray) -> None:
        n = len(ref)
        self.ref, self.node, self.t = ref, node, t
        self.lot = np.full(n, -1, dtype=np.int64)
        self.item = np.zeros(n, dtype=np.int64)
        self.qty = np.ones(n, dtype=np.int64)
        self.value = np.zeros(n)

    def __len__(self) -> int:
        return len(self.ref)

    def of(self, code: int) -> np.ndarray:
        return np.arange(len(self.ref)) if code == kpi_lead.CONTRACT_AWARDED else np.zeros(0, dtype=np.int64)


def test_first_award_days_merge_in_bounded_work_and_keep_the_first_row(monkeypatch: pytest.MonkeyPatch) -> None:
    data = award_chunks(5)
    counter = UniqueCounter()
    monkeypatch.setattr(kpi_lead.np, "unique", counter)
    try:
        lt = kpi_lead.LeadTimes()
        for ref, sup, t in data:
            lt.add(_Ev(ref, sup, t), np.zeros(0, dtype=np.int64), np.zeros(0))  # type: ignore[arg-type]
        got_key, got_t = lt.award_key.copy(), lt.award_t.copy()
    finally:
        monkeypatch.undo()
    rows = sum(len(r) for r, _, _ in data)
    assert counter.elements <= 4 * rows, counter.elements
    first: dict[int, float] = {}
    for ref, sup, t in data:
        for k, d in zip(kpi_levels.pair_key(ref, sup).tolist(), t.tolist(), strict=True):
            first.setdefault(k, d)
    assert got_key.tolist() == sorted(first)
    assert got_t.tolist() == [first[k] for k in sorted(first)]
