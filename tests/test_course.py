"""The course kit: the task registry, the handout it cuts, its audit for give-aways, the
grader's round trip and the Gradescope autograder, run end to end.

This file is the instructor's: `minirmo handout` leaves it out of the student's copy. It writes
one handout (about 6 s), collects its tests (about 9 s), grades it with one module solved (one
pytest run in a subprocess, about 20 s) and once with a broken module (about 7 s), audits it
(about 4 s), and builds the autograder zip (about 5 s) and runs it on the reference, on a
handout's stubs and on an empty submission (12 s, 20 s and 2 s), on 2 CPU cores.
"""

import ast
import copy
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

from minirmo import cli
from minirmo.course import grade, handout
from minirmo.course.tasks import BY_ID, TASKS

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.course


def _sources():
    """The project's Python files that a handout copies, relative to ROOT."""
    return [p for p in handout._files(ROOT) if p.suffix == ".py"]


def _solution_regions():
    """{relative path: [Region]} for every file with solution markers."""
    found = {}
    for relative in _sources():
        regions = handout.find_regions((ROOT / relative).read_text(encoding="utf-8"),
                                       relative.as_posix())
        if regions:
            found[relative.as_posix()] = regions
    return found


# --- the registry agrees with the sources, the markers and the tests ---------------------------


def test_every_task_has_solution_regions_in_its_module_and_no_region_is_unregistered():
    """Each registered task is marked in (exactly) the module the registry names."""
    modules = {}
    for path, regions in _solution_regions().items():
        for region in regions:
            modules.setdefault(region.task_id, set()).add(path)
    assert set(modules) == set(BY_ID), "tasks in the registry vs tasks marked in the sources"
    for task in TASKS:
        assert modules[task.id] == {task.module}, task.id


def test_every_task_names_functions_that_exist_in_its_module():
    """The functions a task lists are defined in its module, and each region sits in one."""
    for task in TASKS:
        tree = ast.parse((ROOT / task.module).read_text(encoding="utf-8"))
        defined = {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)}
        assert set(task.functions) <= defined, (task.id, set(task.functions) - defined)


def test_pyproject_registers_one_marker_per_task_with_its_statement():
    """pyproject.toml's markers list `task_X_Y: Task X.Y: statement` for every task."""
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    registered = dict(re.findall(r'"(task_\d+_\d+): (Task [^"]+)"', text))
    assert registered == {task.marker: task.message for task in TASKS}


def test_every_task_has_marked_tests_in_its_test_file():
    """Each task's test file carries its marker (no task is graded on nothing)."""
    for task in TASKS:
        text = (ROOT / task.tests).read_text(encoding="utf-8")
        assert f"mark.{task.marker}" in text, task.id


def test_markers_are_rejected_when_unbalanced_or_unregistered():
    """find_regions names the file and line of an unclosed, stray, nested or unknown marker."""
    begin = "    # BEGIN SOLUTION Task 2.2: the unbiased best-of-n estimator\n"
    end = "    # END SOLUTION\n"
    for text, message in [(begin + "x = 1\n", "f.py:1: BEGIN SOLUTION without END"),
                          ("x = 1\n" + end, "f.py:2: END SOLUTION without BEGIN"),
                          (begin + begin + end, "f.py:2: BEGIN SOLUTION inside"),
                          (begin.replace("2.2", "9.9") + end, "f.py:1: Task 9.9 is not"),
                          (begin.replace("unbiased", "biased") + end, "f.py:1: Task 2.2's")]:
        with pytest.raises(ValueError, match=re.escape(message)):
            handout.find_regions(text, "f.py")


def test_strip_solutions_keeps_the_signature_and_docstring_and_raises_the_task():
    """A stubbed function keeps its lines outside the region and raises at the marker's indent."""
    text = ('def f(x):\n    """Doc."""\n    check(x)\n'
            "    # BEGIN SOLUTION Task 4.1: the Bradley–Terry loss\n    return x + 1\n"
            "    # END SOLUTION\n")
    assert handout.strip_solutions(text) == (
        'def f(x):\n    """Doc."""\n    check(x)\n'
        "    raise NotImplementedError('Task 4.1: the Bradley–Terry loss')\n")


