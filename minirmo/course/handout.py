"""Cut the student's copy of the project out of the marked reference sources.

The reference modules carry their own solutions between markers (nbgrader's and CMU's
convention, here in plain Python files rather than notebooks): a comment line
"# BEGIN SOLUTION Task 2.2: the unbiased best-of-n estimator" opens a region inside a function
body, after its docstring and argument checks, and a comment line "# END SOLUTION" closes it.
`strip_solutions` replaces every region by ``raise NotImplementedError("Task 2.2: ...")`` at the
marker's indentation, so the signature, docstring and checks stay and the stub fails loudly
with the task's name. `make_handout` copies the project (package, tests, tutorials, benchmarks,
docs, README, pyproject) with every Python file stripped, leaves out what only the instructor
needs (the course's own tests, the mutation benchmark; the hidden tests in tests_hidden/ are
not in INCLUDE, so never copied), and writes a Jupyter notebook beside each tutorial. The
copy installs with ``pip install -e ".[dev]"`` like the original.

The handout is cut from a source checkout of minirmo: the folder above the package, holding
pyproject.toml, tests/ and tutorials/. An installed package carries `minirmo/` alone, so there
`project_root` raises a ValueError that says to run the kit from a clone of the repository.
"""

import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from minirmo.course.tasks import BY_ID

BEGIN = re.compile(r"^(?P<indent>[ \t]*)# BEGIN SOLUTION Task (?P<id>\d+\.\d+): (?P<title>.+?)\s*$")
END = re.compile(r"^[ \t]*# END SOLUTION\s*$")

# What a handout holds, relative to the project root, and what it leaves out.
INCLUDE = ("minirmo", "tests", "tutorials", "benchmarks", "docs", "README.md", "pyproject.toml",
           ".gitignore")
INSTRUCTOR_ONLY = ("tests/test_course.py", "tests/test_schedule.py", "benchmarks/mutation.py")
SKIP_PARTS = {"__pycache__", ".pytest_cache", ".hypothesis", ".ruff_cache", ".ipynb_checkpoints"}
SKIP_SUFFIXES = {".pyc", ".pyo"}
PACKAGE = Path(__file__).resolve().parent.parent  # the minirmo package this kit is part of


@dataclass
class Region:
    """One solution region: its task id and statement, and its lines (markers excluded)."""

    task_id: str
    title: str
    start: int  # 0-based line index of the BEGIN marker
    lines: list[str] = field(default_factory=list)


def find_regions(text: str, name: str = "<text>") -> list[Region]:
    """Every solution region of a file's text, in order.

    Raises ValueError naming the file (`name`) and line for a BEGIN without END, an END without
    BEGIN, nested regions, or a task id missing from `minirmo.course.tasks` or with another
    statement.
    """
    regions, current = [], None
    for number, line in enumerate(text.splitlines(), start=1):
        begin, end = BEGIN.match(line), END.match(line)
        if begin:
            if current is not None:
                raise ValueError(f"{name}:{number}: BEGIN SOLUTION inside another region")
            task_id, title = begin["id"], begin["title"]
            if task_id not in BY_ID:
                raise ValueError(f"{name}:{number}: Task {task_id} is not in minirmo.course.tasks")
            if BY_ID[task_id].title != title:
                raise ValueError(f"{name}:{number}: Task {task_id}'s statement {title!r} is not "
                                 f"the registry's {BY_ID[task_id].title!r}")
            current = Region(task_id, title, number - 1)
        elif end:
            if current is None:
                raise ValueError(f"{name}:{number}: END SOLUTION without BEGIN SOLUTION")
            regions.append(current)
            current = None
        elif current is not None:
            current.lines.append(line)
    if current is not None:
        raise ValueError(f"{name}:{current.start + 1}: BEGIN SOLUTION without END SOLUTION")
    return regions


def strip_solutions(text: str, name: str = "<text>", keep=frozenset()) -> str:
    """`text` with every solution region replaced by a `raise NotImplementedError` stub.

    The regions of the task ids in `keep` stay, without their markers, as a student who solved
    those tasks would have them.
    """
    find_regions(text, name)  # validates the markers
    out, inside = [], False
    for line in text.splitlines(keepends=True):
        begin = BEGIN.match(line)
        if begin and begin["id"] in keep:
            continue  # its lines follow, and its END marker is dropped below
        if begin:
            inside = True
            message = f"Task {begin['id']}: {begin['title']}"
            stub = f"{begin['indent']}raise NotImplementedError({message!r})\n"
            if len(stub) > 100:  # the project's line length
                stub = (f"{begin['indent']}raise NotImplementedError(\n"
                        f"{begin['indent']}    {message!r}\n{begin['indent']})\n")
            out.append(stub)
        elif END.match(line):
            inside = False
        elif not inside:
            out.append(line)
    return "".join(out)


def project_root(package=None) -> Path:
    """The source checkout that holds `package` (default: `PACKAGE`), the folder above it.

    The handout is cut from it and the grader takes its tests from it. Raises ValueError if
    that folder lacks pyproject.toml or tests/, as beside an installed package (site-packages):
    the message says the kit needs a source checkout and how to get one.
    """
    root = Path(package if package is not None else PACKAGE).resolve().parent
    if not (root / "pyproject.toml").is_file() or not (root / "tests").is_dir():
        raise ValueError(
            f"source: the course kit needs a source checkout of minirmo (pyproject.toml, tests/ "
            f"and tutorials/ beside the package), and {root} is not one: an installed package "
            "carries minirmo/ alone. Run it from a clone of the minirmo repository, installed "
            "with `pip install -e .` inside the clone")
    return root


