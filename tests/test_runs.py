"""The experiment layer: presets, the artefact cache and one seed's artefact graph.

Reproducibility is a property of the design: an artefact's file is named by everything it
depends on (the seed included), and its randomness is its own. These tests pin both on toy
artefacts and on a micro preset that trains in seconds.
"""

import csv
import json
from dataclasses import replace
from functools import partial

import pytest
import torch

from minirmo.cli import main
from minirmo.ensemble import EnsembleConfig
from minirmo.policy import PolicyConfig, SFTConfig
from minirmo.ppo import PPOConfig
from minirmo.reproduce import needs, prepare, reproduce
from minirmo.reward import BTConfig, GoldConfig, RMConfig, pair_loss_and_accuracy
from minirmo.runs import overrides
from minirmo.runs.cache import CACHE_VERSION, Artefact, Cache, canonical
from minirmo.runs.parallel import _dependents, artefact_graph
from minirmo.runs.presets import PRESETS, Preset, get_preset
from minirmo.runs.run import Run, check_device
from minirmo.runs.studies import log_spaced_ns, seed_runs, write_config
from minirmo.world import World, WorldConfig

MICRO = Preset(  # every model trains in a second or two
    "micro", proxy_sizes=[RMConfig(1, 8, 2), RMConfig(1, 16, 2)], proxy_data=[100, 200],
    bon_pool=64, seeds=2, policy=PolicyConfig(1, 16, 2),
    sft=SFTConfig(corpus_size=256, epochs=1, batch_size=64),
    gold=GoldConfig(rm=RMConfig(1, 16, 2), pairs=300, train=BTConfig(epochs=1, batch_size=64)),
    proxy_train=BTConfig(epochs=1, batch_size=32), calibration_samples=64, test_pairs=200,
    ppo=PPOConfig(steps=4, batch_size=32, minibatch_size=16), kl_coefs=(0.0, 0.1),
    second_policy=None, ensembles=None)


def draw_three() -> torch.Tensor:
    return torch.rand(3)  # from the global RNG, as a model's initial weights are


def draw_three_after(inner: torch.Tensor) -> torch.Tensor:
    return torch.rand(3) + 0 * inner


def toy_artefacts():
    """An inner artefact drawn from the global RNG, and an outer one that needs it and then
    draws from the global RNG itself, as a model's initial weights do."""
    inner = Artefact("inner", draw_three)
    return inner, Artefact("outer", draw_three_after, dict(inner=inner))


def test_an_artefact_does_not_depend_on_what_was_cached_before_it(tmp_path):
    """An artefact is bit-identical whether its input was computed on the way, computed
    before it, or loaded from a warm cache, whatever the global RNG held before."""
    values = []
    for case in ("cold", "inner first", "warm"):
        inner, outer = toy_artefacts()
        folder = tmp_path / ("warm" if case == "warm" else case.replace(" ", "_"))
        if case == "warm":
            Cache(folder, torch.device("cpu")).get(inner, 0)  # on disk, not in memory
        cache = Cache(folder, torch.device("cpu"))
        torch.manual_seed(len(values))  # a different global state before each
        if case == "inner first":
            cache.get(inner, 0)
        values.append(cache.get(outer, 0))
    assert torch.equal(values[0], values[1]) and torch.equal(values[0], values[2])


def test_getting_an_artefact_leaves_the_callers_global_rng_alone(tmp_path):
    """Computing or loading an artefact neither reads nor advances the caller's global RNG."""
    inner, outer = toy_artefacts()
    cache = Cache(tmp_path, torch.device("cpu"))
    torch.manual_seed(7)
    cache.get(outer, 0)
    cache.get(outer, 0)
    after = torch.rand(2)
    torch.manual_seed(7)
    assert torch.equal(after, torch.rand(2))


def test_an_artefact_is_computed_on_one_thread_whatever_the_caller_uses(tmp_path):
    """A caller on two threads (a tutorial, a notebook) gets an artefact computed on one, as
    the command computes it, and keeps its own thread count."""
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        seen = Cache(tmp_path, torch.device("cpu")).get(
            Artefact("threads", lambda: torch.tensor(torch.get_num_threads())), 0)
        assert seen.item() == 1 and torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(threads)