# --- the handout -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def student(tmp_path_factory):
    """A handout written by the CLI, and what the CLI printed."""
    dest = tmp_path_factory.mktemp("handout") / "course"
    result = subprocess.run([sys.executable, "-m", "minirmo", "handout", str(dest)], cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return dest, result.stdout


def test_handout_says_what_it_wrote(student):
    """The CLI names the folder, the stubbed tasks and the notebooks it wrote."""
    dest, printed = student
    assert f"wrote a handout to {dest}" in printed
    assert f"of {len(TASKS)} tasks: " + ", ".join(t.id for t in TASKS) in printed
    assert "tutorial notebooks (.ipynb)" in printed


def test_handout_holds_no_solution_text(student):
    """No line of any solution region appears anywhere in the handout (a grep over every file).

    Lines that also appear outside every solution region of the reference (in another module,
    a test, a tutorial) are not secret and are left out of the search; they are listed in the
    failure message if this ever fails, so the choice stays visible.
    """
    dest, _ = student
    secret = {line.strip() for regions in _solution_regions().values() for r in regions
              for line in r.lines if len(line.strip()) >= 6}
    public = ""
    for relative in handout._files(ROOT):
        if relative.suffix in {".py", ".md", ".toml", ".txt"}:
            text = (ROOT / relative).read_text(encoding="utf-8")
            public += handout.strip_solutions(text) if relative.suffix == ".py" else text
    secret = {line for line in secret if line not in public}
    assert len(secret) > 50  # the search is not vacuous
    for file in dest.rglob("*"):
        if file.is_file() and file.suffix not in {".png"}:
            text = file.read_text(encoding="utf-8")
            leaked = [line for line in secret if line in text]
            assert not leaked, f"{file.relative_to(dest)} holds solution text: {leaked[:3]}"


def test_handout_stubs_raise_their_task_and_keep_the_docstrings(student):
    """Each task's module raises NotImplementedError('Task X.Y: statement') in each of its
    functions, and every function of the reference keeps its docstring in the handout."""
    dest, _ = student
    for task in TASKS:
        text = (dest / task.module).read_text(encoding="utf-8")
        tree = ast.parse(text)
        functions = {node.name: node for node in ast.walk(tree)
                     if isinstance(node, ast.FunctionDef)}
        for name in task.functions:
            raises = [node for node in ast.walk(functions[name]) if isinstance(node, ast.Raise)
                      and "NotImplementedError" in ast.unparse(node)]
            assert raises, (task.id, name)
            assert all(repr(task.message) in ast.unparse(r) or task.message in ast.unparse(r)
                       for r in raises), (task.id, name)
            assert ast.get_docstring(functions[name]), (task.id, name)


def test_handout_leaves_out_instructor_files_and_adds_notebooks(student):
    """No course tests, mutation benchmark or hidden tests in the handout; one .ipynb per
    tutorial."""
    dest, _ = student
    for path in [*handout.INSTRUCTOR_ONLY, "tests_hidden"]:
        assert not (dest / path).exists(), path
    hidden = {p.name for p in (ROOT / "tests_hidden").glob("test_*.py")}
    assert hidden and not hidden & {p.name for p in dest.rglob("*.py")}
    tutorials = sorted((ROOT / "tutorials").glob("*.py"))
    for tutorial in tutorials:
        notebook = json.loads((dest / "tutorials" / tutorial.with_suffix(".ipynb").name)
                              .read_text(encoding="utf-8"))
        assert any(cell["cell_type"] == "markdown" for cell in notebook["cells"])
    assert not list(dest.rglob("__pycache__"))


def test_handout_refuses_a_non_empty_folder_naming_it(student, capsys):
    """`minirmo handout DIR` on a non-empty DIR exits with an error that names DIR."""
    dest, _ = student
    with pytest.raises(SystemExit):
        cli.main(["handout", str(dest)])
    assert str(dest) in capsys.readouterr().err
    with pytest.raises(ValueError, match="^dest: .* is not an empty folder"):
        handout.make_handout(dest)


def test_handout_outside_a_source_checkout_says_it_needs_one(tmp_path, monkeypatch, capsys):
    """Beside an installed package (a folder holding minirmo/ alone, as site-packages does),
    `minirmo handout DIR` is a usage error saying the kit needs a source checkout and how to
    get one; the grader's root finder says the same."""
    package = tmp_path / "site-packages" / "minirmo"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("", encoding="utf-8")
    assert handout.project_root() == ROOT  # this checkout is one
    needs = (r"^source: the course kit needs a source checkout of minirmo .* Run it from a clone "
             r"of the minirmo repository, installed with `pip install -e \.` inside the clone")
    with pytest.raises(ValueError, match=needs):
        handout.project_root(package)
    monkeypatch.setattr(handout, "PACKAGE", package)
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["handout", str(tmp_path / "course")])
    assert exit_info.value.code == 2  # argparse's usage error
    err = capsys.readouterr().err
    assert "needs a source checkout of minirmo" in err and "a clone of the minirmo" in err, err
    assert not (tmp_path / "course").exists()


