"""Benchmark: which lever would make PPO's update pay on a GPU, each measured on its own.

On a GPU, PPO at batch 256 is bound by the host launching kernels, not by arithmetic (README,
"On a GPU"), and the update (`epochs` x `batch / minibatch` steps of forward + backward through
the policy and the value network, gradient clipping, Adam) is two thirds of a step. This times
one such minibatch step (`minirmo.ppo.minibatch_step`, which `train_ppo` calls) under each
lever, in one run on one machine:

* eager: what `train_ppo` does today (Adam's default: a loop over the tensors on the CPU,
  `foreach` kernels on a GPU);
* cuda-graphs: the policy and the value network under `torch.compile(mode="reduce-overhead")`,
  which replays their forward and backward as CUDA graphs (CUDA only);
* compiled: the same under plain `torch.compile`;
* fused-adam: `torch.optim.Adam(..., fused=True)`, one kernel for all parameters.

Per lever it prints the median milliseconds of a minibatch step, its speed-up on eager, the
seconds of its first two calls (where it compiles, or records its graphs), and what the lever
would make of a whole PPO step (the step's median time, minus the minibatch steps' saving).
On CUDA it also counts the launches one minibatch step makes from the host (kernels, and
graphs replayed). Last, it says into how many graphs torch.compile splits each network's
forward (on the 2-core CPU: one each, no break). None of the levers is in `train_ppo` yet:
this says which one is worth putting there.

    python benchmarks/gpu_levers.py --device cuda
    python benchmarks/gpu_levers.py --device cpu --levers compiled    # a CPU check
"""

import argparse
import statistics
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # works from a plain checkout
from benchmarks.ppo_throughput import finished, ppo_seconds  # noqa: E402
from minirmo.policy import PolicyConfig, build_policy, response_mask, sample  # noqa: E402
from minirmo.ppo import PPOConfig, ValueNetwork, minibatch_step  # noqa: E402
from minirmo.world import World  # noqa: E402

LEVERS = ("eager", "cuda-graphs", "compiled", "fused-adam")  # the likeliest to pay first


def make_minibatch_step(lever: str, world: World, config: PPOConfig, rollout: dict):
    """A function that takes one PPO minibatch step under `lever` with `train_ppo`'s own
    `minibatch_step`, on M random rows of `rollout`, with fresh networks and optimizer.
    `rollout` holds "sequences" (B, P + T), "mask" (B, T) and fixed random stand-ins for
    "logp_old", "advantages", "values_old", "returns" (B, T): their values do not change the
    work."""
    policy = build_policy(world, PolicyConfig()).eval()
    value_net = ValueNetwork(policy).to(world.device)
    optimizer = torch.optim.Adam([*policy.parameters(), *value_net.parameters()], lr=config.lr,
                                 eps=1e-5, fused=True if lever == "fused-adam" else None)
    if lever in ("compiled", "cuda-graphs"):
        mode = "reduce-overhead" if lever == "cuda-graphs" else None
        policy, value_net = torch.compile(policy, mode=mode), torch.compile(value_net, mode=mode)
    generator = torch.Generator().manual_seed(0)

    def step():
        if lever == "cuda-graphs":
            torch.compiler.cudagraph_mark_step_begin()  # the last step's outputs are free
        rows = torch.randperm(len(rollout["mask"]), generator=generator)
        idx = rows[:config.minibatch_size].to(world.device)  # (M,)
        minibatch_step(policy, value_net, optimizer, rollout, idx, world.prompt_len, config)

    return step


def host_launches(step) -> int:
    """Launches one call of `step` makes from the host: kernels, and CUDA graphs replayed (a
    graph replays many kernels for one launch)."""
    activities = [torch.profiler.ProfilerActivity.CPU, torch.profiler.ProfilerActivity.CUDA]
    with torch.profiler.profile(activities=activities) as profiler:
        step()
        torch.cuda.synchronize()
    return sum(event.count for event in profiler.key_averages()
               if "LaunchKernel" in event.key or "GraphLaunch" in event.key)


