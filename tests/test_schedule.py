"""The course's schedule: which tasks are due before each lesson, and that it holds.

The cheap checks read `tutorials/needs.json` (the traced record of the tasks each tutorial
calls; re-tracing takes minutes, `python -m minirmo.course.schedule --trace`) and the guide's
generated tables. The slow check builds one handout and runs each lesson's tutorials in it in
fast mode with exactly the tasks due by that lesson solved: a tutorial that calls a task not
yet due reaches its stub and fails, naming the task. It replaces running every tutorial on the
reference (a tutorial that runs with the tasks due by its lesson runs with all of them).

This file is the instructor's: `minirmo handout` leaves it out of the student's copy, where the
reference solutions it fills in are not.
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from minirmo.course import schedule, trace
from minirmo.course.handout import INSTRUCTOR_ONLY, fill_in, make_handout, strip_solutions
from minirmo.course.schedule import Lesson, Schedule
from minirmo.course.tasks import BY_ID, TASKS

ROOT = Path(__file__).resolve().parent.parent
TUTORIALS = sorted(p.name for p in (ROOT / "tutorials").glob("[0-9]*.py"))
SCHEDULE = schedule.load(ROOT)
ORDER = [task.id for task in TASKS]
pytestmark = pytest.mark.course


# --- needs.json, LESSONS and the guide agree with the tutorials ---------------------------------


def test_needs_json_traces_every_tutorial_and_only_registered_tasks_in_course_order():
    """needs.json has one record per tutorial file and no other, each of registered task ids
    listed once in the registry's order (a cheap staleness check: re-tracing takes minutes)."""
    needs = json.loads((ROOT / schedule.NEEDS).read_text(encoding="utf-8"))
    assert sorted(needs) == TUTORIALS
    for name, ids in needs.items():
        assert set(ids) <= set(BY_ID), (name, sorted(set(ids) - set(BY_ID)))
        assert ids == sorted(set(ids), key=ORDER.index), (name, ids)


def test_every_tutorial_is_in_exactly_one_lesson_and_every_lesson_runs_one():
    """LESSONS places each tutorial once, and no lesson is empty."""
    placed = [name for lesson in schedule.LESSONS for name in lesson.tutorials]
    assert sorted(placed) == TUTORIALS
    assert all(lesson.tutorials for lesson in schedule.LESSONS)


def test_teaching_guide_holds_the_tables_generated_from_needs_json():
    """docs/teaching.md's schedule tables are exactly what `--write` generates today."""
    guide = (ROOT / "docs" / "teaching.md").read_text(encoding="utf-8")
    generated = f"{schedule.BEGIN_TABLES}\n{schedule.tables(SCHEDULE)}\n{schedule.END_TABLES}"
    assert generated in guide, (
        "stale: run python -m minirmo.course.schedule --write docs/teaching.md")


def test_the_schedule_file_is_left_out_of_the_handout():
    """This file fills in reference solutions, so only the instructor's checkout holds it."""
    assert "tests/test_schedule.py" in INSTRUCTOR_ONLY


# --- Schedule: what is due when ------------------------------------------------------------------


TOY = Schedule(
    (Lesson("week 1", "a", ("01_a.py",)), Lesson("week 1", "b", ("02_b.py", "03_c.py")),
     Lesson("week 2", "c", ("04_d.py",))),
    {"01_a.py": ("2.1", "1.1"), "02_b.py": ("1.1", "4.1"), "03_c.py": ("3.1",),
     "04_d.py": ("1.1",)})


def test_each_task_is_due_once_at_the_first_lesson_whose_tutorials_call_it():
    """due() lists a task at the first lesson calling it, in the registry's order, and a
    lesson whose tutorials need nothing new gets nothing."""
    assert TOY.due() == [("1.1", "2.1"), ("3.1", "4.1"), ()]


def test_tasks_due_by_a_lesson_are_those_of_it_and_every_earlier_one():
    """due_by(k) is the union of due() over lessons 1..k."""
    assert TOY.due_by(1) == ("1.1", "2.1")
    assert TOY.due_by(3) == ("1.1", "2.1", "3.1", "4.1")


@pytest.mark.parametrize("number", [0, 4, -1])
def test_due_by_a_lesson_that_does_not_exist_raises_value_error_naming_number(number):
    """Lessons are numbered from 1; any other number is refused, naming the argument."""
    with pytest.raises(ValueError, match="number"):
        TOY.due_by(number)


def test_unused_tasks_are_those_no_tutorial_calls():
    """unused() is every registered task absent from every record."""
    assert set(TOY.unused()) == set(BY_ID) - {"1.1", "2.1", "3.1", "4.1"}


def test_every_tutorial_s_needs_are_due_by_its_lesson():
    """For the real schedule, each tutorial's traced tasks are all due by its lesson."""
    for number, lesson in enumerate(SCHEDULE.lessons, start=1):
        for name in lesson.tutorials:
            assert set(SCHEDULE.needs[name]) <= set(SCHEDULE.due_by(number)), name


