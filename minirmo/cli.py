"""The `minirmo` command: run the paper's experiments on a preset and write CSVs and figures.

    minirmo bon --preset tiny --out runs/tiny          best-of-n against every proxy RM
    minirmo rl  --preset tiny --out runs/tiny          PPO against every proxy size (most data)
    minirmo rl  --algorithm ppo rloo grpo ...          PPO, RLOO and GRPO side by side
    minirmo dpo --preset tiny --out runs/tiny          DPO and IPO: overoptimization with no RM
    minirmo ensembles --preset tiny --out runs/tiny    proxy ensembles against overoptimization
    minirmo reproduce --preset tiny --out runs/tiny    every study, CSV and figure of the paper
    minirmo presets tiny                               every setting of a preset, and its value
    minirmo handout DIR / minirmo grade [DIR]          the course kit (docs/teaching.md)

Each runs the preset's default seeds, or `--seeds 0 1 2`, or one `--seed S`, and takes
`--set FIELD=VALUE` (repeatable) to change any setting of the preset, e.g. `--set ppo.steps=10
--set proxy_train.lr=6e-3` (runs/overrides.py). Every command caches its trained models under
OUT/cache/seed{S}, so running it again (or after an interrupt) retrains nothing that was
finished, and several seeds share one folder.

From here to a training loop: `main` -> `reproduce.prepare` (every artefact the command needs,
inputs first) -> `Cache.get` (runs/cache.py) -> the artefact's function in runs/compute.py ->
`train_ppo`, `train_bradley_terry`, `bon_estimate`, ... With `--jobs 1` all of it runs in this
process, so a breakpoint in any of them fires; by default models train in worker processes.
"""

import argparse
import os
import sys
import time
from dataclasses import replace

import torch

