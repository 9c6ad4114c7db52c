"""Check every finding of a preset at each seed of a list, and print a per-seed table.

    python benchmarks/seed_robustness.py --preset test --seeds 0 1 2 3 4
    python benchmarks/seed_robustness.py --preset tiny --seeds 0 1 2 3 4 --out runs/robust

The test suite pins the findings (`minirmo.findings`) at one seed; this script is how we know
they are claims about the world and not about that seed. Models are cached in OUT, so a rerun
after a change to the findings only re-reads them. Exits 1 if a pinned finding fails at any
seed.
"""

import argparse
import os
import sys
import time

import torch

from minirmo import findings
from minirmo.reproduce import prepare
from minirmo.runs.presets import get_preset
from minirmo.runs.studies import (
    bon_rows,
    disagreement_rows,
    dpo_rows,
    ensemble_rows,
    kl_penalty_rows,
    rl_rows,
    rm_rows,
    seed_runs,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--preset", default="test")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--out", default=None, help="run folder (default: runs/robust-PRESET)")
    parser.add_argument("--device", default="cpu", help="cpu or cuda (default: cpu)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                        help="models trained at once, one process and thread each")
    args = parser.parse_args()
    preset, out = get_preset(args.preset), args.out or f"runs/robust-{args.preset}"
    torch.set_num_threads(1)  # as the `minirmo` command: the same bits as its runs
    table, start = {}, time.time()
    if args.jobs > 1:
        prepare(seed_runs(preset, out, args.device, args.seeds), "findings", jobs=args.jobs)
    for seed in args.seeds:  # loads what the workers trained (or trains it, with --jobs 1)
        runs = seed_runs(preset, out, args.device, [seed], progress=False)
        rows = {"rm": rm_rows(runs), "bon": bon_rows(runs), "rl": rl_rows(runs),
                "kl_penalty": kl_penalty_rows(runs), "dpo": dpo_rows(runs)}
        if preset.ensembles is not None:
            rows["ensembles"] = ensemble_rows(runs)
            rows["disagreement"] = disagreement_rows(runs)
        table[seed] = findings.check(rows)
        print(f"seed {seed} done ({time.time() - start:.0f} s)", file=sys.stderr, flush=True)
    print(f"preset {args.preset}, seeds {args.seeds}\n")
    failed = False
    for finding in findings.FINDINGS:
        results = [table[s][finding.name] for s in args.seeds if finding.name in table[s]]
        if not results:  # its study is not in this preset (e.g. no ensembles)
            continue
        held = sum(ok for ok, _ in results)
        failed |= finding.pinned and held < len(results)
        print(f"{finding.name}{'' if finding.pinned else ' (not pinned)'}: holds in {held} of "
              f"{len(results)} seeds ({finding.statement})")
        for seed in args.seeds:
            ok, figures = table[seed][finding.name]
            print(f"  seed {seed}: {'yes' if ok else 'NO '}  {figures}")
    print(f"\n{time.time() - start:.0f} s")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