def test_an_artefacts_key_changes_with_its_settings_and_its_inputs_keys():
    """A changed setting renames the artefact and everything downstream of it, nothing else."""
    base = Run(MICRO, "unused", progress=False)
    changed = Run(replace(MICRO, gold=replace(MICRO.gold, pairs=301)), "unused", progress=False)
    size = MICRO.proxy_sizes[0]
    assert base.policy_artefact().key == changed.policy_artefact().key
    assert base.gold_artefact().key != changed.gold_artefact().key
    assert base.proxy_artefact(size, 100).key != changed.proxy_artefact(size, 100).key
    assert base.proxy_artefact(size, 100).key != base.proxy_artefact(size, 200).key
    assert str(CACHE_VERSION) not in base.policy_artefact().key  # hashed, not spelled out


WITH_EVERY_STUDY = replace(MICRO, second_policy=PolicyConfig(1, 32, 2),
                           ensembles=EnsembleConfig(members=2, label_noise=(0.0, 0.25)))


def keys_and_inputs(preset) -> tuple[dict, dict]:
    """({label: key}, {label: labels of its inputs}) of every artefact `reproduce` reads at
    seed 0; a label is the artefact's name, "second/..." for the policy-size study's policy."""
    run = Run(preset, "unused", progress=False)
    graph = artefact_graph([run], partial(needs, command="reproduce"))
    second = {run.with_policy(preset.second_policy).policy_artefact().key}
    label = {}
    for node, (_, a) in graph.items():  # inputs come first
        if any(i.key in second for i in a.input_artefacts()):
            second.add(a.key)
        label[node] = ("second/" if a.key in second else "") + a.name
    assert len(set(label.values())) == len(graph)
    return ({label[node]: node[1] for node in graph},
            {label[node]: {label[(0, i.key)] for i in a.input_artefacts()}
             for node, (_, a) in graph.items()})


@pytest.mark.parametrize("assignment, readers", [
    ("ppo.steps=3", ("rl_", "ensemble_rl_", "second/rl_")),
    ("proxy_train.epochs=2", ("proxy_", "member", "second/proxy_")),
    ("bon_pool=32", ("pool", "second/pool")),
    ("gold.pairs=301", ("gold",)),
    ("sft.lr=0.002", ("policy", "second/policy")),
    ("test_pairs=100", ("test_comparisons",)),
    ("ensembles.uwo_lambda=2", ("ensemble_bon", "ensemble_rl_uwo")),
    ("second_policy.n_embd=48", ("second/policy",)),
])
def test_a_setting_changes_the_keys_of_exactly_what_reads_it(assignment, readers):
    """Changing one setting changes the key of each artefact that reads it (named by
    `readers`) and of everything downstream of those, and leaves every other key alone."""
    before, inputs = keys_and_inputs(WITH_EVERY_STUDY)
    after, _ = keys_and_inputs(overrides.apply(WITH_EVERY_STUDY, [assignment]))
    assert after.keys() == before.keys()
    expected = set()
    for label in before:  # inputs come first
        if label.startswith(readers) or inputs[label] & expected:
            expected.add(label)
    assert {label for label in before if before[label] != after[label]} == expected


def test_an_artefacts_randomness_comes_from_its_seed_and_name_not_its_key(tmp_path):
    """Two recipes of one artefact draw the same random numbers (only the recipe differs), so
    a change to how keys are spelled redraws nothing; another name or seed draws others."""
    cache = Cache(tmp_path, torch.device("cpu"))

    def noise(name, scale, seed=0):
        return cache.get(Artefact(name, scaled_noise, settings=dict(scale=scale)), seed)

    assert torch.equal(noise("a", 2.0), 2 * noise("a", 1.0))
    assert not torch.equal(noise("a", 1.0), noise("b", 1.0))
    assert not torch.equal(noise("a", 1.0), noise("a", 1.0, seed=1))


