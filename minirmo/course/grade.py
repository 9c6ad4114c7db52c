"""Grade a student's copy: run each task's tests and write a per-task score.

`grade(DIR)` copies the student's package `DIR/minirmo` into a fresh temporary folder next to
the *grader's* tests (those of the source checkout this package was installed from, see
`handout.project_root`; a student cannot make a task pass by editing the tests), runs pytest
there in a subprocess on the task tests only (``-m "task_1_1 or task_1_2 or ..."``), and reads
each test's outcome and task markers back through a small pytest plugin. A task is

    passed            every one of its tests passed
    not implemented   some test failed on a stub: NotImplementedError("Task X.Y: ...")
    failed            some test failed otherwise (a wrong result, an exception)
    error             its test file could not be collected (the package does not import, say),
                      or pytest ran no test at all
    no tests          no collected test carries its marker (it scores 0)

and scores weight × (tests passed / tests), so a task with 8 of 10 properties right gets 80%.
The weights default to `minirmo.course.tasks.TASKS` and can be overridden by a JSON file
{"2.1": 10, ...}. Two report files are written: the JUnit XML of the pytest run and a
Gradescope-style ``results.json`` ({"score", "max_score", "tests": [{"name", "score",
"max_score", "status", "output", "visibility"}], ...}).

**Hidden tests.** `grade(..., hidden=FOLDER)` also runs the instructor's test files in FOLDER
(`tests_hidden/` in a source checkout; never in a handout), copied beside the spec's tests so
they share its helpers. They carry the same task markers and count like any other test of
their task. In results.json each task with hidden tests gets a second entry, "Task X.Y: …
(hidden tests)", worth their share of its points and shown to students only once grades are
published; the top-level "output", which students always see, states the total with them.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from minirmo.course.handout import project_root
from minirmo.course.tasks import BY_ID, TASKS, Task

# Written into the grading folder and loaded with `pytest -p`: it records, for every test, its
# task markers, outcome and failure message in the JSON file named by MINIRMO_GRADE_LOG.
PLUGIN = '''
import json, os, re

_records = {}


def pytest_collection_finish(session):
    for item in session.items:  # the selected tests only
        tasks = sorted(m.name[len("task_"):].replace("_", ".") for m in item.iter_markers()
                       if re.fullmatch(r"task_\\d+_\\d+", m.name))
        _records[item.nodeid] = {"tasks": tasks, "outcome": "not run", "message": ""}


def pytest_runtest_logreport(report):
    record = _records.get(report.nodeid)
    if record is None or record["outcome"] in ("failed", "error"):
        return
    if report.failed:
        text = report.longreprtext
        stub = re.search(r"NotImplementedError: (Task \\d+\\.\\d+: [^\\n]*)", text)
        crash = getattr(getattr(report.longrepr, "reprcrash", None), "message", "")
        record["outcome"] = "failed" if report.when == "call" else "error"
        record["message"] = stub.group(0) if stub else (crash or text[-2000:])
        record["stub"] = bool(stub)
    elif report.skipped:
        record["outcome"] = "skipped"
    elif report.when == "call":
        record["outcome"] = "passed"


def pytest_collectreport(report):
    if report.failed:  # a test file that does not import: its tasks are graded "error"
        _records[report.nodeid] = {"tasks": [], "outcome": "collection error",
                                   "message": report.longreprtext[-3000:]}


def pytest_sessionfinish(session):
    with open(os.environ["MINIRMO_GRADE_LOG"], "w", encoding="utf-8") as f:
        json.dump(_records, f)
'''


@dataclass
class TaskResult:
    """How one task fared: its tests, how many passed, its status and score."""

    task: Task
    weight: float
    tests: int
    passed: int
    status: str  # "passed", "failed", "not implemented", "no tests" or "error"
    output: str  # the failing tests and their messages
    records: dict = field(default_factory=dict)  # {test node id: outcome, message, hidden}
    hidden: int = 0  # of `tests`, how many are hidden tests
    hidden_passed: int = 0  # of `passed`, how many are hidden tests

    @property
    def score(self) -> float:
        return self.weight * self.passed / self.tests if self.tests else 0.0


def load_weights(path=None) -> dict[str, float]:
    """{task id: points}: the registry's weights, updated from the JSON file at `path` if given.

    Raises ValueError naming weights for an unreadable file, an unknown task id or a weight
    that is not a finite number ≥ 0.
    """
    weights = {task.id: float(task.weight) for task in TASKS}
    if path is None:
        return weights
    try:
        given = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise ValueError(f"weights: cannot read {path}: {err}") from err
    if not isinstance(given, dict):
        raise ValueError(f"weights: {path} must hold a JSON object {{task id: points}}")
    for task_id, points in given.items():
        if task_id not in BY_ID:
            raise ValueError(f"weights: unknown task {task_id!r} in {path}; tasks are "
                             f"{sorted(BY_ID)}")
        if isinstance(points, bool) or not isinstance(points, int | float) or not (
                0 <= points < float("inf")):
            raise ValueError(f"weights: task {task_id} must be worth a number >= 0, got "
                             f"{points!r}")
        weights[task_id] = float(points)
    return weights


def hidden_files(hidden) -> list[Path]:
    """The test files (test_*.py) of the hidden-tests folder `hidden`; ValueError naming hidden
    if it is not a folder or holds none."""
    files = sorted(Path(hidden).glob("test_*.py")) if Path(hidden).is_dir() else []
    if not files:
        raise ValueError(f"hidden: {hidden} is not a folder holding test_*.py files")
    return files


def _prepare(submission: Path, spec: Path, work: Path, tasks, hidden=None) -> list[str]:
    """Copy the student's package, the grader's task tests and the hidden test files (into
    tests/, beside the spec's helpers) into `work`; return the test files, hidden ones last."""
    shutil.copytree(submission / "minirmo", work / "minirmo",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    (work / "tests").mkdir()
    files = sorted({task.tests for task in tasks})
    helpers = [p.relative_to(spec).as_posix() for p in sorted((spec / "tests").glob("*.py"))
               if not p.name.startswith("test_")]  # conftest.py and the tests' own helpers
    for name in [*helpers, *files]:
        shutil.copyfile(spec / name, work / name)
    for path in hidden_files(hidden) if hidden is not None else []:
        if (spec / "tests" / path.name).exists():
            raise ValueError(f"hidden: {path} has the name of a test file of the spec, "
                             f"{spec / 'tests' / path.name}; rename it")
        shutil.copyfile(path, work / "tests" / path.name)
        files.append(f"tests/{path.name}")
    shutil.copyfile(spec / "pyproject.toml", work / "pyproject.toml")  # the markers
    (work / "_minirmo_grading.py").write_text(PLUGIN, encoding="utf-8")
    return files


def run_tests(submission, spec=None, tasks=TASKS, timeout: float = 900, junit=None,
              hidden=None):
    """Run the task tests of `tasks` on the package in `submission`; return per-test records.

    submission: a folder holding the student's `minirmo/` package.
    spec:       the checkout whose tests are the specification (default: this package's).
    junit:      where to write the JUnit XML of the run (default: nowhere).
    hidden:     a folder of hidden test files to run too (default: none).
    Returns ({test node id: {"tasks", "outcome", "message", "hidden"}}, pytest's output). If
    pytest runs past `timeout` seconds, every test it did not finish reads "not run".
    """
    submission = Path(submission)
    if not (submission / "minirmo" / "__init__.py").is_file():
        raise ValueError(f"submission: {submission} holds no minirmo/ package to grade")
    spec = Path(spec) if spec is not None else project_root()
    with tempfile.TemporaryDirectory(prefix="minirmo_grade_") as tmp:
        work = Path(tmp)
        files = _prepare(submission, spec, work, tasks, hidden)
        secret = {f"tests/{p.name}" for p in hidden_files(hidden)} if hidden is not None else set()
        log = work / "grade_log.json"
        xml = work / "junit.xml"
        command = [sys.executable, "-m", "pytest", "-p", "_minirmo_grading", "-p",
                   "no:cacheprovider", "-q", "--no-header", "--tb=short",
                   "--continue-on-collection-errors", "-o",
                   "junit_family=xunit1",
                   "--junitxml", str(xml), "-m", " or ".join(t.marker for t in tasks), *files]
        env = {**os.environ, "MINIRMO_GRADE_LOG": str(log), "PYTHONPATH": str(work),
               "PYTHONDONTWRITEBYTECODE": "1"}
        try:
            result = subprocess.run(command, cwd=work, env=env, capture_output=True, text=True,
                                    timeout=timeout)
            output = result.stdout + result.stderr
        except subprocess.TimeoutExpired as err:
            output = f"pytest ran past {timeout} s and was stopped\n{err.stdout or ''}"
        records = json.loads(log.read_text(encoding="utf-8")) if log.is_file() else {}
        for node, record in records.items():
            record["hidden"] = node.split("::")[0] in secret
            if record["hidden"] and record["outcome"] == "collection error":  # whose tests?
                text = (work / node.split("::")[0]).read_text(encoding="utf-8")
                record["tasks"] = sorted({f"{a}.{b}" for a, b in
                                          re.findall(r"mark\.task_(\d+)_(\d+)", text)})
        if junit is not None and xml.is_file():
            shutil.copyfile(xml, junit)
    return records, output


def summarize(records: dict, weights: dict[str, float], tasks=TASKS) -> list[TaskResult]:
    """One `TaskResult` per task from the per-test records of `run_tests`."""
    results = []
    for task in tasks:
        broken = {node: r for node, r in records.items() if r["outcome"] == "collection error"
                  and (node == task.tests or task.id in r["tasks"])}
        mine = {} if broken else {node: r for node, r in records.items()
                                  if task.id in r["tasks"]}
        passed = sum(r["outcome"] == "passed" for r in mine.values())
        failing = {node: r for node, r in mine.items() if r["outcome"] != "passed"}
        if broken:  # a test file of the task does not import: the task scores 0
            status, failing = "error", broken
        elif not mine:
            status = "no tests"
        elif not failing:
            status = "passed"
        elif any(r.get("stub") for r in failing.values()):
            status = "not implemented"
        else:
            status = "failed"
        output = "\n".join(f"{node.split('::')[-1]}: {r['outcome']}: {r['message']}".strip()
                           for node, r in failing.items())
        hidden = [r for r in mine.values() if r.get("hidden")]
        results.append(TaskResult(task, weights[task.id], len(mine), passed, status,
                                  f"{passed}/{len(mine)} tests passed" + (
                                      f"\n{output}" if output else ""), mine, len(hidden),
                                  sum(r["outcome"] == "passed" for r in hidden)))
    return results


def table(results: list[TaskResult]) -> str:
    """The per-task table that `minirmo grade` prints."""
    width = max(len(r.task.title) for r in results)
    lines = [f"{'task':<5} {'statement':<{width}} {'tests':>5} {'passed':>6}  "
             f"{'status':<15} {'score':>11}"]
    for r in results:
        lines.append(f"{r.task.id:<5} {r.task.title:<{width}} {r.tests:>5} {r.passed:>6}  "
                     f"{r.status:<15} {r.score:>5.1f}/{r.weight:<5g}")
    total, most = sum(r.score for r in results), sum(r.weight for r in results)
    lines.append(f"{'total':<5} {'':<{width}} {'':>5} {'':>6}  {'':<15} {total:>5.1f}/{most:<5g}")
    hidden = sum(r.hidden for r in results)
    if hidden:
        lines.append(f"the tests and scores include {hidden} hidden tests, "
                     f"{sum(r.hidden_passed for r in results)} of them passed")
    return "\n".join(lines)


def _entries(r: TaskResult) -> list[dict]:
    """A task's Gradescope tests: one for its public tests and, if it has hidden tests, one for
    those (shown once grades are published), each worth its share of the task's points."""
    if not r.hidden:
        return [{"name": r.task.message, "score": round(r.score, 4), "max_score": r.weight,
                 "status": "passed" if r.status == "passed" else "failed",
                 "output": f"{r.status}: {r.output}", "visibility": "visible"}]
    entries = []
    for hidden, name, visibility in ((False, r.task.message, "visible"),
                                     (True, f"{r.task.message} (hidden tests)",
                                      "after_published")):
        mine = {node: rec for node, rec in r.records.items() if rec.get("hidden") == hidden}
        passed = sum(rec["outcome"] == "passed" for rec in mine.values())
        failing = "\n".join(f"{node.split('::')[-1]}: {rec['outcome']}: {rec['message']}"
                             for node, rec in mine.items() if rec["outcome"] != "passed")
        entries.append({"name": name, "score": round(r.weight * passed / r.tests, 4),
                        "max_score": round(r.weight * len(mine) / r.tests, 4),
                        "status": "passed" if passed == len(mine) else "failed",
                        "output": f"{r.status}: {passed}/{len(mine)} tests passed"
                                  + (f"\n{failing}" if failing else ""),
                        "visibility": visibility})
    return entries


def gradescope(results: list[TaskResult], seconds: float) -> dict:
    """The Gradescope autograder's results.json for these results.

    Gradescope hides a submission's total from students while any of its tests is hidden, so
    the top-level "output", which they always see, ends with the total.
    """
    score, most = round(sum(r.score for r in results), 4), sum(r.weight for r in results)
    return {
        "score": score,
        "max_score": most,
        "execution_time": round(seconds, 1),
        "output": f"{table(results)}\ntotal score: {score:g} of {most:g}",
        "tests": [entry for r in results for entry in _entries(r)],
    }


def grade(submission, out=None, weights=None, task_ids=None, spec=None,
          timeout: float = 900, hidden=None) -> list[TaskResult]:
    """Grade the package in `submission`; write junit.xml and results.json into `out`.

    out: report folder (default: SUBMISSION/grading). weights: a JSON file of points per task
    (see `load_weights`). task_ids: grade only these tasks (e.g. ["2.1", "2.2"] for one
    week's assignment). spec: the checkout whose tests are the specification. hidden: a folder
    of hidden test files that count too (e.g. tests_hidden).
    """
    tasks = TASKS if not task_ids else tuple(_task(t) for t in task_ids)
    points = load_weights(weights)
    if hidden is not None:
        hidden_files(hidden)  # a bad folder is a usage error before anything runs
    out = Path(out) if out is not None else Path(submission) / "grading"
    out.mkdir(parents=True, exist_ok=True)
    start = time.time()
    records, output = run_tests(submission, spec, tasks, timeout, junit=out / "junit.xml",
                                hidden=hidden)
    results = summarize(records, points, tasks)
    if not records:  # pytest never got to run a test (a syntax error, a bad import): say why
        for r in results:
            r.status = "error"
            r.output += f"\npytest did not run:\n{output[-3000:]}"
    report = gradescope(results, time.time() - start)
    (out / "results.json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n",
                                      encoding="utf-8")
    return results


def _task(task_id: str) -> Task:
    if task_id not in BY_ID:
        raise ValueError(f"tasks: unknown task {task_id!r}; choose from {sorted(BY_ID)}")
    return BY_ID[task_id]


def add_command(commands) -> None:
    """Register `minirmo grade [DIR]` on the CLI's subparsers."""
    parser = commands.add_parser("grade", help="run each task's tests on a student's copy and "
                                 "write a per-task score (JUnit XML and results.json)")
    parser.add_argument("dir", nargs="?", default=".",
                        help="the student's project, holding minirmo/ (default: .)")
    parser.add_argument("--out", default=None, help="report folder (default: DIR/grading)")
    parser.add_argument("--weights", default=None,
                        help='JSON file of points per task, e.g. {"2.1": 10} (default: the '
                             "registry's, minirmo/course/tasks.py)")
    parser.add_argument("--tasks", default=None,
                        help="comma-separated task ids to grade, e.g. 2.1,2.2 (default: all)")
    parser.add_argument("--timeout", type=float, default=900,
                        help="seconds before the test run is stopped (default: 900)")
    parser.add_argument("--hidden", default=None, metavar="FOLDER",
                        help="the instructor's hidden tests to run too, e.g. tests_hidden "
                             "(default: none)")
    parser.set_defaults(course_command=_cmd_grade)


def _cmd_grade(args) -> None:
    task_ids = [t.strip() for t in args.tasks.split(",")] if args.tasks else None
    out = Path(args.out) if args.out else Path(args.dir) / "grading"
    results = grade(args.dir, out, args.weights, task_ids, timeout=args.timeout,
                    hidden=args.hidden)
    print(table(results))
    print(f"wrote {out / 'junit.xml'} and {out / 'results.json'}")