def test_handout_is_ruff_clean_and_its_tests_collect(student):
    """The student's copy passes `ruff check` and all its test files collect under pytest."""
    dest, _ = student
    if shutil.which("ruff"):
        ruff = subprocess.run(["ruff", "check", "."], cwd=dest, capture_output=True, text=True)
        assert ruff.returncode == 0, ruff.stdout
    result = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q",
                             "-p", "no:cacheprovider"], cwd=dest, capture_output=True, text=True,
                            env=_env(dest), timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "error" not in result.stdout.lower().splitlines()[-1]


def _env(package_root: Path) -> dict:
    """The environment for a subprocess that must import minirmo from `package_root`."""
    import os
    return {**os.environ, "PYTHONPATH": str(package_root), "PYTHONDONTWRITEBYTECODE": "1"}


# --- the handout gives nothing away -----------------------------------------------------------
#
# A give-away is code in the handout that states a task's answer: a test oracle that passes the
# task when pasted in, or a module that computes the same thing in plain sight. The audit takes
# every expression of each task's reference solution that could carry an answer, and looks for
# it in every Python file of a handout. An expression counts in two forms:
#
#   exact: arithmetic on at least two variables, e.g. `gamma * lam` (GAE's decay), a library
#          call named by its function alone (`F.logsigmoid` and `nn.functional.logsigmoid`
#          both read `logsigmoid`);
#   shape: at least three operations or calls, one of them a call, whatever the calls'
#          arguments, e.g. `-logsigmoid(_).mean()` (the Bradley–Terry loss, whatever its margin).

LIBRARIES = {"torch", "nn", "F", "np", "numpy", "math"}
ARITHMETIC = (ast.BinOp, ast.UnaryOp, ast.Compare, ast.BoolOp)

# What the audit finds in a handout that is not a give-away, and why: {(task, expression, file)}.
EXEMPT = {
    # fit_bon's test scans R_bon on a grid up to its second zero α/β, read off the form itself
    # (task 3.1's statement); the peak, α/(2β), is not in it.
    ("3.2", "alpha / beta", "tests/test_fit.py"): "the grid's end, R_bon's second zero",
}

# DPO's loss as it read at cf98080, restating task 4.1's answer (issue 22).
DPO_BEFORE = """
def dpo_loss(logratio_chosen, logratio_rejected, beta):
    margin = logratio_chosen - logratio_rejected  # (pairs,)
    return -F.logsigmoid(beta * margin).mean()
"""


class _Canonical(ast.NodeTransformer):
    """A library call named by its function alone; with `wildcard`, every call's arguments `_`."""

    def __init__(self, wildcard: bool):
        self.wildcard = wildcard

    def visit_Call(self, call):
        self.generic_visit(call)
        root = call.func
        while isinstance(root, ast.Attribute):
            root = root.value
        if isinstance(call.func, ast.Attribute) and getattr(root, "id", None) in LIBRARIES:
            call.func = ast.Name(call.func.attr, ast.Load())
        if self.wildcard:
            call.args, call.keywords = [ast.Name("_", ast.Load()) for _ in call.args], []
        return call


