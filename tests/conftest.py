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


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups off the marks
def pytest_collection_modifyitems(items):
    """Under `pytest -n auto --dist loadgroup` (pytest-xdist, the README's command), the tests
    that share the `test` preset's run folder (`test_run_dir`) run on one worker, in file
    order: test_commands.py trains the preset's models there first, and the DPO, ensemble and
    tutorial tests after it load them. The other tests spread over the other workers."""
    for item in items:
        if "test_run_dir" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.xdist_group("test_preset"))


def pytest_configure(config):
    """One thread, as the `minirmo` command uses: these models are small enough that a second
    thread only adds overhead, and a fixed thread count keeps every number bit-identical."""
    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def test_run_dir(tmp_path_factory):
    """One run folder for the `test` preset, shared by the whole session.

    tests/test_commands.py trains every model of the preset into it, and
    tests/test_tutorials.py hands it to each tutorial (MINIRMO_RUN_DIR), so the tutorials find
    the trained models in its cache instead of training them again. Every user must work from
    a cold folder too: a module run on its own trains what it needs here.
    """
    return tmp_path_factory.mktemp("test_run")