def scaled_noise(scale: float, generator: torch.Generator) -> torch.Tensor:
    return scale * torch.rand(4, generator=generator)


def test_the_canonical_form_of_settings_is_their_fields():
    """A key hashes each config's fields by name (with its class), a World by its config, and
    refuses what has no canonical form."""
    assert canonical(RMConfig(1, 8, 2)) == {"class": "RMConfig", "n_layer": 1, "n_embd": 8,
                                            "n_head": 2}
    world = World(WorldConfig(taste_scale=0.3))
    assert canonical(dict(world=world, ns=(1, 2))) == {"world": canonical(world.config),
                                                       "ns": [1, 2]}
    with pytest.raises(TypeError, match="canonical"):
        canonical(torch.zeros(2))


def _state(run, size, pairs):
    return run.proxy(size, pairs).model.state_dict()


def test_two_proxies_are_bit_identical_in_either_order_and_from_a_warm_cache(tmp_path):
    """Training proxy A then B, B then A, or B alone after a warm cache of A, gives the same
    bits for both: a model depends on its seed and recipe only, not on what ran before."""
    small, large = (MICRO.proxy_sizes[0], 100), (MICRO.proxy_sizes[1], 200)
    first = Run(MICRO, tmp_path / "a_then_b", progress=False)
    a1, b1 = _state(first, *small), _state(first, *large)
    second = Run(MICRO, tmp_path / "b_then_a", progress=False)
    b2, a2 = _state(second, *large), _state(second, *small)
    warm = Run(MICRO, tmp_path / "a_then_b", progress=False)  # a new process, same folder
    b3 = _state(warm, *large)
    for x, y, z in ((a1, a2, a1), (b1, b2, b3)):
        assert all(torch.equal(x[k], y[k]) and torch.equal(x[k], z[k]) for k in x)


def test_seeds_share_a_folder_and_never_each_others_models(tmp_path):
    """Two seeds in one folder keep their files apart and train different models; each seed
    gives the same bits again."""
    runs = seed_runs(MICRO, tmp_path, seeds=[0, 1], progress=False)
    size = MICRO.proxy_sizes[0]
    states = [_state(run, size, 100) for run in runs]
    assert not all(torch.equal(states[0][k], states[1][k]) for k in states[0])
    assert {p.name for p in (tmp_path / "cache").iterdir()} == {"seed0", "seed1"}
    again = _state(Run(MICRO, tmp_path, seed=1, progress=False), size, 100)
    assert all(torch.equal(states[1][k], again[k]) for k in again)
    write_config(runs[1:])
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["seeds"] == [1] and config["cached_seeds"] == [0, 1]
    assert config["preset"] == "micro"


def test_a_sibling_run_shares_the_judges_gold_units(tmp_path):
    """`Run.with_policy` keeps the gold RM's weights and scale and moves only its shift."""
    run = Run(MICRO, tmp_path, progress=False)
    sibling = run.with_policy(PolicyConfig(1, 32, 2))
    gold, sibling_gold = run.gold().model, sibling.gold().model
    assert torch.equal(gold.head.weight, sibling_gold.head.weight)
    assert gold.scale == sibling_gold.scale and run.initial_gold() == 0.0
    assert abs(sibling_gold.score(sibling.initial()).mean().item()) < 1e-5
    assert sibling.policy().num_parameters() > run.policy().num_parameters()


def test_the_policy_is_a_fresh_copy_for_every_caller(tmp_path):
    """Changing the policy one caller got (as PPO does) leaves the next caller's untouched."""
    run = Run(MICRO, tmp_path, progress=False)
    first = run.policy()
    first.transformer.wte.weight.data.zero_()
    assert run.policy().transformer.wte.weight.abs().sum() > 0


def test_pool_gold_is_the_gold_rm_s_scores_of_the_pool(tmp_path):
    """`Run.pool_gold` is the gold RM's score of every pool sample, (prompts, N)."""
    run = Run(MICRO, tmp_path, progress=False)
    pool = run.pool()  # (prompts, N, seq_len)
    assert torch.equal(run.pool_gold(), run.gold().model.score(pool))
    assert run.pool_gold().shape == pool.shape[:2]


