"""Which course tasks a tutorial needs, found by running it once and recording what it calls.

A tutorial needs a task if running it executes one of the task's functions (`Task.functions`
in `minirmo.course.tasks`), whether it calls that function itself or something it calls does:
`studies.bon_rows` reaches `kl.bon_kl_exact` three calls down, and PPO calls `kl_penalty` even
at a KL coefficient of 0. Reading the tutorial's imports would miss both, so `called_tasks`
runs the tutorial on the reference in a fresh interpreter with a trace function
(`sys.settrace`) that notes every call of a task function's code object.

Two choices make the record complete:

* **An empty run folder.** A tutorial that finds its models in a cache only loads them, and
  the tasks that train them (the Bradley–Terry loss, PPO's pieces) never run. Each tutorial is
  traced from a folder of its own, so what it records is what a student who runs it first in
  a new folder needs.
* **Fast mode, one process.** `MINIRMO_FAST=1` changes a tutorial's sizes and preset (`test`
  for `tiny`), not which code runs, and a tutorial computes every artefact in its own process
  (`Run.get`; only `minirmo reproduce --jobs N` spawns workers), so no call escapes the tracer.

Each traced run trains everything the tutorial needs from scratch: 1 to 2 minutes for the
tutorials that train models, on 2 CPU cores. `minirmo.course.schedule` keeps the records in
`tutorials/needs.json` and builds the course's schedule from them.

The traced child is this module run as a program:
``python -m minirmo.course.trace TUTORIAL RESULT_JSON PROJECT_ROOT``.
"""

import importlib
import inspect
import json
import os
import runpy
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from minirmo.course.tasks import TASKS


def task_code() -> dict:
    """{code object: task id} of every function of every registered task."""
    code = {}
    for task in TASKS:
        module = importlib.import_module(task.module.removesuffix(".py").replace("/", "."))
        for name in task.functions:
            code[inspect.unwrap(getattr(module, name)).__code__] = task.id
    return code


def _run_traced(tutorial: Path) -> list[str]:
    """Run `tutorial` here, as __main__; return the ids of the tasks it called, in course order."""
    code, called = task_code(), set()

    def on_call(frame, event, arg):
        task = code.get(frame.f_code)
        if task is not None:
            called.add(task)
        # returning None: no line-by-line tracing inside the frame, so the cost is one
        # Python call per function call

    sys.settrace(on_call)
    threading.settrace(on_call)
    try:
        runpy.run_path(str(tutorial), run_name="__main__")
    finally:
        sys.settrace(None)
        threading.settrace(None)
    return [task.id for task in TASKS if task.id in called]


def called_tasks(tutorial, root, timeout: float = 1200, run_dir=None) -> list[str]:
    """The ids of the tasks `tutorial` calls, run once in fast mode from an empty run folder.

    `root` is the project checkout whose `minirmo` package the tutorial imports (through
    PYTHONPATH; the child checks that it does). `run_dir`, if given, is the run folder to use
    instead (its cached models load, and the tasks that would train them are not called: what a
    student with the instructor's folder computes). Raises RuntimeError with the end of the
    tutorial's output if it fails, and ValueError naming `tutorial` if it is not a file and
    `run_dir` if it is not a folder.
    """
    tutorial, root = Path(tutorial).resolve(), Path(root).resolve()
    if not tutorial.is_file():
        raise ValueError(f"tutorial: {tutorial} is not a file")
    if run_dir is not None and not Path(run_dir).is_dir():
        raise ValueError(f"run_dir: {run_dir} is not a folder")
    with tempfile.TemporaryDirectory(prefix="minirmo-trace-") as work:
        work = Path(work)
        runs = Path(run_dir).resolve() if run_dir is not None else work / "runs"
        env = {**os.environ, "MINIRMO_FAST": "1", "MPLBACKEND": "Agg",
               "MINIRMO_OUT": str(work / "out"), "MINIRMO_RUN_DIR": str(runs),
               "PYTHONPATH": os.pathsep.join(
                   [str(root), *filter(None, [os.environ.get("PYTHONPATH")])])}
        result = subprocess.run(
            [sys.executable, "-m", "minirmo.course.trace", str(tutorial),
             str(work / "called.json"), str(root)],
            cwd=work, env=env, capture_output=True, text=True, timeout=timeout)
        if result.returncode != 0:
            raise RuntimeError(f"{tutorial.name} failed while traced:\n{result.stderr[-3000:]}")
        return json.loads((work / "called.json").read_text(encoding="utf-8"))


def main(argv: list[str]) -> None:
    """The traced child: run the tutorial argv[0], write what it called to argv[1] as JSON."""
    tutorial, result, root = (Path(a) for a in argv)
    import minirmo

    if not Path(minirmo.__file__).resolve().is_relative_to(root.resolve()):
        sys.exit(f"minirmo is imported from {minirmo.__file__}, not from {root}: "
                 "check PYTHONPATH")
    sys.argv = [str(tutorial)]
    called = _run_traced(tutorial)
    result.write_text(json.dumps(called), encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1:])
