"""Fixtures shared across test modules, and the Hypothesis settings of the suite."""

import pytest
import torch
from hypothesis import Phase, settings

# Hypothesis's "explain" phase re-runs a failing property many times to report which arguments
# mattered. On a course handout every task test fails (its stub raises NotImplementedError), and
# the phase made a first `pytest -m task_1_1` take minutes instead of seconds. Shrinking is
# kept: the minimal failing example is what a student debugs with.
settings.register_profile("minirmo", phases=[p for p in Phase if p != Phase.explain])
settings.load_profile("minirmo")


def pytest_configure(config):
    """One thread, as the `minirmo` command uses: these models are small enough that a second
    thread only adds overhead, and a fixed thread count keeps every number bit-identical."""
    torch.set_num_threads(1)


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups off the marks
def pytest_collection_modifyitems(items):
    """The schedule's tutorial runs go first, and the tests sharing the `test` preset's run
    folder run on one worker, in that order.

    tests/test_schedule.py's slow tests train the `test` preset's models inside the tutorials,
    from a cold run folder, in a handout with only the tasks due by each lesson solved; run
    first, that cold folder is the session's `test_run_dir`, and the later tests load those
    models instead of training them again (cache keys hash recipes, not code, and the
    handout's filled-in code is the reference's). Under `pytest -n auto --dist loadgroup`
    (pytest-xdist, the README's command) every test using `test_run_dir` joins one xdist group,
    so they run on one worker in this order: the schedule's lessons, then test_commands.py,
    which trains the rest of the preset, then the DPO and ensemble tests. The other tests
    spread over the other workers."""
    first = [item for item in items
             if item.path.name == "test_schedule.py" and item.get_closest_marker("slow")]
    if first:
        items[:] = first + [item for item in items if item not in first]
    for item in items:
        if "test_run_dir" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.xdist_group("test_preset"))


@pytest.fixture(scope="session")
def test_run_dir(tmp_path_factory):
    """One run folder for the `test` preset, shared by the whole session.

    tests/test_schedule.py runs the tutorials first (see above), training into it what they
    need; tests/test_commands.py then trains the rest of the preset into it, and the DPO and
    ensemble tests reuse it. Every user must work from a cold folder too: a module run on its
    own trains what it needs here.
    """
    return tmp_path_factory.mktemp("test_run")
