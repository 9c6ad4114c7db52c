"""Benchmark: where a PPO step's time goes on one device (profile before you optimize).

Prints the time of each piece of a step at batch 256 and 2,048 (sampling the responses,
scoring them with a reward model, a no-grad forward for log-probs, one minibatch's forward and
backward through policy and value network), then two PPO steps at batch 256 under
`torch.profiler`, with the top ops by host time and, on CUDA, by GPU time. On an H200 it showed
the GPU busy for 4% of a step (README, "On a GPU").

    python benchmarks/gpu_profile.py cuda
    python benchmarks/gpu_profile.py cpu
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # works from a plain checkout
from minirmo.policy import PolicyConfig, build_policy, response_logprobs, sample  # noqa: E402
from minirmo.ppo import PPOConfig, ValueNetwork, train_ppo  # noqa: E402
from minirmo.reward import RewardModel, RMConfig  # noqa: E402
from minirmo.world import World  # noqa: E402


def median_seconds(work, device: str, repeats: int = 5) -> float:
    """Median wall time of `work()` once the device has finished, after one warm-up call."""
    def finished():
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        return time.perf_counter()
    work()
    times = []
    for _ in range(repeats):
        start = finished()
        work()
        times.append(finished() - start)
    return statistics.median(times)


def piece_seconds(policy, value_net, reward, world: World, batch: int, generator) -> dict:
    """Median seconds of each piece of a PPO step at `batch` rollouts."""
    P, device = world.prompt_len, str(world.device)
    prompts = world.prompts[world.sample_topics(batch, generator)]
    sequences, _ = sample(policy, prompts, world.max_len, 1.0, generator)

    def fwd_bwd():
        minibatch = sequences[:64]
        (response_logprobs(policy, minibatch, P).sum() + value_net(minibatch, P).sum()).backward()

    pieces = {
        "sample": lambda: sample(policy, prompts, world.max_len, 1.0, generator),
        "reward": lambda: reward.score(sequences),
        "logp fwd (no grad)": lambda: torch.no_grad()(response_logprobs)(policy, sequences, P),
        "fwd+bwd minibatch 64": fwd_bwd,
    }
    return {name: median_seconds(work, device) for name, work in pieces.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("device", nargs="?", default="cuda", help="cuda (default) or cpu")
    device = parser.parse_args().device
    torch.set_num_threads(1)
    world = World(None, device)
    generator = torch.Generator().manual_seed(0)
    policy = build_policy(world, PolicyConfig())
    value_net = ValueNetwork(policy).to(device)
    reward = RewardModel(world, RMConfig()).requires_grad_(False)

    for batch in (256, 2048):
        timings = piece_seconds(policy, value_net, reward, world, batch, generator)
        print(f"batch {batch}: " + ", ".join(f"{name} {seconds * 1e3:.1f} ms"
                                             for name, seconds in timings.items()))

    train_ppo(build_policy(world, PolicyConfig()), reward.score, world, PPOConfig(steps=1),
              generator=generator)  # warm-up
    activities = [torch.profiler.ProfilerActivity.CPU]
    if device.startswith("cuda"):
        activities.append(torch.profiler.ProfilerActivity.CUDA)
    with torch.profiler.profile(activities=activities) as profiler:
        seconds = median_seconds(lambda: train_ppo(policy, reward.score, world,
                                                   PPOConfig(steps=2), generator=generator),
                                 device, repeats=1)
    print(f"2 PPO steps at batch 256 under the profiler: {seconds:.2f} s (after a warm-up run)")
    ops = profiler.key_averages()
    print(ops.table(sort_by="self_cpu_time_total", row_limit=30, max_name_column_width=50))
    if device.startswith("cuda"):
        print(ops.table(sort_by="self_cuda_time_total", row_limit=15, max_name_column_width=50))


if __name__ == "__main__":
    main()