def test_the_table_abbreviates_a_chapter_s_consecutive_tasks_as_a_range():
    """Three or more consecutive tasks of a chapter read "5.1–5.4"; others are listed."""
    assert schedule._tasks(["1.1", "1.2", "2.1", "3.1", "3.2", "3.3", "5.2"]) == (
        "1.1, 1.2, 2.1, 3.1–3.3, 5.2")
    assert schedule._tasks([]) == "none"


# --- trace: what it watches and what it refuses ------------------------------------------------


def test_the_tracer_watches_a_function_of_every_task():
    """task_code() maps the code of every registered task function to its task's id."""
    code = trace.task_code()
    assert sorted(set(code.values()), key=ORDER.index) == ORDER
    assert len(code) == sum(len(task.functions) for task in TASKS)


def test_called_tasks_refuses_a_tutorial_that_is_not_a_file_naming_tutorial(tmp_path):
    """A missing tutorial is refused before any interpreter starts."""
    with pytest.raises(ValueError, match="tutorial: "):
        trace.called_tasks(tmp_path / "99_missing.py", ROOT)


def test_called_tasks_refuses_a_run_dir_that_is_not_a_folder_naming_run_dir(tmp_path):
    """A run folder that does not exist is refused, naming the argument."""
    with pytest.raises(ValueError, match="run_dir: "):
        trace.called_tasks(ROOT / "tutorials" / TUTORIALS[0], ROOT, run_dir=tmp_path / "none")


# --- load and write refuse what they cannot use ------------------------------------------------


def _checkout(tmp_path, tutorials, needs):
    """A fake checkout: empty tutorial files and a needs.json."""
    (tmp_path / "tutorials").mkdir()
    for name in tutorials:
        (tmp_path / "tutorials" / name).write_text("", encoding="utf-8")
    (tmp_path / schedule.NEEDS).write_text(json.dumps(needs), encoding="utf-8")
    return tmp_path


def test_load_refuses_a_tutorial_in_no_lesson_naming_it(tmp_path):
    """A tutorial missing from LESSONS is an error naming lessons and the file."""
    root = _checkout(tmp_path, ["01_a.py", "11_new.py"], {"01_a.py": [], "11_new.py": []})
    with pytest.raises(ValueError, match=r"lessons: tutorials/11_new\.py is in 0 lessons"):
        schedule.load(root, (Lesson("week 1", "a", ("01_a.py",)),))


def test_load_refuses_a_lesson_naming_a_missing_tutorial(tmp_path):
    """A lesson that runs a file not in tutorials/ is an error naming lessons and the file."""
    root = _checkout(tmp_path, ["01_a.py"], {"01_a.py": []})
    with pytest.raises(ValueError, match=r"lessons: .*tutorials/02_gone\.py"):
        schedule.load(root, (Lesson("week 1", "a", ("01_a.py", "02_gone.py")),))


def test_load_refuses_a_tutorial_without_a_trace_naming_it_and_the_command(tmp_path):
    """A tutorial that needs.json does not record is an error saying how to trace it."""
    root = _checkout(tmp_path, ["01_a.py"], {})
    with pytest.raises(ValueError, match=r"needs: .*01_a\.py; run .* --trace"):
        schedule.load(root, (Lesson("week 1", "a", ("01_a.py",)),))


