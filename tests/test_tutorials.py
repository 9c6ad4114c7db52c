"""The tutorials are part of the package: each must run, and each must read as a notebook."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

TUTORIALS = sorted((Path(__file__).resolve().parent.parent / "tutorials").glob("*.py"))


@pytest.mark.slow
@pytest.mark.parametrize("path", TUTORIALS, ids=lambda p: p.name)
def test_tutorial_runs_in_fast_mode(path, tmp_path, test_run_dir):
    """Every tutorial runs top to bottom in fast mode.

    Tutorials that train models share the session's run folder (conftest.py): after
    test_commands.py it holds every model of the `test` preset, and otherwise the first
    tutorial that needs a model trains it for the rest.
    """
    env = {**os.environ, "MINIRMO_FAST": "1", "MPLBACKEND": "Agg", "MINIRMO_OUT": str(tmp_path),
           "MINIRMO_RUN_DIR": str(test_run_dir)}
    result = subprocess.run([sys.executable, str(path)], env=env, cwd=tmp_path,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"{path.name} failed:\n{result.stderr}"


@pytest.mark.parametrize("path", TUTORIALS, ids=lambda p: p.name)
def test_tutorial_is_jupytext_percent_with_prose(path):
    """Every tutorial is a jupytext percent notebook with prose cells and an Exercises heading."""
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    assert any(line.startswith("# %% [markdown]") for line in lines), "no '# %% [markdown]' cell"
    assert sum(line.startswith("# %%") for line in lines) >= 2, "fewer than two cells"
    assert any(line.startswith("# #") and "Exercises" in line for line in lines), (
        "no '## Exercises' heading"
    )
    jupytext = pytest.importorskip("jupytext")
    notebook = jupytext.reads(text, fmt="py:percent")
    markdown = [c.source for c in notebook.cells if c.cell_type == "markdown"]
    assert markdown, "jupytext found no markdown cell"
    assert any(
        line.lstrip("#").strip() == "Exercises" and line.startswith("#")
        for cell in markdown for line in cell.splitlines()
    ), "jupytext found no 'Exercises' heading in a markdown cell"
    assert any(c.cell_type == "code" for c in notebook.cells), "no code cell"


def test_tutorials_exist():
    """The glob found the tutorials (an empty parametrization would pass silently)."""
    assert len(TUTORIALS) >= 2