from minirmo.course import autograder, grade, handout
from minirmo.reproduce import (
    StudyFailed,
    bon_command,
    dpo_command,
    ensembles_command,
    prepare,
    reproduce,
    rl_command,
)
from minirmo.runs import overrides
from minirmo.runs.presets import ALGORITHMS, PRESETS, get_preset
from minirmo.runs.studies import seed_runs, write_config


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="minirmo", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    bon = commands.add_parser("bon", help="best-of-n against every proxy RM of a preset")
    rl = commands.add_parser("rl", help="PPO (or RLOO, GRPO) against every proxy size")
    rl.add_argument("--algorithm", nargs="+", choices=ALGORITHMS, default=["ppo"],
                    metavar="ALGORITHM", help="ppo, rloo and/or grpo, each once, side by side "
                    "(default: ppo, as in the paper)")
    rl.add_argument("--kl-coef", type=float, default=None,
                    help="per-token KL penalty coefficient (default: the preset's ppo.kl_coef, "
                         "0 in every shipped preset, as in the paper)")
    dpo = commands.add_parser("dpo", help="DPO and IPO at several betas, with no reward model")
    dpo.add_argument("--betas", type=float, nargs="+", metavar="B",
                     help="betas to sweep, each > 0 (default: the preset's, e.g. 0.01 0.1 1)")
    dpo.add_argument("--losses", nargs="+", metavar="LOSS",
                     help="direct-alignment losses: dpo, ipo (default: the preset's)")
    repro = commands.add_parser("reproduce", help="every study and figure of the paper")
    ensembles = commands.add_parser("ensembles", help="best-of-n and PPO against ensembles "
                                    "of proxies, with and without label noise")
    for command in (bon, rl, dpo, ensembles, repro):
        command.add_argument("--preset", default="tiny", choices=sorted(PRESETS),
                             help="experiment size (default: tiny)")
        command.add_argument("--out", default=None, help="output folder (default: runs/PRESET)")
        command.add_argument("--device", default="cpu", help="cpu or cuda (default: cpu)")
        seeds = command.add_mutually_exclusive_group()
        seeds.add_argument("--seeds", type=int, nargs="+", metavar="S",
                           help="random seeds (default: the preset's, e.g. 0 1 2 for tiny)")
        seeds.add_argument("--seed", type=int, help="one random seed (same as --seeds S)")
        command.add_argument("--jobs", type=int, default=None,
                             help="models trained at once, each in its own process on one "
                                  "thread (default: one per CPU core; 1: all in this process, "
                                  "where a debugger's breakpoints fire)")
        command.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                             dest="assignments",
                             help="change one setting of the preset, e.g. ppo.lr=3e-4 "
                                  "(repeatable; `minirmo presets NAME` lists them)")
    presets = commands.add_parser("presets", help="list the presets, or every setting of one")
    presets.add_argument("name", nargs="?", choices=sorted(PRESETS), help="a preset to show")
    handout.add_command(commands)  # the course kit: `minirmo handout DIR`,
    grade.add_command(commands)  # and `minirmo grade [DIR]`
    autograder.add_command(commands)  # and `minirmo autograder OUT.zip`, for Gradescope
    args = parser.parse_args(argv)
    if args.command == "presets":
        return print(_presets_text(args.name))
    if "course_command" in args:
        try:
            return args.course_command(args)
        except ValueError as err:
            parser.error(str(err))
    try:  # bad arguments are usage errors; anything later is a failure of the study
        algorithms = tuple(getattr(args, "algorithm", ["ppo"]))
        if len(set(algorithms)) != len(algorithms):
            raise ValueError(f"algorithm: name each at most once, got {' '.join(algorithms)}")
        if (getattr(args, "kl_coef", None) or 0.0) < 0:
            raise ValueError(f"kl-coef: must be >= 0, got {args.kl_coef}")
        preset = overrides.apply(get_preset(args.preset), args.assignments)
        if getattr(args, "betas", None) or getattr(args, "losses", None):  # validated by Preset
            preset = replace(preset, dpo_betas=tuple(sorted(args.betas or preset.dpo_betas)),
                             dpo_losses=tuple(args.losses or preset.dpo_losses))
        seeds = [args.seed] if args.seed is not None else args.seeds
        runs = seed_runs(preset, args.out or f"runs/{args.preset}", args.device, seeds)
        jobs = (os.cpu_count() or 1) if args.jobs is None else args.jobs
        if jobs < 1:
            raise ValueError(f"jobs: must be >= 1, got {args.jobs}")
        if args.command == "ensembles" and preset.ensembles is None:
            raise ValueError(f"preset: {args.preset!r} has no ensembles study")
    except ValueError as err:
        parser.error(str(err))
    # These models are small: one thread each is fastest, and a thread count that never
    # changes keeps every number bit-identical whether seeds run in parallel or not.
    torch.set_num_threads(1)
    start = time.time()
    for assignment in preset.overrides:
        print(f"preset {preset.name} with {assignment}")
    try:  # train every model first (in `jobs` processes); the command then only loads
        prepare(runs, args.command, getattr(args, "kl_coef", None), jobs, algorithms)
        if args.command == "bon":
            print(bon_command(runs))
        elif args.command == "rl":
            print(rl_command(runs, args.kl_coef, algorithms))
        elif args.command == "ensembles":
            print(ensembles_command(runs))
        elif args.command == "dpo":
            print(dpo_command(runs))
        else:
            print(reproduce(runs))
    except StudyFailed as err:
        sys.exit(f"minirmo {args.command}: {err}\nthe studies before it wrote their CSVs and "
                 f"every finished model is cached in {runs[0].cache.folder}: fix the cause and "
                 "run the same command to resume")
    except KeyboardInterrupt:
        sys.exit("interrupted: finished models are cached; run the same command to resume")
    write_config(runs)  # again: the cache now holds this command's seeds too
    figures = sorted(p.name for p in runs[0].out.glob("*.png"))
    print(f"seeds {[r.seed for r in runs]}: wrote the CSVs and {len(figures)} "
          f"figure{'' if len(figures) == 1 else 's'} to "
          f"{runs[0].out} in {time.time() - start:.0f} s")


def _presets_text(name: str | None) -> str:
    """`minirmo presets [NAME]`: the presets, or every setting of one as `--set` takes it."""
    if name is None:
        return "\n".join([f"{n}: {PRESETS[n].seeds} seed(s) by default" for n in sorted(PRESETS)]
                         + ["", "minirmo presets NAME lists every setting of one"])
    return "\n".join([f"preset {name} (change any line with --set FIELD=VALUE):"]
                     + overrides.describe(PRESETS[name]))
