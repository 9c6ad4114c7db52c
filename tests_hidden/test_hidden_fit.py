"""Hidden tests of chapter 3: R² against its definition written out."""

import numpy as np
import pytest
from closeness import check_close
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from minirmo.fit import r_squared


@pytest.mark.task_3_3
@settings(deadline=None, max_examples=50)
@given(st.lists(st.floats(-100, 100), min_size=2, max_size=20),
       st.integers(min_value=0, max_value=2**32 - 1))
def test_r_squared_matches_its_definition(y, seed):
    """R² equals 1 − Σ(y − ŷ)²/Σ(y − ȳ)² on any data whose target is not constant."""
    y = np.array(y)
    assume(np.ptp(y) > 1e-6 * max(1.0, np.abs(y).max()))
    y_hat = y + np.random.default_rng(seed).standard_normal(y.size)
    expected = 1 - np.sum((y - y_hat) ** 2) / np.sum((y - y.mean()) ** 2)
    check_close("R²", r_squared(y, y_hat), expected, 1e-9 * max(1.0, abs(expected)),
                "float64 sums of ≤ 20 squares")