def time_lever(lever: str, world: World, config: PPOConfig, rollout: dict,
               repeats: int) -> tuple[float, float, int | str]:
    """(median ms of a minibatch step under `lever`, seconds of its first two calls, host
    launches of one step on CUDA or "" elsewhere)."""
    step = make_minibatch_step(lever, world, config, rollout)
    start = finished(world.device)
    step()  # the first call compiles (and for CUDA graphs records a warm-up)
    step()
    warm_up_s = finished(world.device) - start
    times = []
    for _ in range(repeats):
        start = finished(world.device)
        step()
        times.append(finished(world.device) - start)
    launches = host_launches(step) if world.device.type == "cuda" else ""
    return statistics.median(times) * 1e3, warm_up_s, launches


def graph_breaks(world: World, sequences: torch.Tensor) -> str:
    """How torch.compile splits the two compiled networks' forward on `sequences`: one graph
    and no break each means CUDA graphs can replay the whole forward (and backward)."""
    policy = build_policy(world, PolicyConfig()).eval()
    calls = {"policy": (policy, (sequences,)),
             "value network": (ValueNetwork(policy).to(world.device),
                               (sequences, world.prompt_len))}
    found = []
    for name, (network, args) in calls.items():
        explained = torch._dynamo.explain(network)(*args)
        found.append(f"{name}: {explained.graph_count} graph(s), "
                     f"{explained.graph_break_count} break(s)")
    return "; ".join(found)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--levers", nargs="+", choices=LEVERS[1:], default=None,
                        help="beside eager, which always runs (default: all; cuda-graphs on "
                             "CUDA only)")
    parser.add_argument("--repeats", type=int, default=20, help="minibatch steps timed (median)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    device = torch.device(args.device)
    levers = ["eager", *(args.levers or [lever for lever in LEVERS[1:]
                                         if device.type == "cuda" or lever != "cuda-graphs"])]
    world, config = World(None, device), PPOConfig(steps=3)
    generator = torch.Generator().manual_seed(0)
    prompts = world.prompts[world.sample_topics(config.batch_size, generator)]
    sequences, _ = sample(build_policy(world, PolicyConfig()), prompts, world.max_len, 1.0,
                          generator)  # (B, P + T)
    rollout = {name: torch.randn(config.batch_size, world.max_len, generator=generator).to(device)
               for name in ("logp_old", "advantages", "values_old", "returns")}  # (B, T) each
    rollout["sequences"] = sequences
    rollout["mask"] = response_mask(sequences[:, world.prompt_len:], world.tokenizer.eos_id)
    ppo_step, _ = ppo_seconds(world, config, generator)
    M = config.minibatch_size
    updates = config.epochs * config.batch_size // M
    print(f"{device}: a PPO step at batch {config.batch_size} takes {ppo_step * 1e3:.0f} ms "
          f"eager, {updates} of it minibatch steps of {config.minibatch_size} rollouts")
    print(f"{'lever':<12} {'ms/minibatch':>12} {'speed-up':>8} {'warm-up s':>9} "
          f"{'PPO step ms':>11} {'launches':>8}")
    eager_ms = None
    for lever in levers:
        try:  # a lever failing (a compile error on some GPU) must not cost the others
            ms, warm_up_s, launches = time_lever(lever, world, config, rollout, args.repeats)
        except Exception as error:
            if lever == "eager":  # the baseline: nothing to compare with
                raise
            print(f"{lever:<12} failed: {type(error).__name__}: {str(error)[:200]}", flush=True)
            continue
        eager_ms = eager_ms or ms  # eager runs first
        whole_ms = ppo_step * 1e3 - updates * (eager_ms - ms)
        print(f"{lever:<12} {ms:12.2f} {eager_ms / ms:7.2f}x {warm_up_s:9.1f} {whole_ms:11.0f} "
              f"{launches:>8}", flush=True)
    print(f"torch.compile splits them so: {graph_breaks(world, sequences[:M])}")


if __name__ == "__main__":
    main()
