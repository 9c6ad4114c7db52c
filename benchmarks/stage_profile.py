"""Where the time of `minirmo reproduce` goes: seconds per stage, for a preset, from cold.

    python benchmarks/stage_profile.py --preset tiny [--seeds 0 1 2] [--jobs 2] [--out DIR]
        [--device cuda]

Runs `reproduce` for the given seeds (default: seed 0) in a fresh folder, as the command does:
with `--jobs` J > 1, J worker processes of one thread train the artefacts first. Prints the
compute time of each kind of artefact (SFT, gold RM, comparisons, proxies, pool, gold scores
of the pool, best-of-n, PPO runs), summed over seeds and workers, with its share of all
compute; then the wall clock of training and of the whole command (loading, fits, figures and
report on top). Then the critical path: the longest chain of artefacts, each an input of the
next, by compute seconds. No number of workers trains a seed faster than its chain, so it is
the floor of the training's wall clock, and it says which stage to speed up when more workers
no longer help. With `--out`, the folder keeps everything the command writes, its printed
summary as summary.txt, and every artefact's compute seconds as profile.csv. Profile before you
optimize.
"""

import argparse
import re
import shutil
import tempfile
import time
from collections import defaultdict
from functools import partial
from pathlib import Path

import torch

from minirmo.reproduce import needs, prepare, reproduce
from minirmo.runs.parallel import artefact_graph
from minirmo.runs.presets import get_preset
from minirmo.runs.studies import seed_runs, write_csv

STAGES = {"policy": "SFT of the policy", "initial": "initial samples (calibration)",
          "gold": "gold RM (pairs + training)", "gold_recentred": "gold re-centred",
          "comparisons": "proxy comparisons (sampling + gold labels)", "proxy": "proxy RMs",
          "test_comparisons": "test comparisons (sampling + gold labels)",
          "test": "proxies' test loss (held-out comparisons)",
          "verdicts": "pretraining corpus (verdicts)", "backbone": "pretrained RM backbones",
          "pool": "best-of-n pool sampling", "pool_gold": "gold scores of the pool",
          "pool_logp": "initial log-probs of the pool",
          "bon": "best-of-n (proxy scores + estimator)", "rl": "PPO runs",
          "rloo": "RLOO runs", "grpo": "GRPO runs",
          "label_draws": "label-noise draws", "member": "ensemble members (and their backbones)",
          "ensemble_bon": "best-of-n against ensembles", "ensemble_rl": "PPO against ensembles",
          "dpo": "DPO and IPO runs"}


def stage(key: str) -> str:
    """An artefact's stage: its name (its key without the hash) without the proxy, objective,
    loss or member it is for."""
    name = key.rsplit("-", 1)[0]
    for prefix in ("member", "ensemble_bon", "ensemble_rl", "dpo"):
        if name.startswith(prefix):
            return prefix
    return re.sub(r"_L\d.*", "", name)


def critical_path(runs, seconds: dict) -> list[tuple[int, str, float]]:
    """The longest chain of `reproduce`'s artefacts, each an input of the next, by `seconds`
    ({(seed, artefact key): compute seconds}; 0 for what was not computed): [(seed, name,
    seconds)] from the first input to the last artefact."""
    graph = artefact_graph(runs, partial(needs, command="reproduce"))
    ends, before = {}, {}  # node -> seconds until it is done; the input it waited for last
    for node, (_, artefact) in graph.items():  # inputs come before the artefacts they feed
        inputs = [(node[0], a.key) for a in artefact.input_artefacts()]
        before[node] = max(inputs, key=ends.__getitem__, default=None)
        own = seconds.get(node, 0.0)
        ends[node] = own + (ends[before[node]] if before[node] else 0.0)
    node, chain = max(ends, key=ends.__getitem__), []
    while node is not None:
        chain.append((node[0], graph[node][1].name, seconds.get(node, 0.0)))
        node = before[node]
    return chain[::-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--preset", default="tiny")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--out", default=None, help="folder (default: a temporary one)")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    torch.set_num_threads(1)
    out = args.out or tempfile.mkdtemp(prefix="minirmo_profile_")
    runs = seed_runs(get_preset(args.preset), out, args.device, args.seeds, progress=False)
    start = time.perf_counter()
    prepare(runs, "reproduce", jobs=args.jobs)
    trained = time.perf_counter() - start
    summary = reproduce(runs)
    total = time.perf_counter() - start
    if args.out:  # what the command would have printed, beside its CSVs and figures
        (Path(args.out) / "summary.txt").write_text(summary + "\n")
        write_csv(Path(args.out) / "profile.csv",  # every artefact's compute time
                  [{"seed": seed, "artefact": key, "seconds": round(seconds, 2)}
                   for seed, key, seconds in runs[0].cache.computed])
    stages = defaultdict(float)
    for _, key, seconds in runs[0].cache.computed:
        stages[stage(key)] += seconds
    compute = sum(stages.values())
    print(f"minirmo reproduce --preset {args.preset} --seeds {' '.join(map(str, args.seeds))} "
          f"--jobs {args.jobs} --device {args.device}: compute seconds per stage of what it "
          "trained (all seeds and workers; a cold cache trains everything)")
    for name, seconds in sorted(stages.items(), key=lambda kv: -kv[1]):
        print(f"  {STAGES.get(name, name):<45} {seconds:7.1f} s  {seconds / compute:5.1%}")
    print(f"  {'all compute':<45} {compute:7.1f} s")
    print(f"wall clock: training {trained:.0f} s, then loading, fits, figures and report "
          f"{total - trained:.0f} s; total {total:.0f} s")
    chain = critical_path(runs, {(seed, key): seconds
                                 for seed, key, seconds in runs[0].cache.computed})
    print(f"critical path (the training's floor with unlimited workers): "
          f"{sum(s for *_, s in chain):.1f} s")
    for seed, name, seconds in chain:
        print(f"  seed {seed} {name:<40} {seconds:7.1f} s")
    if args.out is None:
        shutil.rmtree(out)


if __name__ == "__main__":
    main()
