"""The on-disk cache: every trained model, sample pool and PPO run is an `Artefact`.

An artefact is one call of a module-level function (`runs/compute.py`) with everything it
depends on spelled out once, by name: its `inputs` (other artefacts, whose values the function
receives as keyword arguments) and its `settings` (configs and numbers, passed the same way).

**Identity.** An artefact's key is its name and a hash of one canonical form of what it reads:
the sorted JSON of its settings' dataclass fields (`canonical`), its inputs' keys and
`CACHE_VERSION`. A setting that changes what an artefact computes therefore changes its key and
every key downstream of it; a setting it does not read is not passed to it and leaves its key
alone. The rule for adding a config field: just add it. Every key that reads the config
changes, so an old cache folder is retrained once, and because an artefact's randomness does
not come from its key (below), the retrained values are the same as before if the new field's
default keeps the old behaviour.

**Randomness.** Each computation draws everything random, the global RNG that initialises
models included, from a generator seeded by its seed and its *name* (its role and its place in
the grid, e.g. ``proxy_L1_d16_n1000``), inside a forked RNG. So the same seed gives the same
bits whatever was computed, cached or loaded before; a change in how keys are spelled never
redraws a number; and two recipes of one artefact (another learning rate, say) draw the same
random numbers, so that what differs between them is the recipe (common random numbers).

`Cache.get(artefact, seed)` loads the artefact's file from ``DIR/seed{S}/`` or computes it,
saves it with an atomic rename (an interrupted sweep loses at most the artefact it was
computing) and returns it. Every computation runs on one thread (the thread count changes float
results), and the caller's thread count is restored afterwards.
"""

import dataclasses
import hashlib
import inspect
import json
import os
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import torch

from minirmo.world import World

# Part of every key: bump it when a change to the code changes what an artefact holds, so that
# an old cache folder is never silently reused. (It does not seed anything: bumping it
# retrains, with the same random draws.)
CACHE_VERSION = 4


def canonical(value):
    """`value` as plain JSON data: a dataclass as {field: value} (with its class's name), a
    tuple or list as a list, a `World` as its config (its device is not what it computes)."""
    if isinstance(value, World):
        return canonical(value.config)
    if dataclasses.is_dataclass(value):
        return {"class": type(value).__name__} | {
            f.name: canonical(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple | list):
        return [canonical(v) for v in value]
    if isinstance(value, dict):
        return {str(k): canonical(v) for k, v in value.items()}
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise TypeError(f"settings: {type(value).__name__} has no canonical form: {value!r}")


def _stored(value):
    return value


@dataclass(frozen=True, eq=False)
class Artefact:
    """`compute(**input values, **settings)` -> a value torch.save can store; `load` turns the
    stored value into what users get (e.g. a state dict into a model). `compute` also gets
    `generator=` (the artefact's random generator) and `progress=` (show a bar) if it names
    them among its parameters."""

    name: str
    compute: Callable
    inputs: dict = field(default_factory=dict)  # argument name -> Artefact, or tuple of them
    settings: dict = field(default_factory=dict)  # argument name -> config or number
    load: Callable = field(default=_stored)
    # whose randomness it draws: its own name by default (see "Randomness" above)
    rng_name: str | None = None

    def input_artefacts(self) -> list["Artefact"]:
        """Every artefact this one reads, in argument order."""
        return [a for value in self.inputs.values()
                for a in (value if isinstance(value, tuple) else (value,))]

    @cached_property
    def key(self) -> str:
        inputs = {name: [a.key for a in value] if isinstance(value, tuple) else value.key
                  for name, value in self.inputs.items()}
        recipe = json.dumps([CACHE_VERSION, self.name, canonical(self.settings), inputs],
                            sort_keys=True)
        return f"{self.name}-{hashlib.sha256(recipe.encode()).hexdigest()[:12]}"


def artefact_seed(seed: int, name: str) -> int:
    """The seed of everything random in artefact `name` at run seed `seed`."""
    return zlib.crc32(f"{seed}/{name}".encode())


class Cache:
    """Artefacts of any seed, stored under `folder`; stored values are kept in memory once
    used, and `load` runs on every `get`, so each caller gets a model of its own to change."""

    def __init__(self, folder: str | Path, device: torch.device, progress: bool = True):
        self.folder, self.device, self.progress = Path(folder), device, progress
        self._memo = {}
        self.computed = []  # (seed, artefact key, seconds) of every artefact computed here
        self._devices = [device] if device.type == "cuda" else []  # whose RNG to fork

    def path(self, artefact: Artefact, seed: int) -> Path:
        return self.folder / f"seed{seed}" / f"{artefact.key}.pt"

    def seeds(self) -> list[int]:
        """The seeds with at least one artefact in the folder."""
        return sorted(int(p.name[4:]) for p in self.folder.glob("seed*")
                      if p.name[4:].isdigit() and any(p.iterdir()))

    def get(self, artefact: Artefact, seed: int):
        """The artefact's value at `seed`: from memory, from disk, or computed here (its inputs
        first) and saved. This is where every model of minirmo is trained."""
        memo_key, path = (seed, artefact.key), self.path(artefact, seed)
        if memo_key not in self._memo and path.exists():
            self._memo[memo_key] = torch.load(path, map_location=self.device, weights_only=True)
        elif memo_key not in self._memo:
            arguments = {name: tuple(self.get(a, seed) for a in value)
                         if isinstance(value, tuple) else self.get(value, seed)
                         for name, value in artefact.inputs.items()} | artefact.settings
            wanted = inspect.signature(artefact.compute).parameters
            rng_seed = artefact_seed(seed, artefact.rng_name or artefact.name)
            if "progress" in wanted:
                arguments["progress"] = self.progress
            start, threads = time.perf_counter(), torch.get_num_threads()
            # One thread, whoever asks (the command, a tutorial, a notebook): a different thread
            # count changes the float results of a long PPO run, and the key does not know it.
            torch.set_num_threads(1)
            try:
                with torch.random.fork_rng(devices=self._devices):
                    torch.manual_seed(rng_seed)  # model initialisation
                    if "generator" in wanted:
                        arguments["generator"] = torch.Generator().manual_seed(rng_seed)
                    value = artefact.compute(**arguments)
            finally:
                torch.set_num_threads(threads)
            self.computed.append((seed, artefact.key, time.perf_counter() - start))
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            torch.save(value, tmp)
            os.replace(tmp, path)
            self._memo[memo_key] = value
        with torch.random.fork_rng(devices=self._devices):  # building a model draws weights
            return artefact.load(self._memo[memo_key])
