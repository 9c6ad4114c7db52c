"""Benchmark: where an RL step reads tensors back to the host, and how often, by source line.

On a GPU, reading a tensor's value on the host (`.item()`, `if tensor:`, `x in tensor`, a
boolean-mask index) makes the host wait until the GPU has run every kernel queued before it.
This runs a few steps of PPO (or RLOO, GRPO) with tiny networks and prints the reads of one
step, by the line that makes them, in minirmo's own code and in transformers':

* everywhere, the reads Python code makes through a tensor's methods (`item`, `tolist`,
  `__bool__`, `__contains__`, ...), counted by their caller;
* on CUDA also every synchronization torch itself reports
  (`torch.cuda.set_sync_debug_mode("warn")`), those inside an operation included (a
  boolean-mask index, `torch.nonzero`), by the Python line that called the operation.

The header gives the step's minibatch steps and tokens, to match the counts against. On the
CPU no read waits for anything: there the counts say where a GPU would wait, not what it
costs.

    python benchmarks/host_reads.py                      # PPO on the CPU
    python benchmarks/host_reads.py --device cuda --algorithm grpo
"""

import argparse
import sys
import warnings
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

import torch
import transformers

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # works from a plain checkout
import minirmo  # noqa: E402
from minirmo.critic_free import GRPOConfig, RLOOConfig, train_grpo, train_rloo  # noqa: E402
from minirmo.policy import PolicyConfig, build_policy  # noqa: E402
from minirmo.ppo import PPOConfig, train_ppo  # noqa: E402
from minirmo.reward import RewardModel, RMConfig  # noqa: E402
from minirmo.world import World  # noqa: E402

READS = ("item", "tolist", "numpy", "cpu", "__float__", "__int__", "__index__", "__bool__",
         "__format__", "__contains__")  # the tensor methods through which Python reads values
PACKAGES = {"minirmo": Path(minirmo.__file__).parent, "transformers":
            Path(transformers.__file__).parent}
ALGORITHMS = {"ppo": (train_ppo, PPOConfig), "rloo": (train_rloo, RLOOConfig),
              "grpo": (train_grpo, GRPOConfig)}


def source(filename: str, line: int) -> str | None:
    """'package/file.py:line' if `filename` lies in one of PACKAGES, else None."""
    for name, root in PACKAGES.items():
        if filename.startswith(str(root)):
            return f"{name}/{Path(filename).relative_to(root)}:{line}"
    return None


@contextmanager
def counted_reads(device: torch.device):
    """Yield a Counter of (source line, kind) -> reads made while the block runs."""
    counts = Counter()

    def counting(kind: str):
        read = getattr(torch.Tensor, kind)

        def wrapper(self, *args, **kwargs):
            caller = sys._getframe(1)
            where = source(caller.f_code.co_filename, caller.f_lineno)
            if where is not None:
                counts[where, kind] += 1
            return read(self, *args, **kwargs)
        return wrapper

    def count_sync(message, *args):
        """Count a synchronization torch warns of at the innermost minirmo or transformers line
        on the stack (the warning itself names a line of torch's own code, if Python); show
        any other warning as usual."""
        if "synchroniz" not in str(message):
            return show(message, *args)
        frame = sys._getframe(1)
        while frame is not None and source(frame.f_code.co_filename, 0) is None:
            frame = frame.f_back
        if frame is not None:
            counts[source(frame.f_code.co_filename, frame.f_lineno), "cuda sync"] += 1

    own = {kind: torch.Tensor.__dict__.get(kind) for kind in READS}  # None where inherited
    try:
        for kind in READS:
            setattr(torch.Tensor, kind, counting(kind))
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            show, warnings.showwarning = warnings.showwarning, count_sync  # put back on exit
            if device.type == "cuda":
                torch.cuda.synchronize()
                torch.cuda.set_sync_debug_mode("warn")
            yield counts
    finally:
        if device.type == "cuda":
            torch.cuda.set_sync_debug_mode("default")
        for kind, method in own.items():
            if method is not None:
                setattr(torch.Tensor, kind, method)
            elif kind in torch.Tensor.__dict__:  # ours, over an inherited method
                delattr(torch.Tensor, kind)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--algorithm", choices=ALGORITHMS, default="ppo")
    parser.add_argument("--steps", type=int, default=2)
    args = parser.parse_args()
    device = torch.device(args.device)
    train, config_class = ALGORITHMS[args.algorithm]
    config = config_class(steps=args.steps)  # the default batch, minibatches and epochs
    world = World(None, device)
    policy = build_policy(world, PolicyConfig())
    reward = RewardModel(world, RMConfig()).to(device).eval()
    with counted_reads(device) as counts:
        train(policy, reward.score, world, config, gold_fn=reward.score,
              generator=torch.Generator().manual_seed(0))
    minibatches = getattr(config, "epochs", 1) * config.batch_size // config.minibatch_size
    print(f"{args.algorithm} on {device}: batch {config.batch_size}, {minibatches} minibatch "
          f"steps and at most {world.max_len} tokens a step. Reads a step, by source line"
          f"{' (a read of a GPU tensor is also a cuda sync)' if device.type == 'cuda' else ''}:")
    for package in PACKAGES:
        rows = sorted(((n / args.steps, where, kind) for (where, kind), n in counts.items()
                       if where.startswith(package)), reverse=True)
        reads = sum(per_step for per_step, _, kind in rows if kind != "cuda sync")
        syncs = sum(per_step for per_step, _, kind in rows if kind == "cuda sync")
        print(f"\n{package}: {reads:g} reads" + (f", {syncs:g} cuda syncs" if syncs else ""))
        for per_step, where, kind in rows:
            print(f"  {per_step:6g}  {kind:<13} {where}")


if __name__ == "__main__":
    main()