def _expressions(tree) -> dict[str, ast.expr]:
    """{text: first node} of the expressions of `tree` that could carry an answer."""
    found = {}
    for node in ast.walk(tree):
        if not isinstance(node, ast.expr):
            continue
        exact = _Canonical(wildcard=False).visit(copy.deepcopy(node))
        names = {n.id for n in ast.walk(exact) if isinstance(n, ast.Name)} - LIBRARIES
        if len(names) >= 2 and any(isinstance(n, ARITHMETIC) for n in ast.walk(exact)):
            found.setdefault(ast.unparse(exact), node)
        shape = _Canonical(wildcard=True).visit(copy.deepcopy(node))
        operations = [n for n in ast.walk(shape) if isinstance(n, (*ARITHMETIC, ast.Call))]
        if len(operations) >= 3 and any(isinstance(n, ast.Call) for n in operations):
            found.setdefault(ast.unparse(shape), node)
    return found


def _answers() -> dict[str, set[str]]:
    """{task id: the expressions of its reference solution regions}."""
    answers = {}
    for regions in _solution_regions().values():
        for region in regions:
            tree = ast.parse(textwrap.dedent("\n".join(region.lines)))
            answers.setdefault(region.task_id, set()).update(_expressions(tree))
    return answers


def giveaways(folder: Path) -> dict[tuple[str, str, str], int]:
    """{(task id, expression, file): line} for every answer expression in `folder`'s Python
    files; where one found expression holds another of the same task, only the outer one."""
    answers, found = _answers(), {}
    for file in sorted(folder.rglob("*.py")):
        expressions = _expressions(ast.parse(file.read_text(encoding="utf-8")))
        for task, answer in answers.items():
            nodes = [expressions[text] for text in sorted(answer & set(expressions))]
            inner = {id(n) for outer in nodes for n in ast.walk(outer) if n is not outer}
            for text in sorted(answer & set(expressions)):
                if id(expressions[text]) not in inner:
                    key = (task, text, file.relative_to(folder).as_posix())
                    found.setdefault(key, expressions[text].lineno)
    return found


def test_handout_gives_no_task_away(student):
    """No Python file of the handout holds an expression of a task's reference solution, but
    for the exemptions listed, with their reasons, in EXEMPT (each still found: none is stale)."""
    dest, _ = student
    found = giveaways(dest)
    leaks = {f"{file}:{line}: task {task}: {text}" for (task, text, file), line in found.items()
             if (task, text, file) not in EXEMPT}
    assert not leaks, "give-aways in the handout:\n" + "\n".join(sorted(leaks))
    assert set(EXEMPT) <= set(found), f"stale exemptions: {set(EXEMPT) - set(found)}"


def test_handout_audit_catches_the_oracle_and_the_loss_it_was_written_for(tmp_path):
    """The audit flags GAE's plain loop (now a hidden test) and DPO's loss as it read before
    it called the Bradley–Terry loss: each as the task it gives away."""
    (tmp_path / "tests").mkdir()
    shutil.copyfile(ROOT / "tests_hidden" / "test_hidden_ppo.py", tmp_path / "tests" / "t.py")
    (tmp_path / "dpo.py").write_text(DPO_BEFORE, encoding="utf-8")
    found = giveaways(tmp_path)
    assert ("5.1", "gamma * lam", "tests/t.py") in found, found
    assert ("4.1", "-logsigmoid(_).mean()", "dpo.py") in found, found


# --- the round trip: a task fails on its stub and passes once its reference code is in --------


