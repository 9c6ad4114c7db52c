"""`--set FIELD=VALUE`, `minirmo presets`, and the path from the command to a training loop.

A student changes one setting from the command line, and can follow the command down to the
loop that trains the model (`--jobs 1` keeps every model in the calling process, so a
breakpoint there fires). These tests pin both on the micro preset of tests/test_runs.py.
"""

import csv
import inspect
import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from test_runs import MICRO

from minirmo.cli import main
from minirmo.policy import PolicyConfig
from minirmo.reward import RMConfig
from minirmo.runs import compute, overrides
from minirmo.runs.presets import PRESETS, get_preset


def test_a_set_changes_one_field_and_is_recorded():
    """`--set ppo.steps=3` changes that field only and records the assignment."""
    preset = overrides.apply(get_preset("test"), ["ppo.steps=3"])
    assert preset.ppo == replace(get_preset("test").ppo, steps=3)
    assert preset.overrides == ("ppo.steps=3",)
    assert replace(preset, ppo=get_preset("test").ppo, overrides=()) == get_preset("test")


@pytest.mark.parametrize("assignment, value", [
    ("bon_pool=1_024", ("bon_pool", 1024)),
    ("proxy_train.lr=6e-3", ("proxy_train.lr", 6e-3)),
    ("proxy_data=500,2000", ("proxy_data", [500, 2000])),
    ("proxy_sizes=1x8x2,2x64", ("proxy_sizes", [RMConfig(1, 8, 2), RMConfig(2, 64)])),
    ("dpo_betas=0.1,1", ("dpo_betas", (0.1, 1.0))),
    ("world.extra_traps=spam,stacking", ("world.extra_traps", ("spam", "stacking"))),
    ("ppo.whiten_advantages=false", ("ppo.whiten_advantages", False)),
    ("second_policy=none", ("second_policy", None)),
    ("second_policy.n_layer=3", ("second_policy", PolicyConfig(3, 64))),
])
def test_a_value_is_parsed_by_its_fields_type(assignment, value):
    """Numbers, lists, sizes (LxW[xH]), bools and none are parsed by the field's type, and a
    field below a config that is off starts from that config's defaults."""
    path, expected = value
    preset = overrides.apply(get_preset("test"), [assignment])
    for name in path.split("."):
        preset = getattr(preset, name)
    assert preset == expected


@pytest.mark.parametrize("assignment, words", [
    ("ppo.nope=1", ["nope", "PPOConfig", "steps, batch_size"]),
    ("nope=1", ["nope", "proxy_sizes"]),
    ("ppo.lr=abc", ["ppo.lr", "'abc' is not a float"]),
    ("bon_pool=1.5", ["bon_pool", "not an int"]),
    ("ppo.steps=0", ["ppo.steps", "steps"]),
    ("proxy_data=500,200", ["proxy_data", "increase"]),
    ("ppo.lr", ["FIELD=VALUE"]),
    ("bon_pool=none", ["bon_pool", "none"]),
    ("bon_pool.size=1", ["bon_pool", "no fields"]),
    ("proxy_sizes=1x8x2x4", ["LAYERSxWIDTH"]),
    ("dpo.beta=1", ["dpo_betas"]),
])
def test_a_bad_assignment_is_an_error_naming_the_field(assignment, words):
    """An unknown field (with the valid names at its level), a value of the wrong type, or a
    value the preset's own checks refuse is a ValueError that names the field."""
    with pytest.raises(ValueError) as error:
        overrides.apply(get_preset("test"), [assignment])
    assert all(word in str(error.value) for word in words), str(error.value)


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_listed_setting_can_be_set_back(name):
    """`minirmo presets NAME` lists every setting as FIELD = VALUE, and setting each line's
    value back gives the same preset: what it prints is what --set takes."""
    lines = overrides.describe(PRESETS[name])
    assert len(lines) > 50 and any(line.startswith("ppo.lr = ") for line in lines)
    same = overrides.apply(PRESETS[name], [line.replace(" = ", "=", 1) for line in lines])
    assert replace(same, overrides=()) == PRESETS[name]


