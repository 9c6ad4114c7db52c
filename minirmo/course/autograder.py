"""A Gradescope autograder for the course: `minirmo autograder OUT.zip`.

Gradescope's autograder is a zip with two scripts at its top. It unpacks the zip into
/autograder/source and runs `setup.sh` once, as root, to build an image; then, for every
submission, it puts the student's files in /autograder/submission, runs `run_autograder`, and
reads /autograder/results/results.json. The zip `build` writes holds

    setup.sh          installs a CPU build of torch (the default wheel would pull gigabytes of
                      CUDA libraries) and the dependencies of the package in spec/
    run_autograder    `python3 -m minirmo.course.autograder ROOT` on the spec's kit: `run` below
    settings.json     the tasks to grade and the timeout
    weights.json      points per task, if given (see `grade.load_weights`)
    spec/             a handout (`handout.make_handout`): the package with every solution
                      stubbed, its tests and pyproject.toml. Its tests are the specification,
                      and the reference's solutions never leave the instructor's machine
    tests_hidden/     the hidden tests, if any (by default the checkout's tests_hidden/)

`run(ROOT)` grades the `minirmo/` package found in ROOT/submission (at its top, or one folder
down, as a zip of the project unpacks) with `grade.grade`, spec and hidden tests from
ROOT/source, and writes ROOT/results/results.json: Gradescope's, with per-test partial credit
and the total in its output. The environment variable MINIRMO_AUTOGRADER_ROOT moves ROOT from
/autograder to any folder, so that a test can unzip the autograder into a temporary folder and
run it end to end.
"""

import json
import os
import sys
import tempfile
import zipfile
from pathlib import Path

from minirmo.course.grade import (
    TaskResult,
    _task,
    grade,
    gradescope,
    hidden_files,
    load_weights,
)
from minirmo.course.handout import make_handout, project_root
from minirmo.course.tasks import TASKS

SPEC = ("minirmo", "tests", "pyproject.toml", "README.md")  # what of a handout spec/ holds

SETUP = """\
#!/usr/bin/env bash
# Gradescope runs this once, as root, in /autograder/source, when it builds the image.
set -euo pipefail
cd "$(dirname "$0")"
if ! python3 -m pip --version >/dev/null 2>&1; then
    apt-get update && apt-get install -y python3 python3-pip
fi
export PIP_BREAK_SYSTEM_PACKAGES=1  # the image is this autograder's alone (Ubuntu 24.04's pip)
# A CPU build of torch: the default wheel would pull several GB of CUDA libraries.
python3 -m pip install torch --index-url https://download.pytorch.org/whl/cpu
python3 -m pip install "./spec[dev]"  # the package's dependencies, pytest and hypothesis
"""

RUN = """\
#!/usr/bin/env bash
# Gradescope runs this for every submission: it grades /autograder/submission and writes
# /autograder/results/results.json. MINIRMO_AUTOGRADER_ROOT moves /autograder (a local test).
set -euo pipefail
root="${MINIRMO_AUTOGRADER_ROOT:-/autograder}"
PYTHONPATH="$root/source/spec" python3 -m minirmo.course.autograder "$root"
"""


def build(out, hidden=None, weights=None, task_ids=None, timeout: float = 900,
          source=None) -> list[str]:
    """Write the autograder zip to `out`; return the names it holds.

    hidden: a folder of hidden tests (default: the checkout's tests_hidden/, if it has one).
    weights: a JSON file of points per task. task_ids: grade only these tasks. source: the
    reference checkout (default: the one holding this package). Raises ValueError naming the
    argument for an existing `out`, a bad weights file, an unknown task or a bad hidden folder.
    """
    out = Path(out)
    if out.exists():
        raise ValueError(f"out: {out} exists; the autograder needs a new file name")
    root = Path(source) if source is not None else project_root()
    if hidden is None and (root / "tests_hidden").is_dir():
        hidden = root / "tests_hidden"
    secret = hidden_files(hidden) if hidden is not None else []
    load_weights(weights)  # refuse a bad file now, not on Gradescope
    settings = {"tasks": [_task(t).id for t in task_ids] if task_ids else None,
                "timeout": timeout}
    with tempfile.TemporaryDirectory(prefix="minirmo_autograder_") as tmp:
        spec = Path(tmp) / "spec"
        make_handout(spec, root)
        files = {"setup.sh": SETUP.encode(), "run_autograder": RUN.encode(),
                 "settings.json": (json.dumps(settings, indent=2) + "\n").encode()}
        if weights is not None:
            files["weights.json"] = Path(weights).read_bytes()
        files.update({f"tests_hidden/{p.name}": p.read_bytes() for p in secret})
        for entry in SPEC:
            paths = [spec / entry] if (spec / entry).is_file() else sorted(
                p for p in (spec / entry).rglob("*") if p.is_file())
            files.update({f"spec/{p.relative_to(spec).as_posix()}": p.read_bytes()
                          for p in paths})
        out.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, content in files.items():
                info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
                executable = name in ("setup.sh", "run_autograder")
                info.external_attr = (0o100755 if executable else 0o100644) << 16
                archive.writestr(info, content, zipfile.ZIP_DEFLATED)
    return list(files)


