"""The tutorials are part of the package: each must read as a notebook.

That each runs is checked in tests/test_schedule.py, in a handout with only the tasks due by
its lesson solved: a tutorial that runs there runs on the reference too.
"""

from pathlib import Path

import pytest

TUTORIALS = sorted((Path(__file__).resolve().parent.parent / "tutorials").glob("*.py"))


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
