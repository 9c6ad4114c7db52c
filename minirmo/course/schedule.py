"""The course's schedule: which tasks are due before each lesson's tutorials.

A tutorial calls the functions students write, so in a handout it stops at the first stub it
reaches. The schedule is therefore derived, not written by hand: `minirmo.course.trace` runs
each tutorial once on the reference and records the tasks it calls (from an empty run folder,
so the tasks that train its models count too), `tutorials/needs.json` keeps those records, and
the tasks due by a lesson are everything its tutorials and those of the earlier lessons call.
The one thing chosen by hand is `LESSONS`: which tutorials a lesson runs, in which order.

    python -m minirmo.course.schedule                        # print the schedule's tables
    python -m minirmo.course.schedule --trace                # re-trace every tutorial (minutes)
    python -m minirmo.course.schedule --trace tutorials/11_x.py   # or only the ones named
    python -m minirmo.course.schedule --write docs/teaching.md    # the tables into the guide

`--trace` also writes the tables into docs/teaching.md. A new tutorial needs a line in
`LESSONS` and a trace (`--trace` on it); until it has both, `load` refuses to build a schedule
and says which is missing. tests/test_schedule.py checks that needs.json and the guide are up
to date with the tutorials (cheaply: it does not re-trace), and builds a handout and runs each
lesson's tutorials in it with exactly the tasks due by then solved.
"""

import argparse
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from minirmo.course.handout import project_root
from minirmo.course.tasks import BY_ID, TASKS
from minirmo.course.trace import called_tasks

NEEDS = Path("tutorials") / "needs.json"  # relative to the project root
GUIDE = Path("docs") / "teaching.md"  # the guide that shows the tables
BEGIN_TABLES = "<!-- BEGIN SCHEDULE (generated: python -m minirmo.course.schedule --write) -->"
END_TABLES = "<!-- END SCHEDULE -->"


@dataclass(frozen=True)
class Lesson:
    """One lesson: when it comes, what it is about, and the tutorials it runs, in order."""

    week: str  # "week 1", "week 2" or "going further"
    title: str
    tutorials: tuple[str, ...]  # file names in tutorials/


LESSONS = (
    Lesson("week 1", "Goodhart without models", ("01_goodhart.py",)),
    Lesson("week 1", "the setup, and the best-of-n KL", ("02_setup_and_bon_kl.py",)),
    # Tutorial 3 runs PPO against every proxy size, so PPO's pieces (chapter 5) and the
    # Bradley-Terry loss are due before it; Tutorial 11 takes those pieces one at a time, so it
    # opens week 2. Tutorials 4 and 5 build on Tutorial 3 and come after it.
    Lesson("week 2", "the pieces: the Bradley–Terry loss, the KL estimators, PPO",
           ("11_ppo_pieces.py",)),
    Lesson("week 2", "reward models: their size, their data",
           ("03_rm_size.py", "04_rm_data.py", "05_data_threshold.py")),
    Lesson("week 2", "RL against best-of-n", ("06_rl_vs_bon.py",)),
    Lesson("going further", "reward-model ensembles", ("07_ensembles.py",)),
    Lesson("going further", "direct alignment", ("08_direct_alignment.py",)),
    Lesson("going further", "graded traps", ("09_graded_traps.py",)),
    Lesson("going further", "RL without a critic", ("10_critic_free.py",)),
    Lesson("going further", "pretrained reward models", ("12_pretraining.py",)),
)


@dataclass(frozen=True)
class Schedule:
    """`lessons` with each tutorial's traced needs ({file name: task ids, in course order})."""

    lessons: tuple[Lesson, ...]
    needs: dict

    def due(self) -> list[tuple[str, ...]]:
        """For each lesson, the tasks its tutorials call that no earlier lesson's do."""
        seen, due = set(), []
        for lesson in self.lessons:
            called = {t for name in lesson.tutorials for t in self.needs[name]}
            due.append(tuple(task.id for task in TASKS if task.id in called - seen))
            seen |= called
        return due

    def due_by(self, number: int) -> tuple[str, ...]:
        """Every task due by lesson `number` (1-based), that lesson's included."""
        if not 1 <= number <= len(self.lessons):
            raise ValueError(f"number: lessons are 1 to {len(self.lessons)}, got {number!r}")
        return tuple(t for lesson_due in self.due()[:number] for t in lesson_due)

    def unused(self) -> tuple[str, ...]:
        """The tasks no tutorial calls."""
        called = {t for ids in self.needs.values() for t in ids}
        return tuple(task.id for task in TASKS if task.id not in called)


def load(root=None, lessons=LESSONS) -> Schedule:
    """The schedule of the checkout `root` (default: this package's), from its needs.json.

    Raises ValueError if a tutorial in tutorials/ is in no lesson or in two, if a lesson names a
    tutorial that is not there, or if needs.json lacks a tutorial or holds one that is gone: the
    message names the tutorial and what to do.
    """
    root = Path(root) if root is not None else project_root()
    present = sorted(p.name for p in (root / "tutorials").glob("[0-9]*.py"))
    placed = [name for lesson in lessons for name in lesson.tutorials]
    for name in present:
        if placed.count(name) != 1:
            raise ValueError(f"lessons: tutorials/{name} is in {placed.count(name)} lessons, not "
                             "one; place it in LESSONS (minirmo/course/schedule.py)")
    for name in sorted(set(placed) - set(present)):
        raise ValueError(f"lessons: a lesson runs tutorials/{name}, which does not exist")
    path = root / NEEDS
    needs = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    for name in present:
        if name not in needs:
            raise ValueError(f"needs: {NEEDS} has no trace of tutorials/{name}; run "
                             f"python -m minirmo.course.schedule --trace tutorials/{name}")
    for name in sorted(set(needs) - set(present)):
        raise ValueError(f"needs: {NEEDS} traces tutorials/{name}, which does not exist; run "
                         "python -m minirmo.course.schedule --trace")
    return Schedule(tuple(lessons), {name: tuple(needs[name]) for name in present})