def find_package(submission: Path) -> Path | None:
    """The folder holding the student's `minirmo/` package: `submission` itself, or the one
    folder inside it that holds one (a zipped project unpacks into a folder). None if neither."""
    if (submission / "minirmo" / "__init__.py").is_file():
        return submission
    inside = [p.parent.parent for p in sorted(submission.glob("*/minirmo/__init__.py"))]
    return inside[0] if len(inside) == 1 else None


def run(root=None) -> dict:
    """Grade ROOT/submission with ROOT/source's spec and hidden tests; write and return
    ROOT/results/results.json (default ROOT: $MINIRMO_AUTOGRADER_ROOT, else /autograder)."""
    root = Path(root or os.environ.get("MINIRMO_AUTOGRADER_ROOT", "/autograder"))
    source, results = root / "source", root / "results"
    results.mkdir(parents=True, exist_ok=True)
    settings = json.loads((source / "settings.json").read_text(encoding="utf-8"))
    weights = source / "weights.json" if (source / "weights.json").is_file() else None
    hidden = source / "tests_hidden" if (source / "tests_hidden").is_dir() else None
    package = find_package(root / "submission")
    if package is not None:
        grade(package, results, weights, settings["tasks"], spec=source / "spec",
              timeout=settings["timeout"], hidden=hidden)
        return json.loads((results / "results.json").read_text(encoding="utf-8"))
    # nothing to grade: every task scores 0, and says why
    points = load_weights(weights)
    why = ("no minirmo/ package in the submission: submit the project folder holding "
           "minirmo/__init__.py (its repository, or a zip of it)")
    report = gradescope([TaskResult(task, points[task.id], 0, 0, "error", why) for task in (
        [_task(t) for t in settings["tasks"]] if settings["tasks"] else TASKS)], 0.0)
    (results / "results.json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n",
                                          encoding="utf-8")
    return report


def add_command(commands) -> None:
    """Register `minirmo autograder OUT.zip` on the CLI's subparsers."""
    parser = commands.add_parser("autograder", help="write a Gradescope autograder zip that "
                                 "grades every task, the hidden tests included")
    parser.add_argument("out", help="the zip to write, e.g. course.zip (must not exist)")
    parser.add_argument("--hidden", default=None, metavar="FOLDER",
                        help="hidden tests to ship (default: the checkout's tests_hidden/)")
    parser.add_argument("--weights", default=None, help='JSON file of points per task')
    parser.add_argument("--tasks", default=None,
                        help="comma-separated task ids to grade, e.g. 2.1,2.2 (default: all)")
    parser.add_argument("--timeout", type=float, default=900,
                        help="seconds before a submission's test run is stopped (default: 900)")
    parser.set_defaults(course_command=_cmd_autograder)


def _cmd_autograder(args) -> None:
    task_ids = [t.strip() for t in args.tasks.split(",")] if args.tasks else None
    names = build(args.out, args.hidden, args.weights, task_ids, args.timeout)
    hidden = [n for n in names if n.startswith("tests_hidden/")]
    print(f"wrote {args.out}: setup.sh, run_autograder, spec/ (a handout: "
          f"{sum(n.startswith('spec/') for n in names)} files) and {len(hidden)} hidden test "
          "files; upload it as the autograder of a Gradescope programming assignment")


if __name__ == "__main__":  # run_autograder: python3 -m minirmo.course.autograder ROOT
    run(sys.argv[1] if len(sys.argv) > 1 else None)
