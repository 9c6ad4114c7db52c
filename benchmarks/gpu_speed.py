"""Benchmark: what a GPU buys. PPO rollouts/s on the GPU and on one CPU thread, in one run.

Targets (issue 24): PPO at batch 256 at least 5x as fast on one GPU as on one CPU thread of the
same machine, and the tiny demo with its default seeds within 2 minutes on one GPU (`--tiny`).
Both PPO runs time the same untrained policy and fresh reward model with PPO's default
config (`ppo_throughput.ppo_seconds`). Without CUDA it prints the CPU figure and says so.

    python benchmarks/gpu_speed.py                    # PPO at batch 256, 3 steps
    python benchmarks/gpu_speed.py --tiny             # and `minirmo reproduce --preset tiny`
    python benchmarks/gpu_speed.py --batch 64 --steps 2      # a quick check
"""

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # works from a plain checkout
from benchmarks.ppo_throughput import ppo_seconds  # noqa: E402
from minirmo.ppo import PPOConfig  # noqa: E402
from minirmo.world import World  # noqa: E402


def rollouts_per_second(device: str, config: PPOConfig, seed: int) -> float:
    seconds, _ = ppo_seconds(World(None, device), config, torch.Generator().manual_seed(seed))
    return config.batch_size / seconds


def tiny_preset_seconds(device: str, out: str | None) -> float:
    """Wall time of `minirmo reproduce --preset tiny` (its default seeds) into `out`, which must
    be empty or absent (default: a temporary folder)."""
    with tempfile.TemporaryDirectory(prefix="gpu_speed_tiny_") as scratch:
        out = out or scratch
        if Path(out).exists() and any(Path(out).iterdir()):
            raise ValueError(f"out: {out} is not empty (its cache would skip the training)")
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "minirmo", "reproduce", "--preset", "tiny",
                        "--device", device, "--out", out], check=True,
                       cwd=Path(__file__).resolve().parents[1], stdout=subprocess.DEVNULL)
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch", type=int, default=256, help="rollouts per PPO step")
    parser.add_argument("--steps", type=int, default=3, help="PPO steps to time (median)")
    parser.add_argument("--tiny", action="store_true",
                        help="also time `minirmo reproduce --preset tiny --device cuda`")
    parser.add_argument("--out", default=None,
                        help="keep the tiny run here (an empty folder; default: thrown away)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(1)  # one CPU thread, as the `minirmo` command uses
    config = PPOConfig(steps=args.steps, batch_size=args.batch,
                       minibatch_size=min(args.batch, PPOConfig.minibatch_size))
    print(f"PPO at batch {config.batch_size} ({config.epochs} epochs of minibatch "
          f"{config.minibatch_size}), median of {config.steps} steps; torch {torch.__version__}")

    cpu = rollouts_per_second("cpu", config, args.seed)
    print(f"  cpu, 1 thread: {cpu:7.0f} rollouts/s")
    if not torch.cuda.is_available():
        print("  cuda: not available here (torch.cuda.is_available() is False): no GPU figure")
        return
    gpu = rollouts_per_second("cuda", config, args.seed)
    print(f"  cuda ({torch.cuda.get_device_name()}): {gpu:7.0f} rollouts/s, {gpu / cpu:.1f}x "
          f"one CPU thread (target >= 5x: {'met' if gpu >= 5 * cpu else 'NOT met'})")
    if args.tiny:
        seconds = tiny_preset_seconds("cuda", args.out)
        print(f"  minirmo reproduce --preset tiny --device cuda: {seconds:.0f} s from an empty "
              f"folder (target <= 120 s: {'met' if seconds <= 120 else 'NOT met'})")


if __name__ == "__main__":
    main()