def test_write_refuses_a_doc_without_the_markers_naming_doc(tmp_path):
    """write() needs both markers in order, and says so naming the argument."""
    doc = tmp_path / "guide.md"
    doc.write_text(f"{schedule.END_TABLES}\n{schedule.BEGIN_TABLES}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="doc: "):
        schedule.write(doc, SCHEDULE)


def test_write_replaces_only_the_text_between_the_markers(tmp_path):
    """Text before and after the markers stays; the old tables go."""
    doc = tmp_path / "guide.md"
    doc.write_text(f"before\n{schedule.BEGIN_TABLES}\nold\n{schedule.END_TABLES}\nafter\n",
                   encoding="utf-8")
    schedule.write(doc, TOY)
    assert doc.read_text(encoding="utf-8") == (
        f"before\n{schedule.BEGIN_TABLES}\n{schedule.tables(TOY)}\n{schedule.END_TABLES}\n"
        "after\n")


# --- fill_in: a handout with exactly the chosen tasks solved ------------------------------------


def test_strip_solutions_keeps_the_regions_asked_for_without_their_markers():
    """keep= leaves those regions' lines as they are and stubs the others."""
    text = ("def f():\n    # BEGIN SOLUTION Task 1.1: " + BY_ID["1.1"].title + "\n"
            "    return 1\n    # END SOLUTION\n\n"
            "def g():\n    # BEGIN SOLUTION Task 1.2: " + BY_ID["1.2"].title + "\n"
            "    return 2\n    # END SOLUTION\n")
    kept = strip_solutions(text, keep=frozenset({"1.1"}))
    assert "    return 1\n" in kept and "return 2" not in kept
    assert "Task 1.2" in kept and "SOLUTION" not in kept


def test_fill_in_solves_exactly_the_tasks_named(tmp_path):
    """kl.py filled in with 1.1 holds bon_kl's solution and a stub for each other task."""
    (tmp_path / "minirmo").mkdir()
    (tmp_path / "minirmo" / "__init__.py").write_text("", encoding="utf-8")
    written = fill_in(tmp_path, ["1.1"], source=ROOT)
    assert "minirmo/kl.py" in written and "minirmo/ppo.py" in written
    kl = (tmp_path / "minirmo" / "kl.py").read_text(encoding="utf-8")
    assert "Task 1.1" not in kl
    assert all(repr(BY_ID[t].message) in kl for t in ("1.2", "1.3", "1.4"))
    assert "SOLUTION" not in kl


def test_fill_in_refuses_an_unknown_task_naming_tasks(tmp_path):
    """An id the registry lacks is refused before anything is written."""
    with pytest.raises(ValueError, match="tasks: 9.9"):
        fill_in(tmp_path, ["1.1", "9.9"], source=ROOT)


def test_fill_in_refuses_a_folder_that_is_no_handout_naming_dest(tmp_path):
    """A folder without a minirmo package is refused, naming the argument."""
    with pytest.raises(ValueError, match="dest: "):
        fill_in(tmp_path, ["1.1"], source=ROOT)


# --- the schedule runs: each lesson's tutorials in a handout with the tasks due by then --------


@pytest.fixture(scope="module")
def handout_runs(tmp_path_factory, test_run_dir):
    """One handout, and one run folder shared by every lesson in order, cold at the start so
    that each model is trained inside a tutorial by the handout's code.

    That folder is the session's `test_run_dir` while it is empty (conftest.py runs these
    tests first, and the later tests load what the tutorials trained), else a new one: a model
    trained on the reference would load without calling the tasks that train it.
    """
    base = tmp_path_factory.mktemp("schedule")
    dest = base / "course"
    make_handout(dest, ROOT)
    runs = test_run_dir if not any(test_run_dir.iterdir()) else base / "runs"
    env = {**os.environ, "PYTHONPATH": str(dest), "MINIRMO_FAST": "1", "MPLBACKEND": "Agg",
           "MINIRMO_RUN_DIR": str(runs)}
    found = subprocess.run(
        [sys.executable, "-c", "import importlib.util; "
         "print(importlib.util.find_spec('minirmo').origin)"],
        env=env, cwd=base, capture_output=True, text=True, timeout=60)
    assert Path(found.stdout.strip()).resolve() == (dest / "minirmo" / "__init__.py").resolve(), (
        f"the tutorials would import minirmo from {found.stdout.strip()}, not the handout")
    return dest, env


def _run(dest, env, name, tmp_path, timeout=600):
    """Run the handout's tutorial `name` in fast mode; its result."""
    return subprocess.run([sys.executable, str(dest / "tutorials" / name)],
                          env={**env, "MINIRMO_OUT": str(tmp_path)}, cwd=tmp_path,
                          capture_output=True, text=True, timeout=timeout)


def _failure(result, name, due) -> str:
    """What to say when a tutorial fails: the task it reached, if a stub stopped it."""
    stub = re.findall(r"NotImplementedError: Task (\d+\.\d+)", result.stderr)
    if stub:
        return (f"{name} calls Task {stub[-1]}, which is not due by its lesson (due: "
                f"{', '.join(due) or 'none'}): re-trace it (python -m minirmo.course.schedule "
                f"--trace tutorials/{name}) or move it in LESSONS\n{result.stderr[-3000:]}")
    return f"{name} failed in the handout:\n{result.stderr[-3000:]}"


LESSON_RUNS = [(number, name) for number, lesson in enumerate(SCHEDULE.lessons, start=1)
               for name in lesson.tutorials]


@pytest.mark.slow
@pytest.mark.parametrize("number, name", LESSON_RUNS,
                         ids=[f"lesson{number}-{name}" for number, name in LESSON_RUNS])
def test_tutorial_runs_in_a_handout_with_only_the_tasks_due_by_its_lesson(
        handout_runs, tmp_path, number, name):
    """The tutorial runs top to bottom in fast mode in a handout in which exactly the tasks
    due by its lesson are solved, after the earlier lessons' tutorials in the same run folder."""
    dest, env = handout_runs
    due = SCHEDULE.due_by(number)
    fill_in(dest, due, ROOT)
    result = _run(dest, env, name, tmp_path)
    assert result.returncode == 0, _failure(result, name, due)


@pytest.mark.slow
def test_a_tutorial_stops_at_the_stub_of_a_task_it_needs_that_is_not_filled_in(
        handout_runs, tmp_path):
    """The check has teeth: tutorial 1 with its last needed task left a stub fails naming it."""
    dest, env = handout_runs
    name = TUTORIALS[0]
    withheld = SCHEDULE.needs[name][-1]
    fill_in(dest, [t for t in SCHEDULE.due_by(1) if t != withheld], ROOT)
    result = _run(dest, env, name, tmp_path, timeout=120)
    assert result.returncode != 0
    assert f"NotImplementedError: Task {withheld}" in _failure(result, name, ())
