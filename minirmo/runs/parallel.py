"""Train a sweep's artefacts in worker processes, each as soon as its inputs are on disk.

Once a seed's gold RM and comparisons exist, the cells of a sweep (each proxy, each best-of-n
curve, each PPO run) are independent of one another. `train_in_parallel` follows a command's
*leaf* artefacts (the ones its studies read) down through their inputs to the SFT policy,
drops what is already cached, and hands every other artefact to a pool of worker processes as
soon as all of its inputs are on disk: seeds and cells fill the cores together, and a single
seed uses them too. A free worker takes the ready artefact that most others wait on (a seed's
policy, then its gold RM and comparisons, before any cell), so that no seed's chain of
prerequisites queues behind another seed's cells while a core idles at the end.

The values are those of a sequential run, bit for bit: an artefact's randomness is seeded by
its seed and its name alone (cache.py), and every worker runs on one thread, as the `minirmo`
command does. A worker receives only (seed, key); it rebuilds the same graph from the same
preset and `leaves` function and looks the artefact up, so nothing unpicklable crosses a
process boundary. (A breakpoint in a worker never fires: to debug, run with ``--jobs 1``.)
"""

import multiprocessing
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

import torch
from tqdm.auto import tqdm

from minirmo.runs.cache import Artefact
from minirmo.runs.presets import Preset
from minirmo.runs.run import Run
from minirmo.runs.studies import seed_runs

Node = tuple[int, str]  # (seed, artefact key)


def artefact_graph(runs: list[Run], leaves: Callable) -> dict[Node, tuple[Run, Artefact]]:
    """Every artefact the runs' `leaves(run)` need, inputs included, by (seed, key); in an
    order where each artefact comes after its inputs (`reproduce.prepare` computes them so)."""
    nodes = {}

    def visit(run: Run, artefact: Artefact) -> None:
        node = (run.seed, artefact.key)
        if node not in nodes:
            for inp in artefact.input_artefacts():
                visit(run, inp)
            nodes[node] = (run, artefact)

    for run in runs:
        for leaf in leaves(run):
            visit(run, leaf)
    return nodes


_worker_graphs = {}  # in a worker process: the graph it rebuilt, by what it was built from


def _train(preset: Preset, out: str, device: str, seeds: tuple, leaves: Callable,
           node: Node) -> list:
    """In a worker: compute (and cache) one artefact whose inputs are on disk; returns what
    the worker's cache recorded of it (`Cache.computed` entries)."""
    torch.set_num_threads(1)
    recipe = (repr(preset), out, device, seeds, repr(leaves))
    if recipe not in _worker_graphs:
        runs = seed_runs(preset, out, device, list(seeds), progress=False)
        _worker_graphs[recipe] = artefact_graph(runs, leaves)
    run, artefact = _worker_graphs[recipe][node]
    before = len(run.cache.computed)
    run.get(artefact)
    return run.cache.computed[before:]


def train_in_parallel(runs: list[Run], leaves: Callable, jobs: int = 2,
                      on_error: Callable | None = None) -> None:
    """Compute every artefact `leaves(run)` needs for each run, `jobs` worker processes at a
    time, each artefact once all its inputs are cached. `leaves` must be picklable (a
    module-level function, or a functools.partial of one). `on_error(run, artefact)` gives a
    context manager to wrap a failure in (e.g. one that names the artefact). What the workers
    computed, and in how many seconds, is added to the runs' `Cache.computed`."""
    graph = artefact_graph(runs, leaves)
    cache = runs[0].cache
    todo = {node: {(node[0], inp.key) for inp in artefact.input_artefacts()}
            for node, (_, artefact) in graph.items()
            if not cache.path(artefact, node[0]).exists()}
    for inputs in todo.values():  # inputs already on disk are done
        inputs.intersection_update(todo)
    waiting_on = _dependents(todo)
    first = runs[0]
    args = (first.preset, str(first.out), str(first.device), tuple(r.seed for r in runs), leaves)
    context = multiprocessing.get_context("spawn")  # a fresh interpreter: no inherited threads
    bar = tqdm(total=len(todo), desc=f"artefacts, {jobs} at a time", disable=not first.progress)
    with ProcessPoolExecutor(jobs, mp_context=context) as pool:
        running = {}
        while todo or running:
            ready = sorted((n for n, inputs in todo.items() if not inputs),
                           key=lambda n: -len(waiting_on[n]))  # stable: seed order on ties
            for node in ready[:jobs - len(running)]:
                del todo[node]
                running[pool.submit(_train, *args, node)] = node
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                node = running.pop(future)
                if on_error is None:
                    cache.computed += future.result()
                else:
                    with on_error(*graph[node]):
                        cache.computed += future.result()
                for inputs in todo.values():
                    inputs.discard(node)
                bar.update()
    bar.close()


def _dependents(todo: dict[Node, set]) -> dict[Node, set]:
    """{node: every node of `todo` that needs it, directly or through others}."""
    needed_by = {node: set() for node in todo}
    for node, inputs in todo.items():
        for inp in inputs:
            needed_by[inp].add(node)
    found = {}

    def visit(node: Node) -> set:
        if node not in found:
            found[node] = set()
            for user in needed_by[node]:
                found[node] |= {user} | visit(user)
        return found[node]

    for node in todo:
        visit(node)
    return found
