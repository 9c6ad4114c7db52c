"""Where the time of `minirmo reproduce` goes: seconds per stage, for a preset, from cold.

    python benchmarks/stage_profile.py --preset tiny --seed 0 [--out DIR]

Runs `reproduce` for one seed on one thread in a fresh folder (the command's own setting) and
prints the compute time of each kind of artefact (SFT, gold RM, comparisons, proxies, pool,
gold scores of the pool, best-of-n, PPO runs), what is left (loading, fits, plots, report)
and the total, each with its share. Profile before you optimize.
"""

import argparse
import re
import shutil
import tempfile
import time
from collections import defaultdict

import torch

from minirmo.reproduce import reproduce
from minirmo.runs.presets import get_preset
from minirmo.runs.studies import seed_runs

STAGES = {"policy": "SFT of the policy", "initial": "initial samples (calibration)",
          "gold": "gold RM (pairs + training)", "gold_recentred": "gold re-centred",
          "comparisons": "proxy comparisons (sampling + gold labels)", "proxy": "proxy RMs",
          "pool": "best-of-n pool sampling", "pool_gold": "gold scores of the pool",
          "bon": "best-of-n (proxy scores + estimator)", "rl": "PPO runs",
          "label_draws": "label-noise draws", "member": "ensemble members",
          "ensemble_bon": "best-of-n against ensembles", "ensemble_rl": "PPO against ensembles",
          "dpo": "DPO and IPO runs"}


def stage(name: str) -> str:
    """An artefact's stage: its name without the proxy, objective, loss or member it is for."""
    for prefix in ("member", "ensemble_bon", "ensemble_rl", "dpo"):
        if name.startswith(prefix):
            return prefix
    return re.sub(r"_L\d.*", "", name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--preset", default="tiny")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=None, help="folder (default: a temporary one)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    out = args.out or tempfile.mkdtemp(prefix="minirmo_profile_")
    runs = seed_runs(get_preset(args.preset), out, seeds=[args.seed], progress=False)
    start = time.perf_counter()
    reproduce(runs)
    total = time.perf_counter() - start
    stages = defaultdict(float)
    for _, name, seconds in runs[0].cache.computed:
        stages[stage(name)] += seconds
    print(f"minirmo reproduce --preset {args.preset} --seed {args.seed}, one thread, cold "
          "cache: seconds per stage")
    for name, seconds in sorted(stages.items(), key=lambda kv: -kv[1]):
        print(f"  {STAGES.get(name, name):<45} {seconds:7.1f} s  {seconds / total:5.1%}")
    rest = total - sum(stages.values())
    print(f"  {'loading, fits, figures, report':<45} {rest:7.1f} s  {rest / total:5.1%}")
    print(f"  {'total':<45} {total:7.1f} s")
    if args.out is None:
        shutil.rmtree(out)


if __name__ == "__main__":
    main()
