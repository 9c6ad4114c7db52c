"""Every script under benchmarks/ starts: it imports and prints its usage for `--help`.

The benchmarks are measurements, run by hand or in one prepared call on a GPU machine
(`benchmarks/gpu_check.sh`), never in CI. A script that no longer imports (a function renamed
in the package) or that reads its arguments wrongly would otherwise be found only when that
call fails on it. This checks the start, in this process (the imports are the suite's own), not
what the scripts measure.
"""

import runpy
import sys
from pathlib import Path

import pytest

BENCHMARKS = sorted((Path(__file__).resolve().parent.parent / "benchmarks").glob("*.py"))


@pytest.mark.parametrize("script", BENCHMARKS, ids=lambda path: path.name)
def test_every_benchmark_script_imports_and_prints_its_usage(script, monkeypatch, capsys):
    """`python benchmarks/NAME.py --help` exits 0 after printing a usage line."""
    monkeypatch.setattr(sys, "argv", [str(script), "--help"])
    monkeypatch.setattr(sys, "path", list(sys.path))  # a script puts the root on the path
    with pytest.raises(SystemExit) as exit_info:
        runpy.run_path(str(script), run_name="__main__")
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.startswith("usage: ")