def test_grading_a_handout_with_one_reference_module_copied_in(student, tmp_path):
    """Grading the handout with the reference bon.py copied in: tasks 2.1 and 2.2 pass, and
    every test of every other task fails with a NotImplementedError('Task …'), its own task's
    message among them. Weights come from a file; the table and both reports say so.

    That every task's tests pass on the reference is the rest of this suite passing; `.ci/run`
    also grades the reference and requires full marks.
    """
    dest, _ = student
    solved = tmp_path / "solved"
    shutil.copytree(dest / "minirmo", solved / "minirmo")
    shutil.copyfile(ROOT / "minirmo" / "bon.py", solved / "minirmo" / "bon.py")
    weights = tmp_path / "weights.json"
    weights.write_text(json.dumps({"2.1": 10, "2.2": 30}), encoding="utf-8")
    out = tmp_path / "out"
    results = grade.grade(solved, out, weights, spec=dest)
    for result in results:
        task = result.task
        assert result.records, f"task {task.id} has no tests in the handout"
        if task.id in ("2.1", "2.2"):
            assert result.status == "passed" and result.score == result.weight, result
            continue
        assert result.status == "not implemented" and result.score == 0, result
        for node, record in result.records.items():
            assert record["outcome"] == "failed" and record.get("stub"), (node, record)
            assert "NotImplementedError: Task " in record["message"], (node, record)
        assert any(task.message in r["message"] for r in result.records.values()), task.id

    printed = grade.table(results)  # what `minirmo grade` prints
    assert re.search(r"^2\.2 .* passed +30\.0/30", printed, re.M), printed
    assert re.search(r"^1\.1 .* not implemented +0\.0/4", printed, re.M), printed
    report = json.loads((out / "results.json").read_text(encoding="utf-8"))
    most = sum(t.weight for t in TASKS) - BY_ID["2.1"].weight - BY_ID["2.2"].weight + 40
    assert report["score"] == 40.0 and report["max_score"] == most, report
    assert [t["name"] for t in report["tests"]] == [t.message for t in TASKS]
    assert "NotImplementedError: Task 1.1" in report["tests"][0]["output"]
    assert "<testsuite" in (out / "junit.xml").read_text(encoding="utf-8")


def test_a_submission_that_does_not_import_grades_error_with_the_reason(student, tmp_path):
    """A syntax error in the student's kl.py: task 1.1 is "error" with pytest's complaint and
    scores 0, while task 4.1, whose tests do not import kl, is still graded."""
    dest, _ = student
    broken = tmp_path / "broken"
    shutil.copytree(dest / "minirmo", broken / "minirmo")
    (broken / "minirmo" / "kl.py").write_text("def bon_kl(n:\n", encoding="utf-8")
    results = grade.grade(broken, tmp_path / "out", task_ids=["1.1", "4.1"], spec=dest)
    assert [(r.status, r.score) for r in results] == [("error", 0.0), ("not implemented", 0.0)]
    assert "SyntaxError" in results[0].output


def test_grade_command_passes_its_options_on(capsys):
    """`minirmo grade --tasks` reaches the grader: an unknown task id is a usage error naming it."""
    with pytest.raises(SystemExit):
        cli.main(["grade", str(ROOT), "--tasks", "2.1,7.7"])
    assert "tasks: unknown task '7.7'" in capsys.readouterr().err


def test_hidden_tests_that_are_not_a_folder_of_tests_or_clash_with_the_spec_are_refused(
        tmp_path, capsys):
    """`minirmo grade --hidden` of a folder without test files is a usage error naming hidden;
    a hidden test file named like one of the spec's is refused, naming both."""
    with pytest.raises(SystemExit):
        cli.main(["grade", str(ROOT), "--hidden", str(tmp_path)])
    assert f"hidden: {tmp_path} is not a folder holding test_*.py files" in capsys.readouterr().err
    (tmp_path / "test_kl.py").write_text("", encoding="utf-8")
    with pytest.raises(ValueError, match=r"^hidden: .*test_kl\.py has the name of a test file"):
        grade.grade(ROOT, tmp_path / "out", task_ids=["1.1"], hidden=tmp_path)


# --- the Gradescope autograder: built, unzipped into a temporary root, run end to end --------