def _files(root: Path):
    """The project's files that go into a handout, as paths relative to `root`, sorted."""
    for entry in INCLUDE:
        path = root / entry
        candidates = [path] if path.is_file() else sorted(path.rglob("*")) if path.is_dir() else []
        for file in candidates:
            relative = file.relative_to(root)
            if (file.is_file() and not SKIP_PARTS.intersection(relative.parts)
                    and file.suffix not in SKIP_SUFFIXES
                    and relative.as_posix() not in INSTRUCTOR_ONLY
                    and not relative.parts[0].endswith(".egg-info")):
                yield relative


def _notebook(source: Path, target: Path) -> bool:
    """Write `source` (a jupytext percent file) as the notebook `target`; False without jupytext."""
    try:
        import jupytext
    except ImportError:
        return False
    jupytext.write(jupytext.read(source, fmt="py:percent"), target, fmt="ipynb")
    return True


def make_handout(dest, source=None) -> dict:
    """Write the student's copy of the project at `dest`; return what was written.

    dest must not exist or be an empty folder (ValueError naming dest otherwise). source is the
    reference checkout (default: the one holding this package). Returns a summary with keys
    files (relative paths written), stubs ({task id: number of regions stubbed}) and notebooks
    (tutorial notebooks written; empty if jupytext is not installed).
    """
    dest = Path(dest)
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise ValueError(f"dest: {dest} is not an empty folder; the handout needs a new or "
                         "empty one (it never overwrites)")
    root = Path(source) if source is not None else project_root()
    if dest.resolve().is_relative_to(root.resolve()) and dest.resolve() != root.resolve():
        # only harmful if it is inside a copied folder, but never worth the risk of recursion
        if any(dest.resolve().is_relative_to((root / e).resolve()) for e in INCLUDE):
            raise ValueError(f"dest: {dest} lies inside the files it would copy")
    summary = {"files": [], "stubs": {}, "notebooks": []}
    for relative in list(_files(root)):
        target = dest / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        if relative.suffix == ".py":
            text = (root / relative).read_text(encoding="utf-8")
            for region in find_regions(text, relative.as_posix()):
                summary["stubs"][region.task_id] = summary["stubs"].get(region.task_id, 0) + 1
            target.write_text(strip_solutions(text, relative.as_posix()), encoding="utf-8")
        else:
            shutil.copyfile(root / relative, target)
        summary["files"].append(relative.as_posix())
        if relative.parts[0] == "tutorials" and relative.suffix == ".py":
            notebook = target.with_suffix(".ipynb")
            if _notebook(target, notebook):
                summary["notebooks"].append(notebook.relative_to(dest).as_posix())
    summary["stubs"] = dict(sorted(summary["stubs"].items()))
    return summary


def fill_in(dest, tasks, source=None) -> list[str]:
    """Make the handout at `dest` a student's copy in which exactly `tasks` are solved.

    Every package module with solution regions is cut again from the reference checkout
    `source` (default: the one holding this package), keeping the regions of `tasks` (task ids
    such as "2.2") and stubbing every other one; nothing else in `dest` changes. Returns the
    files rewritten, relative to `dest`. Raises ValueError naming `tasks` for an id that is
    not registered, and naming `dest` if it holds no minirmo package.
    """
    unknown = sorted(set(tasks) - set(BY_ID))
    if unknown:
        raise ValueError(f"tasks: {', '.join(unknown)} not in minirmo.course.tasks")
    dest = Path(dest)
    if not (dest / "minirmo" / "__init__.py").is_file():
        raise ValueError(f"dest: {dest} holds no minirmo package; is it a handout?")
    root = Path(source) if source is not None else project_root()
    written = []
    for relative in _files(root):
        if relative.suffix != ".py" or relative.parts[0] != "minirmo":
            continue
        text = (root / relative).read_text(encoding="utf-8")
        if find_regions(text, relative.as_posix()):
            (dest / relative).write_text(
                strip_solutions(text, relative.as_posix(), keep=frozenset(tasks)),
                encoding="utf-8")
            written.append(relative.as_posix())
    return written


def describe(summary: dict, dest) -> str:
    """A few lines saying what `make_handout` wrote."""
    files = summary["files"]
    folders = sorted({Path(f).parts[0] for f in files if len(Path(f).parts) > 1})
    counts = ", ".join(f"{folder}/ ({sum(f.startswith(folder + '/') for f in files)})"
                       for folder in folders)
    stubs = summary["stubs"]
    lines = [f"wrote a handout to {dest}: {len(files)} files in {counts}, and "
             f"{', '.join(f for f in files if '/' not in f)}",
             f"stubbed {sum(stubs.values())} solution regions of {len(stubs)} tasks: "
             + ", ".join(stubs)]
    if summary["notebooks"]:
        lines.append(f"wrote {len(summary['notebooks'])} tutorial notebooks (.ipynb)")
    else:
        lines.append("no notebooks: install jupytext (pip install jupytext) to get .ipynb files")
    lines.append(f"next: cd {dest} && pip install -e '.[dev]' && pytest -m task_1_1")
    return "\n".join(lines)


def add_command(commands) -> None:
    """Register `minirmo handout DIR` on the CLI's subparsers."""
    parser = commands.add_parser("handout", help="write the student's copy of the project (the "
                                 "course kit): every task's solution replaced by a stub")
    parser.add_argument("dir", help="a new or empty folder to write it to")
    parser.set_defaults(course_command=lambda args: print(
        describe(make_handout(args.dir), args.dir)))
