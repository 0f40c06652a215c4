"""``results.kpis.arrays.filled`` reads nulls from Arrow buffers as ``fill_null`` would (issue 19 start-up)."""

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from results.kpis.arrays import filled


@settings(deadline=None)
@given(st.lists(st.one_of(st.none(), st.integers(-(2**40), 2**40)), max_size=50), st.integers(0, 10))
def test_int(xs: list[int | None], off: int) -> None:
    a = pa.array(xs, pa.int64()).slice(min(off, len(xs)))
    want = np.asarray(a.fill_null(-7).to_numpy(zero_copy_only=False), np.int64)
    assert filled(a, -7, np.int64).tolist() == want.tolist()


@settings(deadline=None)
@given(st.lists(st.one_of(st.none(), st.floats(allow_nan=False)), max_size=50), st.integers(0, 10))
def test_float(xs: list[float | None], off: int) -> None:
    a = pa.array(xs, pa.float64()).slice(min(off, len(xs)))
    want = np.asarray(a.fill_null(np.nan).to_numpy(zero_copy_only=False), np.float64)
    np.testing.assert_array_equal(filled(a, np.nan, np.float64), want)