@pytest.fixture(scope="module")
def autograder_zip(tmp_path_factory):
    """`minirmo autograder course.zip` from this checkout (its tests_hidden/ included)."""
    out = tmp_path_factory.mktemp("autograder") / "course.zip"
    result = subprocess.run([sys.executable, "-m", "minirmo", "autograder", str(out)], cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "3 hidden test files" in result.stdout, result.stdout
    return out


def _run_autograder(zip_path: Path, root: Path, package: Path | None) -> dict:
    """Unzip the autograder into root/source, put `package` (a minirmo/ folder) in
    root/submission, run root/source/run_autograder there and return its results.json."""
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(root / "source")
    (root / "submission").mkdir()
    if package is not None:
        shutil.copytree(package, root / "submission" / "minirmo",
                        ignore=shutil.ignore_patterns("__pycache__"))
    env = {**os.environ, "MINIRMO_AUTOGRADER_ROOT": str(root), "PYTHONDONTWRITEBYTECODE": "1",
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}  # python3
    result = subprocess.run(["bash", str(root / "source" / "run_autograder")], env=env,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return json.loads((root / "results" / "results.json").read_text(encoding="utf-8"))


def _entries_of(report: dict, task) -> list[dict]:
    """The results.json tests of one task: its public tests' entry, and its hidden tests'."""
    return [t for t in report["tests"] if t["name"].startswith(task.message)]


def test_autograder_gives_the_reference_full_marks_hidden_tests_included(autograder_zip,
                                                                          tmp_path):
    """The reference package as the submission: every entry at full marks, a hidden-tests
    entry (shown after publishing) for each task that has hidden tests, the full total in the
    output students always see."""
    report = _run_autograder(autograder_zip, tmp_path, ROOT / "minirmo")
    assert report["score"] == report["max_score"] == sum(t.weight for t in TASKS), report
    assert all(t["score"] == t["max_score"] for t in report["tests"]), report["tests"]
    hidden = [t for t in report["tests"] if t["name"].endswith("(hidden tests)")]
    assert {t["name"] for t in hidden} == {f"{BY_ID[i].message} (hidden tests)"
                                           for i in ("1.2", "3.3", "5.1")}
    assert {t["visibility"] for t in hidden} == {"after_published"}
    total = sum(t.weight for t in TASKS)
    assert report["output"].endswith(f"total score: {total:g} of {total:g}"), \
        report["output"][-300:]


def test_autograder_gives_a_stub_submission_zero_per_task_with_its_message(autograder_zip,
                                                                            tmp_path):
    """The handout's own package (every task a stub) as the submission: each task scores 0,
    hidden tests included, and says it is not implemented with its own message."""
    stubs = tmp_path / "stubs"
    with zipfile.ZipFile(autograder_zip) as archive:
        archive.extractall(stubs)
    report = _run_autograder(autograder_zip, tmp_path / "root", stubs / "spec" / "minirmo")
    assert report["score"] == 0 and report["max_score"] == sum(t.weight for t in TASKS)
    for task in TASKS:
        entries = _entries_of(report, task)
        assert entries and all(t["score"] == 0 for t in entries), (task.id, entries)
        assert sum(t["max_score"] for t in entries) == pytest.approx(task.weight, abs=1e-3)
        assert all(t["output"].startswith("not implemented") for t in entries), entries
        assert any(task.message in t["output"] for t in entries), (task.id, entries)


def test_autograder_without_a_package_scores_every_task_zero_saying_why(autograder_zip,
                                                                        tmp_path):
    """A submission with no minirmo/ package: every task 0 of its points, "error", and the
    output says what to submit."""
    report = _run_autograder(autograder_zip, tmp_path, None)
    assert report["score"] == 0 and report["max_score"] == sum(t.weight for t in TASKS)
    assert [t["name"] for t in report["tests"]] == [t.message for t in TASKS]
    assert all(t["output"].startswith("error: no minirmo/ package") for t in report["tests"])


# --- grading's inputs --------------------------------------------------------------------------


def test_default_weights_are_the_registry_s():
    """Without a file every task is worth its registry weight."""
    assert grade.load_weights() == {t.id: float(t.weight) for t in TASKS}


@pytest.mark.parametrize("content, message", [
    ('{"9.9": 1}', "unknown task '9.9'"), ('{"2.1": -1}', "task 2.1 must be worth"),
    ('{"2.1": "ten"}', "task 2.1 must be worth"), ("[1, 2]", "must hold a JSON object"),
    ("{not json", "cannot read"),
])
def test_bad_weights_raise_value_error_naming_weights(tmp_path, content, message):
    """A weights file with an unknown task, a negative or non-numeric weight or bad JSON is
    refused with a ValueError that starts with `weights:`."""
    path = tmp_path / "w.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match=rf"^weights: .*{re.escape(message)}"):
        grade.load_weights(path)


def test_grading_a_folder_without_a_package_names_it(tmp_path):
    """grade() of a folder with no minirmo/ raises a ValueError naming the submission."""
    with pytest.raises(ValueError, match="^submission: "):
        grade.grade(tmp_path, tmp_path / "out")


def test_grading_an_unknown_task_names_it(tmp_path):
    """grade(task_ids=["7.7"]) raises a ValueError naming tasks."""
    with pytest.raises(ValueError, match="^tasks: unknown task '7.7'"):
        grade.grade(ROOT, tmp_path, task_ids=["7.7"])


# --- the course's documents ---------------------------------------------------------------------

TUTORIALS = sorted((ROOT / "tutorials").glob("*.py"))


def test_teaching_guide_lists_every_task_with_its_marker_and_time():
    """docs/teaching.md has a row per task: id, statement, marker and estimated minutes."""
    guide = (ROOT / "docs" / "teaching.md").read_text(encoding="utf-8")
    for task in TASKS:
        row = next((line for line in guide.splitlines() if line.startswith(f"| {task.id} |")),
                   "")
        assert task.title in row and task.marker in row and f"{task.minutes} min" in row, task.id


@pytest.mark.parametrize("path", TUTORIALS, ids=lambda p: p.name)
def test_tutorial_exercises_name_the_tasks_they_build_on(path):
    """Every tutorial's Exercises section names at least one registered task id."""
    exercises = path.read_text(encoding="utf-8").split("# ## Exercises", 1)[1]
    named = set(re.findall(r"Tasks? (\d+\.\d+)", exercises))
    assert named and named <= set(BY_ID), (path.name, named)


def _exercises(path: Path) -> list[int]:
    """The numbers of a tutorial's exercises: the items "# 1. ", "# 2. ", ... of its Exercises
    section."""
    section = path.read_text(encoding="utf-8").split("# ## Exercises", 1)[1]
    return [int(n) for n in re.findall(r"^# (\d+)\. ", section, re.M)]


@pytest.mark.parametrize("path", TUTORIALS, ids=lambda p: p.name)
def test_every_exercise_has_an_answer_key(path):
    """instructor/answers/<tutorial>.md has one "## Exercise K" section with an answer for each
    exercise K of the tutorial, and none for an exercise the tutorial does not have."""
    numbers = _exercises(path)
    assert numbers == list(range(1, len(numbers) + 1)) and numbers, (path.name, numbers)
    key = ROOT / "instructor" / "answers" / f"{path.stem}.md"
    assert key.is_file(), f"no answer key {key.relative_to(ROOT)}"
    text = key.read_text(encoding="utf-8")
    sections = re.split(r"^## Exercise (\d+)\b", text, flags=re.M)
    keyed = [int(n) for n in sections[1::2]]
    assert keyed == numbers, (key.name, keyed, numbers)
    for number, body in zip(keyed, sections[2::2], strict=True):
        assert "**Answer.**" in body, (key.name, number)


def test_handout_leaves_out_the_answer_keys(student):
    """The instructor pack (instructor/: answer keys, rubric, key runner) is not in the
    handout, and no answer of a key appears in any of its files."""
    dest, _ = student
    pack = ROOT / "instructor"
    assert (pack / "rubric.md").is_file() and len(list((pack / "answers").glob("*.md"))) >= 2
    assert "instructor" not in handout.INCLUDE
    assert not (dest / "instructor").exists()
    answers = [line.strip() for key in (pack / "answers").glob("*.md")
               for line in key.read_text(encoding="utf-8").split("**Answer.**")[1:]
               for line in [line.split("\n")[0]] if len(line.strip()) >= 40]
    assert len(answers) >= 20  # the search is not vacuous
    for file in dest.rglob("*"):
        if file.is_file() and file.suffix in {".md", ".py", ".ipynb", ".txt", ".toml"}:
            text = file.read_text(encoding="utf-8")
            leaked = [a for a in answers if a in text]
            assert not leaked, f"{file.relative_to(dest)} holds answer-key text: {leaked[:2]}"


@pytest.mark.parametrize("path", TUTORIALS, ids=lambda p: p.name)
def test_no_tutorial_starts_the_paper_preset_unless_asked(path):
    """No tutorial picks the hour-long `paper` preset by default; each says how long it takes."""
    text = path.read_text(encoding="utf-8")
    for line in text.splitlines():
        if line.startswith("PRESET ="):
            assert '"paper"' not in line.split("#")[0], line
            assert 'os.environ.get("MINIRMO_PRESET", "tiny")' in line, line
    assert "*Time on a laptop CPU" in text and "Colab" in text