def test_log_spaced_ns_cover_one_to_n():
    """log_spaced_ns starts at 1, ends at N and strictly increases."""
    ns = log_spaced_ns(4096)
    assert ns[0] == 1 and ns[-1] == 4096 and all(a < b for a, b in zip(ns, ns[1:], strict=False))


def test_unknown_preset_is_an_error_naming_it():
    """An unknown preset name raises a ValueError that names `preset`."""
    with pytest.raises(ValueError, match="preset"):
        get_preset("huge")


def test_presets_default_seeds():
    """The test preset runs one seed by default, the demo and the paper sweep several."""
    assert get_preset("test").default_seeds == [0]
    assert len(get_preset("tiny").default_seeds) >= 3
    assert len(get_preset("paper").default_seeds) >= 3


@pytest.mark.parametrize("make, name", [
    (lambda: RMConfig(n_layer=-1), "n_layer"),
    (lambda: RMConfig(n_embd=30, n_head=4), "n_embd"),
    (lambda: PolicyConfig(n_head=0), "n_head"),
    (lambda: BTConfig(epochs=0), "epochs"),
    (lambda: SFTConfig(lr=-1e-3), "lr"),
    (lambda: replace(MICRO, proxy_data=[100, -200]), "proxy_data"),
    (lambda: replace(MICRO, proxy_data=[200, 100]), "proxy_data"),
    (lambda: replace(MICRO, proxy_sizes=MICRO.proxy_sizes[::-1]), "proxy_sizes"),
    (lambda: replace(MICRO, bon_pool=0), "bon_pool"),
    (lambda: replace(MICRO, test_pairs=0), "test_pairs"),
    (lambda: replace(MICRO, seeds=0), "seeds"),
    (lambda: replace(MICRO, label_noise=0.5), "label_noise"),
    (lambda: replace(MICRO, kl_coefs=(0.1, 0.2)), "kl_coefs"),
    (lambda: seed_runs(MICRO, "unused", seeds=[0, 0]), "seeds"),
    (lambda: seed_runs(MICRO, "unused", seeds=[]), "seeds"),
    (lambda: Run(MICRO, "unused", seed=-1), "seed"),
])
def test_bad_settings_are_errors_naming_the_field(make, name):
    """A config with a non-positive size, unordered sizes or data, or a bad seed raises a
    ValueError that names the field."""
    with pytest.raises(ValueError, match=name):
        make()


def test_shipped_presets_are_valid():
    """Every shipped preset passes its own checks (re-running __post_init__ raises nothing)."""
    for preset in PRESETS.values():
        replace(preset)


@pytest.mark.parametrize("device", ["tpu", "cuda:99" if torch.cuda.is_available() else "cuda"])
def test_missing_device_is_an_error_naming_it(device):
    """A device that is not there raises a ValueError that names `device`."""
    with pytest.raises(ValueError, match="device"):
        check_device(device)


def test_the_proxy_data_bound_is_an_error_naming_pairs(tmp_path):
    """A proxy on more comparisons than the preset's most is a ValueError naming `pairs`."""
    with pytest.raises(ValueError, match="pairs"):
        Run(MICRO, tmp_path, progress=False).proxy(MICRO.proxy_sizes[0], 201)


