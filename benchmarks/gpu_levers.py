"""Benchmark: which lever would make PPO's update pay on a GPU, each measured on its own.

On a GPU, PPO at batch 256 is bound by the host launching kernels, not by arithmetic (README,
"On a GPU"), and the update (`epochs` x `batch / minibatch` steps of forward + backward through
the policy and the value network, gradient clipping, Adam) is two thirds of a step. This times
one such minibatch step, as `train_ppo` takes it, under each lever, in one run on one machine:

* eager: what `train_ppo` does today (Adam's default: a loop over the tensors on the CPU,
  `foreach` kernels on a GPU);
* fused Adam: `torch.optim.Adam(..., fused=True)`, one kernel for all parameters;
* compiled: the policy's log-probs and the value network's forward under `torch.compile`;
* CUDA graphs: the same under `torch.compile(mode="reduce-overhead")` (on CUDA only).

Per lever it prints the median milliseconds of a minibatch step, its speed-up on eager, the
seconds of its first two calls (where it compiles, or records its graphs), and what the lever
would make of a whole PPO step (the step's median time, minus the minibatch steps' saving).
On CUDA it also counts the kernels one minibatch step launches. None of the levers is in
`train_ppo` yet: this says which one is worth putting there.

    python benchmarks/gpu_levers.py --device cuda
    python benchmarks/gpu_levers.py --device cpu --levers eager compiled    # a CPU check
"""

import argparse
import statistics
import sys
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # works from a plain checkout
from benchmarks.ppo_throughput import finished, ppo_seconds  # noqa: E402
from minirmo.policy import PolicyConfig, build_policy, response_logprobs, sample  # noqa: E402
from minirmo.ppo import PPOConfig, ValueNetwork, policy_loss, value_loss  # noqa: E402
from minirmo.world import World  # noqa: E402

LEVERS = ("eager", "fused Adam", "compiled", "CUDA graphs")


def minibatch_step(lever: str, world: World, config: PPOConfig, sequences: torch.Tensor):
    """A function that takes one PPO minibatch step on `sequences` (M, P + T) under `lever`,
    with fresh networks and optimizer; the step's inputs other than the sequences are fixed
    random stand-ins (their values do not change the work)."""
    policy = build_policy(world, PolicyConfig())
    value_net = ValueNetwork(policy).to(world.device)
    P = world.prompt_len
    params = [*policy.parameters(), *value_net.parameters()]
    optimizer = torch.optim.Adam(params, lr=config.lr, eps=1e-5,
                                 fused=True if lever == "fused Adam" else None)
    logprobs, values = response_logprobs, value_net
    if lever in ("compiled", "CUDA graphs"):
        mode = "reduce-overhead" if lever == "CUDA graphs" else None
        logprobs, values = torch.compile(response_logprobs, mode=mode), torch.compile(
            value_net, mode=mode)
    generator = torch.Generator().manual_seed(0)
    M, T = sequences.shape[0], world.max_len
    logp_old, advantages, values_old, returns = (
        torch.randn(M, T, generator=generator).to(world.device) for _ in range(4))
    mask = torch.ones(M, T, device=world.device)

    def step():
        if lever == "CUDA graphs":
            torch.compiler.cudagraph_mark_step_begin()  # the last step's outputs are free
        logp = logprobs(policy, sequences, P, config.temperature)
        pg_loss = policy_loss(logp, logp_old, advantages, mask, config.clip)
        v_loss = value_loss(values(sequences, P), values_old, returns, mask, config.value_clip)
        optimizer.zero_grad(set_to_none=True)
        (pg_loss + config.vf_coef * v_loss).backward()
        nn.utils.clip_grad_norm_(policy.parameters(), config.max_grad_norm)
        nn.utils.clip_grad_norm_(value_net.parameters(), config.max_grad_norm)
        optimizer.step()

    return step


def kernels_launched(step) -> int:
    """CUDA kernels that one call of `step` launches (under torch.profiler)."""
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CUDA]) as profiler:
        step()
        torch.cuda.synchronize()
    return sum(event.count for event in profiler.key_averages()
               if event.device_type == torch.autograd.DeviceType.CUDA)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--levers", nargs="+", choices=LEVERS, default=None,
                        help="default: all (CUDA graphs on CUDA only)")
    parser.add_argument("--repeats", type=int, default=20, help="minibatch steps timed (median)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    device = torch.device(args.device)
    levers = args.levers or [lever for lever in LEVERS
                             if device.type == "cuda" or lever != "CUDA graphs"]
    world, config = World(None, device), PPOConfig(steps=3)
    generator = torch.Generator().manual_seed(0)
    prompts = world.prompts[world.sample_topics(config.minibatch_size, generator)]
    sequences, _ = sample(build_policy(world, PolicyConfig()), prompts, world.max_len, 1.0,
                          generator)  # (M, P + T)
    ppo_step, _ = ppo_seconds(world, config, generator)
    updates = config.epochs * config.batch_size // config.minibatch_size
    print(f"{device}: a PPO step at batch {config.batch_size} takes {ppo_step * 1e3:.0f} ms "
          f"eager, {updates} of it minibatch steps of {config.minibatch_size} rollouts")
    print(f"{'lever':<12} {'ms/minibatch':>12} {'speed-up':>8} {'warm-up s':>9} "
          f"{'PPO step ms':>11} {'kernels':>8}")
    eager_ms = None
    for lever in levers:
        step = minibatch_step(lever, world, config, sequences)
        start = finished(device)
        step()  # the first call compiles (and for CUDA graphs records a warm-up)
        step()
        warm_up_s = finished(device) - start
        times = []
        for _ in range(args.repeats):
            start = finished(device)
            step()
            times.append(finished(device) - start)
        ms = statistics.median(times) * 1e3
        eager_ms = eager_ms or (ms if lever == "eager" else None)
        speed_up = f"{eager_ms / ms:7.2f}x" if eager_ms else f"{'':>8}"
        whole = f"{ppo_step * 1e3 - updates * (eager_ms - ms):11.0f}" if eager_ms else f"{'':>11}"
        kernels = kernels_launched(step) if device.type == "cuda" else ""
        print(f"{lever:<12} {ms:12.2f} {speed_up} {warm_up_s:9.1f} {whole} {kernels:>8}",
              flush=True)


if __name__ == "__main__":
    main()
