"""How much training a command's models in worker processes saves, measured in one run.

    python benchmarks/parallel_cells.py --preset tiny --command reproduce --seeds 0 --jobs 2

Trains everything `--command` needs for `--seeds` twice from a cold cache, in two temporary
folders: first in this process on one thread, then with `--jobs` worker processes (one thread
each; `runs.parallel`). Prints both wall-clock times, their ratio, and whether the two caches
hold the same files bit for bit (they must).
"""

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import torch

from minirmo.reproduce import prepare
from minirmo.runs.presets import get_preset
from minirmo.runs.studies import seed_runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--preset", default="test")
    parser.add_argument("--command", default="reproduce")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(1)
    preset, root = get_preset(args.preset), Path(tempfile.mkdtemp(prefix="minirmo_cells_"))
    seconds = {}
    for jobs in (1, args.jobs):
        runs = seed_runs(preset, root / f"jobs{jobs}", seeds=args.seeds, progress=False)
        start = time.perf_counter()
        prepare(runs, args.command, jobs=jobs)
        seconds[jobs] = time.perf_counter() - start
    caches = [sorted((root / f"jobs{jobs}" / "cache").rglob("*.pt")) for jobs in seconds]
    same = len(caches[0]) == len(caches[1]) and all(
        a.read_bytes() == b.read_bytes() for a, b in zip(*caches, strict=True))
    print(f"{args.command} --preset {args.preset} --seeds {args.seeds}, cold cache, "
          f"{len(caches[0])} artefacts")
    print(f"  one process, one thread:              {seconds[1]:7.1f} s")
    print(f"  {args.jobs} worker processes, one thread each: {seconds[args.jobs]:7.1f} s "
          f"({seconds[1] / seconds[args.jobs]:.2f}x faster)")
    print(f"  caches bit-identical: {same}")
    shutil.rmtree(root)


if __name__ == "__main__":
    main()