def _same(a, b) -> bool:
    """Bit-for-bit equality of nested dicts, lists and tensors as torch.load returns them."""
    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and a.dtype == b.dtype and torch.equal(a, b)
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def test_cells_trained_in_parallel_processes_match_a_sequential_run(tmp_path):
    """Training two seeds' artefacts side by side in worker processes (seeds and cells at
    once) leaves the cache with the same files, bit for bit, as training them one after the
    other on one thread; the workers report every artefact they computed."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        sequential = seed_runs(MICRO, tmp_path / "sequential", seeds=[0, 1], progress=False)
        prepare(sequential, "bon")
    finally:
        torch.set_num_threads(threads)
    parallel = seed_runs(MICRO, tmp_path / "parallel", seeds=[0, 1], progress=False)
    prepare(parallel, "bon", jobs=2)
    assert sorted(entry[:2] for entry in parallel[0].cache.computed) == sorted(
        entry[:2] for entry in sequential[0].cache.computed)
    files = sorted(p.relative_to(tmp_path / "sequential")
                   for p in (tmp_path / "sequential").rglob("*.pt"))
    assert files == sorted(p.relative_to(tmp_path / "parallel")
                           for p in (tmp_path / "parallel").rglob("*.pt"))
    for name in files:
        a, b = (torch.load(tmp_path / kind / name, weights_only=True)
                for kind in ("sequential", "parallel"))
        assert _same(a, b), name


def test_the_scheduler_counts_every_artefact_downstream_of_each():
    """What a free worker ranks ready artefacts by: each node's dependents, direct or through
    others (a policy precedes its gold RM, which precedes every cell)."""
    policy, gold, proxy, bon, pool = (0, "policy"), (0, "gold"), (0, "proxy"), (0, "bon"), (
        0, "pool")
    todo = {policy: set(), gold: {policy}, proxy: {gold}, pool: {policy}, bon: {proxy, pool}}
    assert _dependents(todo) == {policy: {gold, proxy, pool, bon}, gold: {proxy, bon},
                                 proxy: {bon}, pool: {bon}, bon: set()}


@pytest.fixture(scope="module")
def prepared_micro(tmp_path_factory):
    """A micro preset with every optional study (policy size, ensembles) prepared, then
    reproduced in a fresh process's view of the same folder: (folder, runs, printed, trained)."""
    folder = tmp_path_factory.mktemp("prepared") / "with"
    preset = replace(MICRO, second_policy=PolicyConfig(1, 32, 2),
                     ensembles=EnsembleConfig(members=2, label_noise=(0.0,)))
    runs = seed_runs(preset, folder, seeds=[0], progress=False)
    prepare(runs, "reproduce")
    fresh = seed_runs(preset, folder, seeds=[0], progress=False)
    return folder, fresh, reproduce(fresh), len(runs[0].cache.computed)


def test_a_prepared_command_only_loads(prepared_micro):
    """After `prepare`, the command computes nothing: `needs` lists every artefact its
    studies read (the policy-size study's larger policy and the ensembles included)."""
    _, runs, _, trained = prepared_micro
    assert trained > 0 and runs[0].cache.computed == []
    assert {a.key for a in needs(runs[0], "findings")} < {a.key for a in needs(runs[0],
                                                                             "reproduce")}


def test_every_proxy_is_tested_on_the_same_held_out_comparisons(prepared_micro):
    """rm.csv gives every proxy a test loss and accuracy on its seed's `test_pairs` test
    comparisons, drawn apart from the training comparisons, and gives the gold RM none."""
    folder, runs, _, _ = prepared_micro
    run = runs[0]
    chosen, rejected = run.test_comparisons()
    assert chosen.shape == (run.preset.test_pairs, run.comparisons().chosen.shape[1])
    assert not torch.equal(chosen[:20], run.comparisons().chosen[:20])
    with open(folder / "rm.csv") as f:
        rows = list(csv.DictReader(f))
    assert [r["test_loss"] for r in rows if r["rm"] == "gold"] == [""]
    proxies = [r for r in rows if r["rm"] == "proxy"]
    assert len(proxies) == len(run.proxies())
    size, pairs = run.proxies()[-1]
    expected = pair_loss_and_accuracy(run.proxy(size, pairs).model, chosen, rejected)
    assert float(proxies[-1]["test_loss"]) == pytest.approx(expected["loss"])
    assert float(proxies[-1]["test_acc"]) == pytest.approx(expected["accuracy"])


