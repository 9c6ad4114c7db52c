"""Comparing a result with a reference value: the tolerance is stated, and a miss says by how much.

Course students read these failures, so each names the quantity, both values, the difference
and the tolerance with its reason (Stanford CS336's lesson: a bare `assert a == b` teaches
nothing, and a tolerance without a reason gets tightened until correct code fails).
"""

import numpy as np


def check_close(name: str, got, expected, tol: float, why: str) -> None:
    """Assert |got − expected| ≤ tol elementwise; the message names `name`, the worst entry,
    the difference and `why` the tolerance is what it is."""
    got = got.detach() if hasattr(got, "detach") else got  # a tensor that requires grad
    got_arr = np.asarray(got, dtype=np.float64)
    expected_arr = np.asarray(expected, dtype=np.float64)
    assert got_arr.shape == expected_arr.shape, (
        f"{name}: shape {got_arr.shape}, expected {expected_arr.shape}")
    both_inf = np.isinf(got_arr) & (got_arr == expected_arr)
    diff = np.where(both_inf, 0.0, np.abs(got_arr - expected_arr))
    diff = np.where(np.isnan(diff), np.inf, diff)
    if diff.size and diff.max() > tol:
        worst = np.unravel_index(int(np.argmax(diff)), diff.shape) if diff.ndim else ()
        where = f" at index {tuple(int(i) for i in worst)}" if diff.ndim else ""
        raise AssertionError(
            f"{name}{where}: got {got_arr[worst]!r}, expected {expected_arr[worst]!r}, off by "
            f"{diff[worst]:.3g} > tolerance {tol:.3g} ({why})")
