"""The on-disk cache: every trained model, sample pool and PPO run is an `Artefact`.

An artefact is a computation with everything it depends on spelled out once: its `inputs`
(other artefacts, whose values `compute` receives as arguments) and its `settings` (configs).
Its key hashes its name, its settings and its inputs' keys, so a changed config anywhere
upstream gives every downstream artefact a new key and nothing stale is ever loaded.

`Cache.get(artefact, seed)` loads the artefact's file from ``DIR/seed{S}/`` or computes it,
saves it with an atomic rename (an interrupted sweep loses at most the artefact it was
computing) and returns it. Each computation draws all its randomness, the global RNG that
initialises models included, from a generator seeded by (seed, key) inside a forked RNG: the
same seed gives the same bits whatever was computed, cached or loaded before. Every
computation runs on one thread (the thread count changes float results), and the caller's
thread count is restored afterwards.
"""

import os
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import torch

# Part of every key: bump it when a change to the code changes what an artefact holds, so that
# an old cache folder is never silently reused. Bumping it also re-draws every artefact's
# randomness (the key seeds it): every seed becomes a new draw, and the seed-robustness checks
# must be run again.
CACHE_VERSION = 3


def _stored(value):
    return value


@dataclass(frozen=True, eq=False)
class Artefact:
    """`compute(generator, *values of inputs)` -> a value torch.save can store; `load` turns
    the stored value into what users get (e.g. a state dict into a model)."""

    name: str
    compute: Callable
    inputs: tuple = ()  # Artefacts
    settings: tuple = ()  # configs and numbers; their repr is hashed
    load: Callable = field(default=_stored)

    @cached_property
    def key(self) -> str:
        recipe = (CACHE_VERSION, self.name, self.settings, [a.key for a in self.inputs])
        return f"{self.name}-{zlib.crc32(repr(recipe).encode()):08x}"


class Cache:
    """Artefacts of any seed, stored under `folder`; stored values are kept in memory once
    used, and `load` runs on every `get`, so each caller gets a model of its own to change."""

    def __init__(self, folder: str | Path, device: torch.device):
        self.folder, self.device = Path(folder), device
        self._memo = {}
        self.computed = []  # (seed, artefact name, seconds) of every artefact computed here
        self._devices = [device] if device.type == "cuda" else []  # whose RNG to fork

    def path(self, artefact: Artefact, seed: int) -> Path:
        return self.folder / f"seed{seed}" / f"{artefact.key}.pt"

    def seeds(self) -> list[int]:
        """The seeds with at least one artefact in the folder."""
        return sorted(int(p.name[4:]) for p in self.folder.glob("seed*")
                      if p.name[4:].isdigit() and any(p.iterdir()))

    def get(self, artefact: Artefact, seed: int):
        memo_key = (seed, artefact.key)
        if memo_key not in self._memo:
            self._memo[memo_key] = self._stored(artefact, seed)
        with torch.random.fork_rng(devices=self._devices):  # building a model draws weights
            return artefact.load(self._memo[memo_key])

    def _stored(self, artefact: Artefact, seed: int):
        path = self.path(artefact, seed)
        if path.exists():
            return torch.load(path, map_location=self.device, weights_only=True)
        inputs = [self.get(a, seed) for a in artefact.inputs]
        rng_seed = zlib.crc32(f"{seed}/{artefact.key}".encode())
        start, threads = time.perf_counter(), torch.get_num_threads()
        # One thread, whoever asks (the command, a tutorial, a notebook): a different thread
        # count changes the float results of a long PPO run, and the key does not know it.
        torch.set_num_threads(1)
        try:
            with torch.random.fork_rng(devices=self._devices):
                torch.manual_seed(rng_seed)  # model initialisation
                value = artefact.compute(torch.Generator().manual_seed(rng_seed), *inputs)
        finally:
            torch.set_num_threads(threads)
        self.computed.append((seed, artefact.name, time.perf_counter() - start))
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        torch.save(value, tmp)
        os.replace(tmp, path)
        return value
