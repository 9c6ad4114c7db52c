"""Does a larger policy write better, and does the gold RM see it? The quick loop for the
policy-size study (the paper's Section 3.4) before a full run.

    python benchmarks/policy_fit_probe.py --preset paper --seeds 0 1 [--sizes 2x32 2x64 2x128]
        [--samples 4096] [--out DIR]

At each seed: SFT of a policy of every size on the preset's corpus (as `reproduce` does), then
per policy the mean hidden utility of `samples` samples, split into what the utility pays for
(specifics of the prompt's topic, distinct praise, complaints, the traps, the taste) and the
gold RM's mean score. Then the gold's blind spot: the teacher's reviews moved under another
topic's prompt, what that costs in utility and in gold; last, how often the gold's label agrees
with the utility on pairs of the preset policy's samples, the pairs the proxies learn from. The
gold RM is trained (or loaded from DIR's cache, which `minirmo reproduce --out DIR` shares) for
those lines and the gold column.
"""

import argparse

import torch

from minirmo.policy import build_policy, sample, sft
from minirmo.reward import sample_pairs
from minirmo.runs import overrides
from minirmo.runs.presets import get_preset
from minirmo.runs.studies import seed_runs


def parts(world, sequences) -> dict:
    """The mean of each part of the hidden utility over `sequences` (see `World.utility`)."""
    counts = world.word_counts(sequences[:, world.prompt_len:])  # (batch, vocab)
    topic = world.topic_of(sequences)
    return {"utility": world.utility(sequences).mean().item(),
            "topic": 0.8 * (counts * world.own_topic[topic]).sum(1).clamp(max=3).float().mean()
            .item(),
            "praise": praise_terms(counts, world).mean().item(),
            "complaints": -0.6 * counts[:, world.complaint_ids].sum(1).float().mean().item(),
            "traps": sum(t.float().mean().item() for t in world.extra_trap_terms(sequences)
                         .values()),  # the extra traps; gushing's cost is in "praise"
            "taste": world.taste_term(sequences).mean().item()}


def praise_terms(counts, world) -> torch.Tensor:
    """What praise earns and costs (batch,): +1 for each of the first two distinct praise
    words, -1.5 for each past the second, -1 for each repeat (as `World.utility`)."""
    praise = counts[:, world.praise_ids]  # (batch, praise words)
    total, distinct = praise.sum(1), (praise > 0).sum(1)
    return (distinct.clamp(max=2) - 1.5 * (total - 2).clamp(min=0) - (total - distinct)).float()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--preset", default="paper")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--sizes", nargs="+", default=["1x16", "2x32", "2x64", "2x128"],
                        help="policy sizes as LAYERSxWIDTH")
    parser.add_argument("--samples", type=int, default=4096)
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                        dest="assignments", help="change a setting, as on the command line")
    parser.add_argument("--out", default="runs/policy_fit")
    args = parser.parse_args()
    preset = overrides.apply(get_preset(args.preset), args.assignments)
    sizes = [overrides.apply(preset, [f"policy={size}"]).policy for size in args.sizes]
    torch.set_num_threads(1)
    for run in seed_runs(preset, args.out, seeds=args.seeds, progress=False):
        world, gold = run.world, run.gold().model
        draw = torch.Generator().manual_seed(run.seed)
        topic = world.sample_topics(args.samples, draw)
        prompts = world.prompts[topic]  # (samples, prompt_len)
        written = {"teacher": torch.cat([prompts, world.teacher_sample(topic, draw)], 1)}
        for size in sizes:
            torch.manual_seed(run.seed)
            policy = build_policy(world, size)
            losses = sft(policy, world, preset.sft, torch.Generator().manual_seed(run.seed))
            with torch.no_grad():
                written[f"{size.n_layer}x{size.n_embd}"], _ = sample(
                    policy, prompts, world.max_len, generator=torch.Generator().manual_seed(1))
            print(f"seed {run.seed}: {size.n_layer}x{size.n_embd}, {policy.num_parameters():,} "
                  f"params, final SFT loss {sum(losses[-20:]) / 20:.3f}", flush=True)
        print(f"seed {run.seed}: means over {args.samples:,} samples (gold: the preset policy's "
              "samples score 0)")
        print(f"{'writer':>8} {'utility':>8} {'topic':>6} {'praise':>6} {'compl.':>6} "
              f"{'traps':>6} {'taste':>6} {'gold':>6}")
        scored = {name: (parts(world, sequences), gold.score(sequences).mean().item())
                  for name, sequences in written.items()}
        for name, (p, gold_mean) in scored.items():
            print(f"{name:>8} " + " ".join(f"{p[k]:>+{8 if k == 'utility' else 6}.3f}"
                                           for k in p) + f" {gold_mean:>+6.3f}")
        moved = world.reprompt(written["teacher"], torch.ones_like(topic))  # the next topic's
        teacher, teacher_gold = scored["teacher"]
        print(f"seed {run.seed}: the teacher's reviews under another topic's prompt: utility "
              f"{world.utility(moved).mean() - teacher['utility']:+.3f}, gold "
              f"{gold.score(moved).mean() - teacher_gold:+.3f}")
        first, second = sample_pairs(run.policy(), world, args.samples, (1.0,), draw)
        u_first, u_second = world.utility(first), world.utility(second)
        agree = (gold.score(first) > gold.score(second)) == (u_first > u_second)
        print(f"seed {run.seed}: on {args.samples:,} pairs of the preset policy's samples (what "
              f"the proxies' labels are drawn on) the gold agrees with the utility "
              f"{agree[u_first != u_second].float().mean():.3f} of the time\n")


if __name__ == "__main__":
    main()
