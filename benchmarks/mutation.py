"""Mutation score of the course's spec: does a wrong implementation of each task fail its tests?

    python benchmarks/mutation.py                 # kl, bon, fit, ppo, reward, critic_free
    python benchmarks/mutation.py kl bon          # some modules only
    python benchmarks/mutation.py --timeout 600 --max-children 2

For every module this copies the project into a scratch folder, runs mutmut 3 (`pip install
mutmut`) on it with only that module's fast tests and the device checks (tests/test_devices.py),
and prints per module how many mutants were killed, how many survived, and how many of the
survivors are judged equivalent (listed in EQUIVALENT below with the reason). The score is
killed / (mutants − equivalent); a timeout counts as killed. For ppo, reward and critic_free
only the task functions count (`minirmo.course.tasks`): their trainers are exercised by slow
end-to-end tests that a mutation run cannot afford.

mutmut runs with process_isolation = "forkserver": forking a process that has imported torch
is not safe. Nothing here is timed; it is a measurement, printed, never a test.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from minirmo.course.tasks import TASKS  # noqa: E402

MODULES = ("kl", "bon", "fit", "ppo", "reward", "critic_free")
# modules whose every function counts; elsewhere only the task functions do
WHOLE_MODULE = {"kl", "bon", "fit"}
KILLED = {1, 3, 36, -24, 24, 152, 255}  # mutmut's exit codes for killed and timed out
TIMEOUT = {36, -24, 24, 152, 255}

# Survivors judged equivalent: (module, function, line before, line after, why). A mutant
# matches when its diff removes `before` and adds `after` (stripped lines).
EQUIVALENT = [
    ("kl", "bon_kl", "_check_n(np.asarray(n.detach().cpu(), dtype=np.float64))",
     "_check_n(np.asarray(n.detach().cpu(), dtype=None))",
     "the check reads integers and floats the same in any numeric dtype"),
    ("kl", "bon_kl", "_check_n(np.asarray(n.detach().cpu(), dtype=np.float64))",
     "_check_n(np.asarray(n.detach().cpu(), ))",
     "the check reads integers and floats the same in any numeric dtype"),
    ("kl", "bon_kl", "arr = np.asarray(n, dtype=np.float64)", "arr = np.asarray(n, dtype=None)",
     "np.log and / promote integer arrays to float64 anyway"),
    ("kl", "bon_kl", "arr = np.asarray(n, dtype=np.float64)", "arr = np.asarray(n, )",
     "np.log and / promote integer arrays to float64 anyway"),
    ("kl", "bon_kl_beirami", "n_arr = np.asarray(n, dtype=np.float64)",
     "n_arr = np.asarray(n, dtype=None)",
     "n is integral, and every use promotes it to float64: (1 − ε)^n and (n − 1)·log1p(−ε) with "
     "a float64 ε, and bon_kl converts its input itself"),
    ("kl", "bon_kl_beirami", "n_arr = np.asarray(n, dtype=np.float64)", "n_arr = np.asarray(n, )",
     "n is integral, and every use promotes it to float64: (1 − ε)^n and (n − 1)·log1p(−ε) with "
     "a float64 ε, and bon_kl converts its input itself"),
    ("bon", "pool_beirami_kl",
     "order = torch.sort(proxy, dim=1, stable=True).indices  # (prompts, N), as bon_estimate",
     "order = torch.sort(proxy, stable=True).indices  # (prompts, N), as bon_estimate",
     "proxy is checked to be 2-D, where dims 1 and -1 are the same"),
    ("bon", "pool_beirami_kl", "return (estimate * weights[:, None, :]).sum(-1).mean(-1)  # (K,)",
     "return (estimate * weights[:, None, :]).sum(-1).mean(+1)  # (K,)",
     "after .sum(-1) the estimate is 2-D (K, prompts), where dims 1 and -1 are the same"),
    ("bon", "pool_bon_kl",
     "for responses, scores in zip(pool, proxy, strict=True):  # (N, seq_len), (N,)",
     "for responses, scores in zip(pool, proxy, strict=False):"
     "  # (N, seq_len), (N,)",
     "the shape check just above makes pool and proxy the same length"),
    ("bon", "pool_bon_kl",
     "for responses, scores in zip(pool, proxy, strict=True):  # (N, seq_len), (N,)",
     "for responses, scores in zip(pool, proxy, strict=None):"
     "  # (N, seq_len), (N,)",
     "the shape check just above makes pool and proxy the same length"),
    ("bon", "pool_bon_kl",
     "for responses, scores in zip(pool, proxy, strict=True):  # (N, seq_len), (N,)",
     "for responses, scores in zip(pool, proxy, ):"
     "  # (N, seq_len), (N,)",
     "the shape check just above makes pool and proxy the same length"),
    ("kl", "bon_kl_exact", "r = np.asarray(rewards, dtype=np.float64)",
     "r = np.asarray(rewards, dtype=None)", "only the order of the reward levels matters"),
    ("kl", "bon_kl_exact", "r = np.asarray(rewards, dtype=np.float64)",
     "r = np.asarray(rewards, )", "only the order of the reward levels matters"),
    ("kl", "bon_kl_exact", "if abs(p.sum() - 1.0) > 1e-6:", "if abs(p.sum() - 1.0) >= 1e-6:",
     "p.sum() − 1 is exact (Sterbenz) and a multiple of 2^-53, never exactly 1e-6"),
    ("kl", "bon_kl_exact", 'raise ValueError("rewards must not contain NaN")',
     'raise ValueError("rewards must not contain nan")',
     "the wording of a message; the spec pins that it names `rewards`"),
    ("kl", "bon_kl_exact", "_check_n(np.asarray(n, dtype=np.float64))",
     "_check_n(np.asarray(n, dtype=None))", "the check reads any numeric dtype the same"),
    ("kl", "bon_kl_exact", "_check_n(np.asarray(n, dtype=np.float64))",
     "_check_n(np.asarray(n, ))", "the check reads any numeric dtype the same"),
    ("kl", "bon_kl_exact", "keep = p > 0", "keep = p >= 0",
     "a level of mass 0 has q = 0 and contributes 0 either way"),
    ("kl", "bon_kl_exact", 'with np.errstate(divide="ignore", invalid="ignore"):',
     'with np.errstate(divide="ignore", invalid=None):',
     "no invalid operation occurs: levels of mass 0 are dropped, so log_q is never -inf"),
    ("kl", "bon_kl_exact", 'with np.errstate(divide="ignore", invalid="ignore"):',
     'with np.errstate(divide="ignore", ):',
     "no invalid operation occurs: levels of mass 0 are dropped, so log_q is never -inf"),
    ("kl", "bon_kl_exact", "terms = np.where(q > 0, q * (log_q - np.log(mass)), 0.0)  # (L,)",
     "terms = np.where(q >= 0, q * (log_q - np.log(mass)), 0.0)  # (L,)",
     "where q = 0, q · (finite log ratio) is 0 anyway"),
    ("bon", "_bon_weight_matrix", "n = ns.to(torch.float64)[:, None]  # (K, 1)",
     "n = ns.to(None)[:, None]  # (K, 1)",
     "lgamma(n) is constant along each row, and a softmax ignores a per-row constant"),
    ("bon", "_bon_weight_matrix",
     "log_c = torch.lgamma(i) - torch.lgamma(n) - torch.lgamma((i - n + 1).clamp_min(1))  # (K, N)",
     "log_c = torch.lgamma(i) + torch.lgamma(n) - torch.lgamma((i - n + 1).clamp_min(1))  # (K, N)",
     "lgamma(n) is constant along each row, and a softmax ignores a per-row constant"),
    ("bon", "_bon_weight_matrix",
     "log_c = torch.lgamma(i) - torch.lgamma(n) - torch.lgamma((i - n + 1).clamp_min(1))  # (K, N)",
     "log_c = torch.lgamma(i) - torch.lgamma(n) - torch.lgamma((i - n + 1).clamp_min(2))  # (K, N)",
     "lgamma(1) = lgamma(2) = 0, and entries with i < n are set to -inf anyway"),
    ("bon", "bon_estimate",
     "order = torch.sort(proxy, dim=1, stable=True).indices  # (prompts, N) ascending proxy",
     "order = torch.sort(proxy, stable=True).indices  # (prompts, N) ascending proxy",
     "proxy is 2-D, where sort's default dim -1 is dim 1"),
    ("fit", "_d_log_d", "return d * np.log(np.where(d > 0, d, 1.0))",
     "return d * np.log(np.where(d > 0, d, 2.0))", "at d = 0 the log is multiplied by d = 0"),
    ("fit", "_fit", 'raise ValueError("d must be finite (no NaN or inf)")',
     'raise ValueError("d must be finite (no nan or inf)")',
     "the wording of a message; the spec pins that it names `d`"),
    ("fit", "_fit", 'raise ValueError("r must be finite (no NaN or inf)")',
     'raise ValueError("r must be finite (no nan or inf)")',
     "the wording of a message; the spec pins that it names `r`"),
    ("fit", "_fit", 'raise ValueError("d must be >= 0 (it is sqrt(KL))")',
     'raise ValueError("d must be >= 0 (it is sqrt(kl))")',
     "the wording of a message; the spec pins that it names `d`"),
    ("fit", "fit_scaling", 'raise ValueError("coef must be finite (no NaN or inf)")',
     'raise ValueError("coef must be finite (no nan or inf)")',
     "the wording of a message; the spec pins that it names `coef`"),
    ("fit", "_fit", "(alpha, beta), *_ = np.linalg.lstsq(X, r, rcond=None)",
     "(alpha, beta), *_ = np.linalg.lstsq(X, r, )", "rcond=None is lstsq's default (numpy 2)"),
    ("fit", "fit_scaling", "(slope, intercept), *_ = np.linalg.lstsq(X, y, rcond=None)",
     "(slope, intercept), *_ = np.linalg.lstsq(X, y, )", "rcond=None is lstsq's default (numpy 2)"),
    ("fit", "_fit",
     "d, r = np.asarray(d, dtype=np.float64), np.asarray(r, dtype=np.float64)",
     "d, r = np.asarray(d, dtype=np.float64), np.asarray(r, dtype=None)",
     "lstsq promotes r to the float64 of X, and r_squared converts it to float64 itself"),
    ("fit", "_fit",
     "d, r = np.asarray(d, dtype=np.float64), np.asarray(r, dtype=np.float64)",
     "d, r = np.asarray(d, dtype=np.float64), np.asarray(r, )",
     "lstsq promotes r to the float64 of X, and r_squared converts it to float64 itself"),
    ("fit", "fit_scaling", "y = np.asarray(coef, dtype=np.float64)",
     "y = np.asarray(coef, dtype=None)",
     "lstsq promotes y to the float64 of X, and r_squared converts it to float64 itself"),
    ("fit", "fit_scaling", "y = np.asarray(coef, dtype=np.float64)", "y = np.asarray(coef, )",
     "lstsq promotes y to the float64 of X, and r_squared converts it to float64 itself"),
    ("fit", "r_squared",
     "y, y_hat = np.asarray(y, dtype=np.float64), np.asarray(y_hat, dtype=np.float64)",
     "y, y_hat = np.asarray(y, dtype=np.float64), np.asarray(y_hat, dtype=None)",
     "y_hat is divided by the float64 scale before any arithmetic, which promotes it exactly"),
    ("fit", "r_squared",
     "y, y_hat = np.asarray(y, dtype=np.float64), np.asarray(y_hat, dtype=np.float64)",
     "y, y_hat = np.asarray(y, dtype=np.float64), np.asarray(y_hat, )",
     "y_hat is divided by the float64 scale before any arithmetic, which promotes it exactly"),
    ("kl", "sampled_kl", "return per_token.sum(-1)", "return per_token.sum(+1)",
     "inputs are checked to be 2-D, where dims 1 and -1 are the same"),
    ("kl", "sampled_kl", "return torch.where(mask.bool(), per_token, 0.0).sum(-1)  # (batch,)",
     "return torch.where(mask.bool(), per_token, 0.0).sum(+1)  # (batch,)",
     "inputs are checked to be 2-D, where dims 1 and -1 are the same"),
]

# gae's two running zeros: their dtype arguments (4 mutants). (Their device arguments are not
# equivalent: tests/test_devices.py runs gae on meta tensors, where a CPU zero raises.)
_PROMOTES = ("a float32 zero is exact, and with float32 or float64 values (all PPO uses) type "
             "promotion gives the values' dtype back after the first step")
for _var, _note in (("next_advantage", "A_{t+1}"), ("next_value", "V(s_{t+1})")):
    _line = f"{_var} = torch.zeros(B, dtype=values.dtype, device=values.device)  # {_note}"
    for _mutant in ("dtype=None, device=values.device", "device=values.device"):
        EQUIVALENT.append(("ppo", "gae", _line,
                           f"{_var} = torch.zeros(B, {_mutant})  # {_note}", _PROMOTES))


def task_functions(module: str) -> set[str]:
    """The functions of `module` that course tasks ask for."""
    return {f for t in TASKS if t.module == f"minirmo/{module}.py" for f in t.functions}


def markers(module: str) -> str:
    """The pytest -m expression of the module's task tests."""
    return " or ".join(t.marker for t in TASKS if t.module == f"minirmo/{module}.py")


