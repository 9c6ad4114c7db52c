"""Hidden tests of chapter 5: GAE against a plain token-by-token loop."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from minirmo.ppo import gae


def gae_loop(rewards, values, lengths, gamma, lam):
    """Advantages and returns row by row, token by token, in plain Python floats."""
    advantages, returns = [], []
    for r, v, n in zip(rewards.tolist(), values.tolist(), lengths, strict=True):
        adv = [0.0] * len(r)
        running = 0.0
        for t in reversed(range(n)):
            next_value = v[t + 1] if t + 1 < n else 0.0  # no bootstrap after the last token
            running = r[t] + gamma * next_value - v[t] + gamma * lam * running
            adv[t] = running
        advantages.append(adv)
        returns.append([a + v[t] if t < n else 0.0 for t, a in enumerate(adv)])
    return (torch.tensor(advantages, dtype=torch.float64),
            torch.tensor(returns, dtype=torch.float64))


@pytest.mark.task_5_1
@settings(max_examples=50, deadline=None)
@given(st.integers(1, 6), st.integers(1, 8), st.floats(0, 1), st.floats(0, 1),
       st.integers(0, 2**31 - 1))
def test_gae_equals_a_plain_loop(batch, T, gamma, lam, seed):
    """gae() matches a token-by-token loop for any rewards, values and prefix masks."""
    g = torch.Generator().manual_seed(seed)
    rewards = torch.randn(batch, T, generator=g, dtype=torch.float64)
    values = torch.randn(batch, T, generator=g, dtype=torch.float64)
    lengths = torch.randint(0, T + 1, (batch,), generator=g).tolist()
    mask = torch.arange(T)[None, :] < torch.tensor(lengths)[:, None]  # prefix of ones per row
    advantages, returns = gae(rewards, values, mask, gamma, lam)
    expected_adv, expected_ret = gae_loop(rewards, values, lengths, gamma, lam)
    torch.testing.assert_close(advantages, expected_adv, rtol=1e-9, atol=1e-9)
    torch.testing.assert_close(returns, expected_ret, rtol=1e-9, atol=1e-9)
