"""Which reward models read the prompt? For every proxy on the most comparisons (and the
gold), the mean change of its score when the teacher's reviews are moved under another
topic's prompt (`World.reprompt`), in standard deviations of its scores of the reviews,
beside its test accuracy. A review moved off its topic loses what its specifics were worth
(about 1.3 utility): an RM that reads the prompt scores it lower; one that only reads the
reply cannot.

    python benchmarks/prompt_reading.py --preset paper --seeds 0 1 2 --out runs/paper-final
        [--reviews 2048] [--set FIELD=VALUE ...]

Reads the models from OUT's cache (`minirmo reproduce --out OUT` trains them; what is
missing is trained here).
"""

import argparse

import torch

from minirmo.runs import overrides
from minirmo.runs.presets import get_preset
from minirmo.runs.studies import seed_runs


def moved_change(rm, reviews, moved) -> float:
    """Mean score change from `reviews` to `moved`, in standard deviations of the reviews'
    scores (proxies are centred on the initial policy but not scaled)."""
    before = rm.score(reviews)  # (reviews,)
    return ((rm.score(moved) - before).mean() / before.std()).item()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--preset", default="paper")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--reviews", type=int, default=2048)
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                        dest="assignments", help="change a setting, as on the command line")
    parser.add_argument("--out", default="runs/paper")
    args = parser.parse_args()
    preset = overrides.apply(get_preset(args.preset), args.assignments)
    most = preset.proxy_data[-1]
    torch.set_num_threads(1)
    print(f"score change of {args.reviews:,} teacher reviews moved under another topic's "
          f"prompt (RM standard deviations) / test accuracy, proxies on {most:,} comparisons")
    for run in seed_runs(preset, args.out, seeds=args.seeds, progress=False):
        world, draw = run.world, torch.Generator().manual_seed(5)
        reviews = world.corpus(args.reviews, draw)  # (reviews, seq_len), the teacher's
        moved = world.reprompt(reviews, torch.randint(1, len(world.prompts), (args.reviews,),
                                                      generator=draw))
        cells = [f"gold {moved_change(run.gold().model, reviews, moved):+.2f}"]
        for size in preset.proxy_sizes:
            proxy = run.proxy(size, most).model
            cells.append(f"{proxy.n_params:,}: {moved_change(proxy, reviews, moved):+.2f} / "
                         f"{run.proxy_test(size, most)['accuracy']:.3f}")
        print(f"seed {run.seed}: " + ", ".join(cells), flush=True)


if __name__ == "__main__":
    main()