def test_the_presets_command_lists_the_fields(capsys):
    """`minirmo presets test` prints every setting of the test preset with its value."""
    main(["presets", "test"])
    printed = capsys.readouterr().out
    assert "ppo.steps = 24" in printed and "proxy_train.epochs = 2" in printed
    assert "bon_pool = 4096" in printed


LOADED_GPT2 = ("sorted(m for m in sys.modules if m.startswith('transformers.models.gpt2.'))")


def test_the_presets_command_loads_no_gpt2_code_until_a_model_is_built():
    """`minirmo presets` imports none of transformers' GPT-2 code (seconds of imports, which
    `--help` and usage errors skip the same way); building a policy loads it."""
    code = (f"import sys; from minirmo.cli import main; main(['presets', 'test']); "
            f"print({LOADED_GPT2}); from minirmo.policy import build_policy; "
            f"from minirmo.world import World; build_policy(World()); print({LOADED_GPT2})")
    # from the checkout's root, so that `python -c` imports this checkout's minirmo
    result = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).parent.parent,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    before, after = result.stdout.strip().splitlines()[-2:]
    assert before == "[]"
    assert "transformers.models.gpt2.modeling_gpt2" in after


def test_a_bad_set_is_a_usage_error(tmp_path, capsys):
    """`minirmo rl --set ppo.nope=1` exits with a usage error naming the field."""
    with pytest.raises(SystemExit) as exit_info:
        main(["rl", "--preset", "test", "--out", str(tmp_path), "--set", "ppo.nope=1"])
    assert exit_info.value.code == 2 and "nope" in capsys.readouterr().err


def chain_from_main() -> list[str]:
    """The names of the functions on the stack from the CLI's `main` to the caller's caller."""
    names = [frame.function for frame in inspect.stack()[2:]]
    return names[:names.index("main") + 1][::-1]


def watched(loop, seen: dict):
    """`loop` that records, at each call, this process's id and the call chain from `main`."""
    def call(*args, **kwargs):
        seen.setdefault(loop.__name__, []).append((os.getpid(), chain_from_main()))
        return loop(*args, **kwargs)
    return call


@pytest.fixture
def micro_rl(tmp_path, monkeypatch):
    """`minirmo rl --preset micro --jobs 1 --set ppo.steps=2`, with the training loops watched:
    (folder, {loop: [(process id, call chain from main)]})."""
    monkeypatch.setitem(PRESETS, "micro", MICRO)
    seen = {}
    for name in ("train_ppo", "train_bradley_terry", "bon_estimate"):
        monkeypatch.setattr(compute, name, watched(getattr(compute, name), seen))
    main(["bon", "--preset", "micro", "--seed", "0", "--out", str(tmp_path), "--jobs", "1"])
    main(["rl", "--preset", "micro", "--seed", "0", "--out", str(tmp_path), "--jobs", "1",
          "--set", "ppo.steps=2"])
    return tmp_path, seen


def test_jobs_1_trains_every_model_in_the_calling_process(micro_rl):
    """With --jobs 1 every training loop runs in the process that called `main`, so a
    breakpoint in one fires."""
    _, seen = micro_rl
    assert set(seen) == {"train_ppo", "train_bradley_terry", "bon_estimate"}
    assert {pid for calls in seen.values() for pid, _ in calls} == {os.getpid()}


def test_the_command_reaches_each_training_loop_in_four_calls(micro_rl):
    """main -> prepare -> Cache.get -> the artefact's function -> the loop: four calls."""
    _, seen = micro_rl
    for loop, calls in seen.items():
        for _, chain in calls:
            assert len(chain) <= 4 and chain[:3] == ["main", "prepare", "get"], (loop, chain)


def test_a_set_reaches_the_run_and_config_json(micro_rl):
    """`--set ppo.steps=2` gives two PPO steps per run, and config.json records it."""
    folder, _ = micro_rl
    with open(folder / "rl.csv") as f:
        steps = sorted({int(row["step"]) for row in csv.DictReader(f)})
    assert steps == [0, 1]
    config = json.loads((folder / "config.json").read_text())
    assert config["overrides"] == ["ppo.steps=2"]
    assert config["preset_config"]["ppo"]["steps"] == 2
