"""Why does PPO peak at a lower gold than best-of-n against the same proxy? The probe behind
the README's "RL peaks lower than best-of-n".

    python benchmarks/rl_vs_bon_probe.py --preset paper --seeds 0 [--sizes 0 4 6]
        [--schedules 1e-3x48 3e-4x96 1e-4x144] [--out DIR]

At each seed and proxy size (indices into the preset's `proxy_sizes`, on its most comparisons):
best-of-n's curve on the pool, then PPO from the initial policy at each learning-rate x steps
schedule (the first is the preset's). Per PPO run it prints the gold peak (raw, as the report
reads it, and smoothed over 3 steps, as the findings read it), the KL of the smoothed peak's
step and the proxy score there (smoothed like the gold; best-of-n's row gives its own peak's
KL and proxy), and the gap between RL's gold and best-of-n's gold *at the same proxy score*
(best-of-n's gold interpolated at RL's proxy score): averaged over the steps whose proxy score
best-of-n also reaches, one step at a time, and at the smoothed peak, smoothed gold against
smoothed proxy (unless that proxy is past best-of-n's reach). Two explanations part there:
  - if RL's gold sits on best-of-n's gold-vs-proxy curve (gap about 0) and RL peaks lower, RL
    steps over best-of-n's peak: a smaller step should peak higher;
  - if RL's gold sits below that curve (gap < 0), RL buys the same proxy score with worse
    responses than best-of-n's: it finds the proxy's errors, and a smaller step does not help.
The gold RM and the proxies are trained or loaded from DIR's cache (shared with `minirmo
reproduce --out DIR`).
"""

import argparse

import numpy as np
import torch

from minirmo.analysis import peak
from minirmo.findings import smooth, smoothed_peak
from minirmo.runs import overrides
from minirmo.runs.presets import get_preset
from minirmo.runs.run import Run
from minirmo.runs.studies import log_spaced_ns, seed_runs


def schedule(text: str) -> tuple[float, int]:
    """'3e-4x96' -> (3e-4, 96): a PPO learning rate and its number of steps."""
    lr, _, steps = text.partition("x")
    return float(lr), int(steps)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--preset", default="paper")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[0, 4, 6],
                        help="indices into the preset's proxy_sizes")
    parser.add_argument("--schedules", nargs="+", default=["1e-3x48", "3e-4x96", "1e-4x144"],
                        help="PPO learning rate x steps, e.g. 3e-4x96")
    parser.add_argument("--out", default="runs/rl_vs_bon")
    args = parser.parse_args()
    preset = get_preset(args.preset)
    most = preset.proxy_data[-1]
    ns = log_spaced_ns(preset.bon_pool)
    torch.set_num_threads(1)
    print(f"{'seed':>4} {'params':>8} {'method':>12} {'peak gold':>9} {'smoothed':>8} "
          f"{'KL there':>8} {'proxy':>6} {'end gold':>8} gap to bon's gold at the same proxy")
    for run in seed_runs(preset, args.out, seeds=args.seeds, progress=False):
        for index in args.sizes:
            size = preset.proxy_sizes[index]
            params = run.proxy(size, most).model.n_params
            bon = run.bon(size, most, ns)
            bon_proxy, bon_gold = bon["proxy"].numpy(), bon["gold"].numpy()
            top = int(np.argmax(bon_gold))
            print(f"{run.seed:>4} {params:>8,} {'best-of-n':>12} {bon_gold[top]:>9.2f} "
                  f"{'':>8} {bon['kl_exact'][top].item():>8.2f} {bon_proxy[top]:>6.2f} "
                  f"{bon_gold[-1]:>8.2f}", flush=True)
            for text in args.schedules:
                lr, steps = schedule(text)
                variant = overrides.apply(preset, [f"ppo.lr={lr:g}", f"ppo.steps={steps}"])
                curve = Run(variant, args.out, seed=run.seed, progress=False,
                            cache=run.cache).rl(size, most)
                raw = peak(curve)
                smoothed, at = smoothed_peak(curve)
                reached = [r for r in curve if r["proxy"] <= bon_proxy[-1]]
                gaps = [r["gold"] - np.interp(r["proxy"], bon_proxy, bon_gold) for r in reached]
                # at the peak, gold and proxy both smoothed over the same trailing steps
                proxy_there = smooth([r["proxy"] for r in curve])[at]
                at_peak = (f"{smoothed[at] - np.interp(proxy_there, bon_proxy, bon_gold):+.2f} "
                           "at the peak" if proxy_there <= bon_proxy[-1] else
                           "none at the peak (past best-of-n's proxy)")
                print(f"{run.seed:>4} {params:>8,} {'ppo ' + text:>12} {raw['gold']:>9.2f} "
                      f"{smoothed[at]:>8.2f} {curve[at]['kl']:>8.2f} {proxy_there:>6.2f} "
                      f"{curve[-1]['gold']:>8.2f} {np.mean(gaps):>+8.2f} over {len(gaps):>3} "
                      f"steps, {at_peak}", flush=True)


if __name__ == "__main__":
    main()
