"""Benchmark: PPO rollouts per second beside a floor measured in the same run.

Target: PPO takes at most 2x the floor. The floor is the work that PPO cannot avoid on the
same model and batch, timed with the same building blocks:

* sampling the batch of responses (`minirmo.policy.sample`, KV cache);
* one forward pass of the frozen reference policy over the batch (its log-probs);
* `epochs` passes of forward + backward over the batch, in minibatches, through the policy and
  through the value network (a copy of the policy's trunk with a scalar head).

Everything else PPO does is overhead measured against it: the old policy's log-probs and
values, the reward model, GAE, whitening, the optimizer and the bookkeeping.

The policy is untrained (PolicyConfig()) and the reward a freshly built RewardModel: the point
is throughput, not learning. Timing runs single-threaded by default: the matrices are tiny,
and on a shared 2-core machine two threads competing with other work are far slower and
noisier than one. On a GPU (`--device cuda`) every time is taken once the GPU has finished.

    python benchmarks/ppo_throughput.py              # 3 PPO steps, default PPOConfig
    python benchmarks/ppo_throughput.py --steps 5 --threads 2
    python benchmarks/ppo_throughput.py --device cuda
"""

import argparse
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # works from a plain checkout
from minirmo.policy import PolicyConfig, build_policy, response_logprobs, sample  # noqa: E402
from minirmo.ppo import PPOConfig, ValueNetwork, train_ppo  # noqa: E402
from minirmo.reward import RewardModel, RMConfig  # noqa: E402
from minirmo.world import World  # noqa: E402


def finished(device: torch.device) -> float:
    """time.perf_counter() once all the work queued on `device` has run."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter()


def ppo_seconds(world: World, config: PPOConfig, generator):
    """(median seconds per step of a PPO run of `config` on `world.device`, its policy), after
    a one-step run that warms up (first calls allocate memory and pick kernels)."""
    reward = RewardModel(world, RMConfig()).requires_grad_(False)
    train_ppo(build_policy(world, PolicyConfig()), reward.score, world,
              replace(config, steps=1), generator=generator)
    policy = build_policy(world, PolicyConfig())
    stamps = [finished(world.device)]  # the callback stamps the end of every step
    train_ppo(policy, reward.score, world, config, generator=generator,
              callback=lambda record: stamps.append(finished(world.device)))
    return statistics.median(b - a for a, b in zip(stamps, stamps[1:], strict=False)), policy


def floor_seconds(policy, world: World, config: PPOConfig, generator) -> float:
    """Seconds for one step's unavoidable work: sample, reference forward, epochs x fwd+bwd."""
    value_net = ValueNetwork(policy).to(world.device)
    reference = build_policy(world, PolicyConfig())
    reference.load_state_dict(policy.state_dict())
    reference.requires_grad_(False)
    B, M, P = config.batch_size, config.minibatch_size, world.prompt_len
    start = finished(world.device)
    prompts = world.prompts[world.sample_topics(B, generator)]
    sequences, _ = sample(policy, prompts, world.max_len, config.temperature, generator)
    with torch.no_grad():
        response_logprobs(reference, sequences, P, config.temperature)
    for _ in range(config.epochs):
        for i in range(0, B, M):
            batch = sequences[i : i + M]
            logp = response_logprobs(policy, batch, P, config.temperature)
            (logp.sum() + value_net(batch, P).sum()).backward()
    return finished(world.device) - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=3, help="PPO steps to time")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--device", default="cpu", help="cpu or cuda (default: cpu)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    generator = torch.Generator().manual_seed(args.seed)

    world = World(None, args.device)
    config = PPOConfig(steps=args.steps)
    ppo, policy = ppo_seconds(world, config, generator)
    floor_seconds(policy, world, config, generator)  # warm up the floor's path once
    floor = statistics.median(floor_seconds(policy, world, config, generator)
                              for _ in range(args.steps))

    rate = config.batch_size / ppo
    print(f"policy {sum(p.numel() for p in policy.parameters()):,} params, batch "
          f"{config.batch_size}, {config.epochs} epochs of minibatch {config.minibatch_size}, "
          f"max_len {world.max_len}, on {world.device}, {torch.get_num_threads()} thread(s)")
    print(f"PPO   : {ppo:6.3f} s/step  {rate:7.0f} rollouts/s  (median of {args.steps} steps)")
    print(f"floor : {floor:6.3f} s/step  {config.batch_size / floor:7.0f} rollouts/s  "
          f"(median of {args.steps}: sample + reference fwd + epochs x fwd/bwd, policy + value)")
    verdict = "OK" if ppo / floor <= 2 else "ABOVE TARGET"
    print(f"ratio PPO/floor: {ppo / floor:.2f}x  (target <= 2x: {verdict})")


if __name__ == "__main__":
    main()