def scratch_copy(module: str, work: Path) -> list[str]:
    """The package, the module's test file, the device checks (tests/test_devices.py: every
    function on meta tensors; its tutorial checks read tutorials/) and the tests' helpers,
    with a mutmut config. Returns the test files it selects."""
    for folder in ("minirmo", "tutorials"):
        shutil.copytree(ROOT / folder, work / folder,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    (work / "tests").mkdir()
    for helper in (ROOT / "tests").glob("*.py"):
        if not helper.name.startswith("test_"):
            shutil.copyfile(helper, work / "tests" / helper.name)
    tests = [f"tests/test_{module}.py", "tests/test_devices.py"]
    for test in tests:
        shutil.copyfile(ROOT / test, work / test)
    args = ["-p", "no:cacheprovider", "-q"]
    if module not in WHOLE_MODULE:  # the fast tests: the task functions' own
        args += ["-m", markers(module)]
    config = (ROOT / "pyproject.toml").read_text(encoding="utf-8") + f"""
[tool.mutmut]
source_paths = ["minirmo"]
only_mutate = ["minirmo/{module}.py"]
also_copy = ["tutorials"]
pytest_add_cli_args_test_selection = {json.dumps(tests)}
pytest_add_cli_args = {json.dumps(args)}
process_isolation = "forkserver"
"""
    (work / "pyproject.toml").write_text(config, encoding="utf-8")
    return tests


def function_of(key: str, module: str) -> str:
    """`minirmo.ppo.x_policy_loss__mutmut_3` -> "policy_loss"."""
    name = key.removeprefix(f"minirmo.{module}.").rsplit("__mutmut_", 1)[0]
    return name.split("ǁ")[-1] if "ǁ" in name else name.removeprefix("x_")


def diff_lines(key: str, work: Path) -> tuple[list[str], list[str]]:
    """The stripped lines a mutant removes and adds, from `mutmut show`."""
    shown = subprocess.run([sys.executable, "-m", "mutmut", "show", key], cwd=work,
                           capture_output=True, text=True).stdout
    removed = [line[1:].strip() for line in shown.splitlines()
               if line.startswith("-") and not line.startswith("---")]
    added = [line[1:].strip() for line in shown.splitlines()
             if line.startswith("+") and not line.startswith("+++")]
    return removed, added


def equivalent(module: str, function: str, removed, added):
    """The reason a survivor is judged equivalent, or None."""
    for mod, func, before, after, why in EQUIVALENT:
        if (mod, func) == (module, function) and before in removed and after in added:
            return why
    return None


def measure(module: str, timeout: float, max_children: int) -> dict:
    """Run mutmut on one module; return its counts and survivors."""
    with tempfile.TemporaryDirectory(prefix=f"mutation_{module}_") as tmp:
        work = Path(tmp)
        tests = scratch_copy(module, work)
        env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(work)}
        try:
            run = subprocess.run(["nice", "-n", "19", sys.executable, "-m", "mutmut", "run",
                                  "--max-children", str(max_children)], cwd=work, env=env,
                                 capture_output=True, text=True, timeout=timeout)
            finished = True
        except subprocess.TimeoutExpired:
            finished = False
        meta = work / "mutants" / "minirmo" / f"{module}.py.meta"
        codes = json.loads(meta.read_text())["exit_code_by_key"] if meta.is_file() else {}
        if finished and not any(c is not None for c in codes.values()):
            # mutmut first runs the tests unmutated; if one fails there it runs no mutant
            tail = (run.stdout + run.stderr).replace("\r", "\n").strip().splitlines()[-1:]
            raise RuntimeError(f"{module}: mutmut finished without running a mutant (exit "
                               f"{run.returncode}: {' '.join(tail)}); most often a test of "
                               f"{' '.join(tests)} fails unmutated in the scratch copy")
        counted = {k: c for k, c in codes.items()
                   if module in WHOLE_MODULE or function_of(k, module) in task_functions(module)}
        survivors = []
        for key, code in sorted(counted.items()):
            if code in KILLED or code is None:
                continue
            function = function_of(key, module)
            removed, added = diff_lines(key, work)
            survivors.append({"key": key, "function": function, "code": code,
                              "removed": removed, "added": added,
                              "equivalent": equivalent(module, function, removed, added)})
    killed = sum(c in KILLED for c in counted.values())
    equal = sum(s["equivalent"] is not None for s in survivors)
    checked = sum(c is not None for c in counted.values())
    return {"module": module, "finished": finished, "mutants": len(counted), "checked": checked,
            "killed": killed, "timeouts": sum(c in TIMEOUT for c in counted.values()),
            "survived": len(survivors), "equivalent": equal,
            "score": killed / max(checked - equal, 1), "survivors": survivors}