def trace(root=None, tutorials=None) -> dict:
    """Trace `tutorials` (paths; default: every tutorial of `root`) and update needs.json.

    Tracing every tutorial also drops the records of tutorials that are gone. Returns the
    records written, {file name: task ids}.
    """
    root = Path(root) if root is not None else project_root()
    path = root / NEEDS
    everything = tutorials is None
    if everything:
        tutorials = sorted((root / "tutorials").glob("[0-9]*.py"))
    needs = {} if everything or not path.is_file() else json.loads(path.read_text("utf-8"))
    if everything:  # the records of tutorials that are gone go; the others are replaced below
        needs = {name: ids for name, ids in needs.items()
                 if name in {Path(t).name for t in tutorials}}
    for tutorial in tutorials:
        name, start = Path(tutorial).name, time.perf_counter()
        print(f"tracing {name} from an empty run folder ...", flush=True)
        needs[name] = called_tasks(tutorial, root)
        print(f"  calls tasks {', '.join(needs[name]) or 'none'} "
              f"({time.perf_counter() - start:.0f} s)", flush=True)
        needs = dict(sorted(needs.items()))
        # written after each tutorial, so that a failure keeps the traces already taken
        path.write_text(dumps(needs), encoding="utf-8")
    return needs


def dumps(needs: dict) -> str:
    """needs.json's text: one line per tutorial, its task ids in course order."""
    lines = [f" {json.dumps(name)}: {json.dumps(list(ids))}" for name, ids in needs.items()]
    return "{\n" + ",\n".join(lines) + "\n}\n"


def _tasks(ids) -> str:
    """Task ids as a short list: runs of a chapter's consecutive tasks become "5.1–5.4"."""
    order = [task.id for task in TASKS]
    runs = []
    for task_id in ids:
        last = runs[-1] if runs else None
        if (last and order.index(task_id) == order.index(last[-1]) + 1
                and task_id.split(".")[0] == last[0].split(".")[0]):
            last.append(task_id)
        else:
            runs.append([task_id])
    return ", ".join(r[0] if len(r) == 1 else f"{r[0]}, {r[1]}" if len(r) == 2
                     else f"{r[0]}–{r[-1]}" for r in runs) or "none"


def _number(name: str) -> str:
    return str(int(name.split("_", 1)[0]))


def tables(schedule: Schedule) -> str:
    """The guide's two generated tables, markdown: the lessons with the tasks due before their
    tutorials, and the tasks each tutorial calls."""
    lines = ["| Lesson | When | Tutorials | Tasks due before its tutorials | Student time |",
             "|---|---|---|---|---|"]
    for number, (lesson, due) in enumerate(zip(schedule.lessons, schedule.due(), strict=True),
                                           start=1):
        tutorials = ", ".join(_number(name) for name in lesson.tutorials)
        minutes = sum(BY_ID[t].minutes for t in due)
        lines.append(f"| {number}: {lesson.title} | {lesson.week} | {tutorials} | "
                     f"{_tasks(due)} | {minutes} min |")
    unused = schedule.unused()
    if unused:
        lines.append(f"| no tutorial calls them | | | {_tasks(unused)} | "
                     f"{sum(BY_ID[t].minutes for t in unused)} min |")
    lines += ["", "| Tutorial | Calls tasks (run from an empty run folder) |", "|---|---|"]
    for name, ids in schedule.needs.items():
        lines.append(f"| {_number(name)} (`{name}`) | {_tasks(ids)} |")
    return "\n".join(lines)


def write(doc, schedule: Schedule) -> None:
    """Replace the text between `doc`'s schedule markers by `tables(schedule)`.

    Raises ValueError naming `doc` if it lacks either marker, or holds them out of order.
    """
    doc = Path(doc)
    text = doc.read_text(encoding="utf-8")
    start, end = text.find(BEGIN_TABLES), text.find(END_TABLES)
    if start < 0 or end < start:
        raise ValueError(f"doc: {doc} needs the lines {BEGIN_TABLES!r} and then {END_TABLES!r}")
    head = text[:start + len(BEGIN_TABLES)]
    doc.write_text(f"{head}\n{tables(schedule)}\n{text[end:]}", encoding="utf-8")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m minirmo.course.schedule",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--trace", nargs="*", metavar="TUTORIAL",
                        help="re-trace these tutorials (none named: all) into "
                             "tutorials/needs.json; about 2 minutes per tutorial that trains")
    parser.add_argument("--write", metavar="DOC", help="write the tables into DOC between "
                        "its schedule markers (docs/teaching.md)")
    args = parser.parse_args(argv)
    try:
        if args.trace is not None:
            trace(tutorials=args.trace or None)
        schedule = load()
        if args.trace is not None:
            write(project_root() / GUIDE, schedule)
            print(f"wrote the tables into {GUIDE}")
        if args.write:
            write(args.write, schedule)
        else:
            print(tables(schedule))
    except ValueError as error:
        sys.exit(f"error: {error}")


if __name__ == "__main__":
    main()
