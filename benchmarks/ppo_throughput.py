"""Benchmark: PPO, RLOO and GRPO rollouts per second, each beside its floor, in one run.

Targets: PPO takes at most 2x its floor; RLOO and GRPO, which have no value network, draw at
least as many rollouts per second as PPO. A method's floor is the work it cannot avoid on the
same model and batch, timed with the same building blocks (for PPO):

* sampling the batch of responses (`minirmo.policy.sample`, KV cache);
* one forward pass of the frozen reference policy over the batch (its log-probs);
* `epochs` passes of forward + backward over the batch, in minibatches, through the policy and
  through the value network (a copy of the policy's trunk with a scalar head).

Everything else PPO does is overhead measured against it: the old policy's log-probs and
values, the reward model, GAE, whitening, the optimizer and the bookkeeping. RLOO's floor has
one pass and GRPO's `epochs` passes, both through the policy alone. All three sample as many
responses per step with the same minibatches (RLOO and GRPO in groups of 4 per prompt).

The policy is untrained (PolicyConfig()) and the reward a freshly built RewardModel: the point
is throughput, not learning. Timing runs single-threaded by default: the matrices are tiny,
and on a shared 2-core machine two threads competing with other work are far slower and
noisier than one. On a GPU (`--device cuda`) every time is taken once the GPU has finished.

    python benchmarks/ppo_throughput.py              # 3 steps of each, default configs
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
from minirmo.critic_free import GRPOConfig, RLOOConfig, train_grpo, train_rloo  # noqa: E402
from minirmo.policy import PolicyConfig, build_policy, response_logprobs, sample  # noqa: E402
from minirmo.ppo import PPOConfig, ValueNetwork, train_ppo  # noqa: E402
from minirmo.reward import RewardModel, RMConfig  # noqa: E402
from minirmo.world import World  # noqa: E402


def finished(device: torch.device) -> float:
    """time.perf_counter() once all the work queued on `device` has run."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter()


def ppo_seconds(world: World, config, generator, train=train_ppo):
    """(median seconds per step of a run of `train` (PPO by default, or train_rloo or
    train_grpo with their config) on `world.device`, its policy), after a one-step run that
    warms up (first calls allocate memory and pick kernels)."""
    reward = RewardModel(world, RMConfig()).requires_grad_(False)
    train(build_policy(world, PolicyConfig()), reward.score, world, replace(config, steps=1),
          generator=generator)
    policy = build_policy(world, PolicyConfig())
    stamps = [finished(world.device)]  # the callback stamps the end of every step
    train(policy, reward.score, world, config, generator=generator,
          callback=lambda record: stamps.append(finished(world.device)))
    return statistics.median(b - a for a, b in zip(stamps, stamps[1:], strict=False)), policy


def floor_seconds(policy, world: World, config, generator, passes: int, value: bool) -> float:
    """Seconds for one step's unavoidable work: sample, reference forward, `passes` x fwd+bwd
    over the batch in minibatches (through the value network too where `value`)."""
    value_net = ValueNetwork(policy).to(world.device) if value else None
    reference = build_policy(world, PolicyConfig())
    reference.load_state_dict(policy.state_dict())
    reference.requires_grad_(False)
    B, M, P = config.batch_size, config.minibatch_size, world.prompt_len
    start = finished(world.device)
    prompts = world.prompts[world.sample_topics(B, generator)]
    sequences, _ = sample(policy, prompts, world.max_len, config.temperature, generator)
    with torch.no_grad():
        response_logprobs(reference, sequences, P, config.temperature)
    for _ in range(passes):
        for i in range(0, B, M):
            batch = sequences[i : i + M]
            loss = response_logprobs(policy, batch, P, config.temperature).sum()
            (loss + value_net(batch, P).sum() if value else loss).backward()
    return finished(world.device) - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=3, help="steps of each method to time")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--device", default="cpu", help="cpu or cuda (default: cpu)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    generator = torch.Generator().manual_seed(args.seed)

    world = World(None, args.device)
    ppo = PPOConfig(steps=args.steps)
    shared = dict(steps=args.steps, batch_size=ppo.batch_size, minibatch_size=ppo.minibatch_size)
    methods = {  # name: (training loop, config, passes over the batch, value network?)
        "PPO": (train_ppo, ppo, ppo.epochs, True),
        "RLOO": (train_rloo, RLOOConfig(**shared), 1, False),
        "GRPO": (train_grpo, GRPOConfig(**shared), GRPOConfig.epochs, False),
    }
    print(f"batch {ppo.batch_size} rollouts per step, minibatch {ppo.minibatch_size}, max_len "
          f"{world.max_len}, on {world.device}, {torch.get_num_threads()} thread(s); median of "
          f"{args.steps} steps each")
    print(f"{'method':>6} {'s/step':>8} {'rollouts/s':>11} {'floor s/step':>13} "
          f"{'floor rollouts/s':>17} {'ratio':>6}  floor")
    for name, (train, config, passes, value) in methods.items():
        seconds, policy = ppo_seconds(world, config, generator, train)
        floor_seconds(policy, world, config, generator, passes, value)  # warm up the floor
        floor = statistics.median(floor_seconds(policy, world, config, generator, passes, value)
                                  for _ in range(args.steps))
        what = (f"sample + reference fwd + {passes} x fwd/bwd"
                + (", policy + value" if value else ", policy"))
        print(f"{name:>6} {seconds:8.3f} {config.batch_size / seconds:11.0f} {floor:13.3f} "
              f"{config.batch_size / floor:17.0f} {seconds / floor:5.2f}x  {what}")
    print("target: PPO at most 2x its floor; RLOO and GRPO, critic-free, at least as many "
          "rollouts/s as PPO")


if __name__ == "__main__":
    main()
