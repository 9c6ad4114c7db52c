"""The `minirmo` command: run the paper's experiments on a preset and write CSVs and figures.

    minirmo bon --preset tiny --out runs/tiny     best-of-n against every proxy RM
    minirmo rl  --preset tiny --out runs/tiny     PPO against every proxy size (most data)
    minirmo reproduce --preset tiny --out runs/tiny   every study, CSV and figure of the paper

Every command caches its trained models under OUT/cache, so running it again (or after an
interrupt) retrains nothing that was finished.
"""

import argparse
import sys
import time

from minirmo import fit, grade, handout, plots
from minirmo.experiments import (
    PRESETS,
    Run,
    bon_experiment,
    describe_gold,
    get_preset,
    rl_experiment,
    rm_table,
)
from minirmo.reproduce import reproduce


def summarize_bon(rows, rm_rows) -> str:
    """A text table: per proxy, its validation accuracy and where its best-of-n gold peaks."""
    accuracy = {(r["rm_params"], r["rm_data"]): r["val_acc"] for r in rm_rows
                if r["rm"] == "proxy"}
    lines = [f"{'proxy params':>12} {'pairs':>6} {'val acc':>7} {'peak n':>7} {'peak gold':>9} "
             f"{'gold at N':>9} {'proxy at N':>10}"]
    for (params, data), curve in plots.group(rows, "rm_params", "rm_data").items():
        best = max(curve, key=lambda r: r["gold"])
        lines.append(f"{params:>12,} {data:>6} {accuracy[params, data]:>7.3f} {best['n']:>7} "
                     f"{best['gold']:>9.3f} {curve[-1]['gold']:>9.3f} {curve[-1]['proxy']:>10.3f}")
    return "\n".join(lines)


def cmd_bon(args) -> None:
    run = Run(get_preset(args.preset), args.out, args.device, args.seed)
    start = time.time()
    rm_rows = rm_table(run)
    print(describe_gold(rm_rows))
    rows = bon_experiment(run)
    plots.plot_scores_vs_kl(rows, "bon", run.out / "bon.png")
    print(summarize_bon(rows, rm_rows))
    print(f"wrote {run.out / 'bon.csv'}, {run.out / 'rm.csv'} and {run.out / 'bon.png'} "
          f"in {time.time() - start:.0f} s")


def summarize_rl(rows) -> str:
    """A text table: per proxy, the KL reached, the gold peak and the fitted rl_form."""
    lines = [f"{'proxy params':>12} {'pairs':>6} {'KL end':>6} {'peak step':>9} "
             f"{'peak gold':>9} {'gold end':>8} {'proxy end':>9} {'rl_form R2':>10}"]
    for (params, data), curve in plots.group(rows, "rm_params", "rm_data").items():
        best = max(curve, key=lambda r: r["gold"])
        r2 = fit.fit_rl([max(r["kl"], 0) ** 0.5 for r in curve], [r["gold"] for r in curve]).r2
        lines.append(f"{params:>12,} {data:>6} {curve[-1]['kl']:>6.2f} {best['step']:>9} "
                     f"{best['gold']:>9.3f} {curve[-1]['gold']:>8.3f} {curve[-1]['proxy']:>9.3f} "
                     f"{r2:>10.3f}")
    return "\n".join(lines)


def cmd_rl(args) -> None:
    if args.kl_coef < 0:
        raise ValueError(f"kl-coef: must be >= 0, got {args.kl_coef}")
    run = Run(get_preset(args.preset), args.out, args.device, args.seed)
    start = time.time()
    rows = rl_experiment(run, kl_coef=args.kl_coef)
    plots.plot_scores_vs_kl(rows, "rl", run.out / "rl.png")
    plots.plot_kl_vs_step(rows, run.out / "rl_kl_vs_step.png")
    print(summarize_rl(rows))
    print(f"wrote {run.out / 'rl.csv'}, rl.png, rl_kl_vs_step.png and rl_samples.txt in "
          f"{time.time() - start:.0f} s")


def cmd_reproduce(args) -> None:
    run = Run(get_preset(args.preset), args.out, args.device, args.seed)
    start = time.time()
    print(reproduce(run))
    figures = sorted(p.name for p in run.out.glob("*.png"))
    print(f"wrote {len(figures)} figures and the CSVs to {run.out} in {time.time() - start:.0f} s")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="minirmo", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    bon = commands.add_parser("bon", help="best-of-n against every proxy RM of a preset")
    rl = commands.add_parser("rl", help="PPO against every proxy size of a preset")
    rl.add_argument("--kl-coef", type=float, default=0.0,
                    help="per-token KL penalty coefficient (default: 0, as in the paper)")
    repro = commands.add_parser("reproduce", help="every study and figure of the paper")
    for command in (bon, rl, repro):
        command.add_argument("--preset", default="tiny", choices=sorted(PRESETS),
                             help="experiment size (default: tiny)")
        command.add_argument("--out", default=None, help="output folder (default: runs/PRESET)")
        command.add_argument("--device", default="cpu", help="cpu or cuda (default: cpu)")
        command.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    handout.add_command(commands)  # the course kit: `minirmo handout DIR`,
    grade.add_command(commands)  # and `minirmo grade [DIR]`
    args = parser.parse_args(argv)
    if "course_command" in args:
        try:
            return args.course_command(args)
        except ValueError as err:
            parser.error(str(err))
    args.out = args.out or f"runs/{args.preset}"
    try:
        {"bon": cmd_bon, "rl": cmd_rl, "reproduce": cmd_reproduce}[args.command](args)
    except ValueError as err:
        parser.error(str(err))
    except KeyboardInterrupt:
        sys.exit("interrupted: finished models are cached; run the same command to resume")
