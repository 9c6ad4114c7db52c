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
noisier than one.

    python benchmarks/ppo_throughput.py              # 3 PPO steps, default PPOConfig
    python benchmarks/ppo_throughput.py --steps 5 --threads 2
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


def floor_seconds(policy, world: World, config: PPOConfig, generator) -> float:
    """Seconds for one step's unavoidable work: sample, reference forward, epochs x fwd+bwd."""
    value_net = ValueNetwork(policy)
    reference = build_policy(world, PolicyConfig())
    reference.load_state_dict(policy.state_dict())
    reference.requires_grad_(False)
    B, M, P = config.batch_size, config.minibatch_size, world.prompt_len
    start = time.perf_counter()
    prompts = world.prompts[world.sample_topics(B, generator)]
    sequences, _ = sample(policy, prompts, world.max_len, config.temperature, generator)
    with torch.no_grad():
        response_logprobs(reference, sequences, P, config.temperature)
    for _ in range(config.epochs):
        for i in range(0, B, M):
            batch = sequences[i : i + M]
            logp = response_logprobs(policy, batch, P, config.temperature)
            (logp.sum() + value_net(batch, P).sum()).backward()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=3, help="PPO steps to time")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    generator = torch.Generator().manual_seed(args.seed)

    world = World()
    policy = build_policy(world, PolicyConfig())
    reward = RewardModel(world, RMConfig()).requires_grad_(False)
    config = PPOConfig(steps=args.steps)

    # warm up both paths once (first calls allocate and pick kernels)
    train_ppo(build_policy(world, PolicyConfig()), reward.score, world,
              PPOConfig(steps=1), generator=generator)
    floor_seconds(policy, world, config, generator)

    stamps = [time.perf_counter()]  # the callback stamps the end of every step
    train_ppo(policy, reward.score, world, config, generator=generator,
              callback=lambda record: stamps.append(time.perf_counter()))
    ppo = statistics.median(b - a for a, b in zip(stamps, stamps[1:], strict=False))
    floor = statistics.median(floor_seconds(policy, world, config, generator)
                              for _ in range(args.steps))

    rate = config.batch_size / ppo
    print(f"policy {sum(p.numel() for p in policy.parameters()):,} params, batch "
          f"{config.batch_size}, {config.epochs} epochs of minibatch {config.minibatch_size}, "
          f"max_len {world.max_len}, {torch.get_num_threads()} thread(s)")
    print(f"PPO   : {ppo:6.3f} s/step  {rate:7.0f} rollouts/s  (median of {args.steps} steps)")
    print(f"floor : {floor:6.3f} s/step  {config.batch_size / floor:7.0f} rollouts/s  "
          f"(median of {args.steps}: sample + reference fwd + epochs x fwd/bwd, policy + value)")
    verdict = "OK" if ppo / floor <= 2 else "ABOVE TARGET"
    print(f"ratio PPO/floor: {ppo / floor:.2f}x  (target <= 2x: {verdict})")


if __name__ == "__main__":
    main()