def report(result: dict) -> str:
    """Lines for one module: its score, then every survivor with its diff or its reason."""
    r = result
    strict = (r["killed"] - r["timeouts"]) / max(r["checked"] - r["equivalent"], 1)
    lines = [f"{r['module']:<7} {r['score']:6.1%} killed of non-equivalent ({strict:.1%} if "
             "timeouts count as survivors) "
             f"[{r['killed']} killed incl. {r['timeouts']} timeouts, {r['survived']} survived of "
             f"which {r['equivalent']} equivalent; {r['checked']}/{r['mutants']} mutants run"
             + ("" if r["finished"] else ", STOPPED AT THE TIMEOUT") + "]"]
    for s in r["survivors"]:
        verdict = f"equivalent: {s['equivalent']}" if s["equivalent"] else "SURVIVED"
        change = " / ".join(s["removed"]) + "  ->  " + " / ".join(s["added"])
        lines.append(f"    {s['key'].split('.')[-1]}  {verdict}\n        {change}")
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("modules", nargs="*",
                        help=f"modules to mutate, of {MODULES} (default: all)")
    parser.add_argument("--timeout", type=float, default=900,
                        help="seconds per module before mutmut is stopped (default: 900)")
    parser.add_argument("--max-children", type=int, default=2, help="parallel mutants")
    parser.add_argument("--json", default=None, help="also write the results to this file")
    args = parser.parse_args(argv)
    unknown = set(args.modules) - set(MODULES)
    if unknown:
        parser.error(f"modules: unknown {sorted(unknown)}; choose from {MODULES}")
    if shutil.which("mutmut") is None and not _importable("mutmut"):
        sys.exit("mutmut is not installed: pip install mutmut")
    results = []
    for module in args.modules or MODULES:
        results.append(measure(module, args.timeout, args.max_children))
        print(report(results[-1]), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1, ensure_ascii=False))


def _importable(name: str) -> bool:
    try:
        __import__(name)
    except ImportError:
        return False
    return True


if __name__ == "__main__":
    main()