def test_the_policy_size_study_judges_both_policies_by_one_gold(prepared_micro, tmp_path):
    """The policy-size study runs best-of-n and RL against the same proxy sizes from both
    policies, each starting at zero gain (the gold RM is re-centred on each), and a preset
    without a second policy skips it."""
    folder, _, printed, _ = prepared_micro
    with open(folder / "policy_size.csv") as f:
        rows = list(csv.DictReader(f))
    policies = sorted({int(r["policy_params"]) for r in rows})
    assert len(policies) == 2 and "policy size" in printed
    sizes = {r["rm_params"] for r in rows}
    for policy in policies:
        mine = [r for r in rows if int(r["policy_params"]) == policy]
        assert {(r["method"], r["rm_params"]) for r in mine} == {
            (m, s) for m in ("bon", "rl") for s in sizes}
        # n = 1 is the pool's mean gold: 0 up to the sampling error of the centring, which
        # was measured on calibration_samples (64) samples in gold units of std about 1
        error = 4 / MICRO.calibration_samples ** 0.5
        assert all(abs(float(r["gold"])) < error for r in mine if r["n"] == "1")
    starts = {int(r["policy_params"]): float(r["gold_init"]) for r in rows}
    assert starts[policies[0]] == 0.0  # the preset's own policy: the gold was calibrated on it
    (tmp_path / "without").mkdir()
    (tmp_path / "without" / "cache").symlink_to(folder / "cache")
    printed = reproduce(seed_runs(MICRO, tmp_path / "without", seeds=[0], progress=False))
    assert (tmp_path / "without" / "kl_penalty.csv").exists() and "policy size" not in printed
    assert not (tmp_path / "without" / "policy_size.csv").exists()


def test_zero_jobs_is_an_error_naming_jobs(tmp_path, capsys):
    """`--jobs 0` is a usage error that names `jobs` (not a silent fall back to the default)."""
    with pytest.raises(SystemExit) as exit_info:
        main(["bon", "--preset", "test", "--out", str(tmp_path), "--jobs", "0"])
    assert exit_info.value.code == 2 and "jobs" in capsys.readouterr().err


def test_bon_without_the_full_grid_sweeps_data_only_at_the_extreme_sizes(tmp_path):
    """With bon_full_grid False, best-of-n runs every size on the most data and every number
    of comparisons only for the smallest and the largest size; RM training keeps the grid, and
    `needs` lists every proxy of it (so a prepared command trains nothing more)."""
    sizes = [RMConfig(1, 8, 2), RMConfig(1, 12, 2), RMConfig(1, 16, 2)]
    preset = replace(MICRO, proxy_sizes=sizes, proxy_data=[50, 100, 200], bon_full_grid=False)
    run = Run(preset, tmp_path, progress=False)
    assert len(run.proxies()) == 9
    assert run.bon_proxies() == [(s, n) for s in sizes for n in (50, 100, 200)
                                 if n == 200 or s != sizes[1]]
    assert Run(MICRO, tmp_path, progress=False).bon_proxies() == Run(
        MICRO, tmp_path, progress=False).proxies()
    needed = {a.key for a in needs(run, "bon")}  # rm.csv tests every proxy of the grid
    assert all(run.proxy_test_artefact(s, n).key in needed for s, n in run.proxies())


def test_reproduce_without_follow_ups_skips_ensembles_and_direct_alignment(prepared_micro,
                                                                          tmp_path):
    """A preset with follow_ups False reproduces the paper's studies only: `needs` lists no
    DPO or ensemble artefact and no dpo.csv or ensembles.csv is written."""
    folder, runs, _, _ = prepared_micro
    preset = replace(runs[0].preset, follow_ups=False)
    (tmp_path / "cache").symlink_to(folder / "cache")
    paper_only = seed_runs(preset, tmp_path, seeds=[0], progress=False)
    names = {a.name for a in needs(paper_only[0], "reproduce")}
    assert not any(n.startswith(("dpo", "ensemble")) for n in names)
    printed = reproduce(paper_only)
    assert paper_only[0].cache.computed == [] and "the laws" in printed
    assert not (tmp_path / "dpo.csv").exists() and not (tmp_path / "ensembles.csv").exists()
