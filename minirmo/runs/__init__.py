"""The experiment layer: what trains which model, with which settings, and where it is kept.

    presets.py    every setting of an experiment in one dataclass, and the shipped presets
    overrides.py  `--set FIELD=VALUE`: any setting of a preset changed from the command line
    run.py        one seed's artefact graph: each artefact's function, inputs and settings
    compute.py    what each artefact computes: the calls of the training loops
    cache.py      artefact identity (keys), randomness, and the on-disk cache
    parallel.py   a command's artefacts trained in worker processes
    studies.py    the studies over seeds, each returning plain rows

From the command to a training loop is four calls: `cli.main` -> `reproduce.prepare` ->
`Cache.get` -> a function of compute.py -> `train_ppo` (or `train_bradley_terry`,
`bon_estimate`, ...). **To debug**, run the command with `--jobs 1`: every model is then trained
in the calling process, one after the other, and a breakpoint in any loop fires (by default
each model trains in a worker process, where it does not).
"""
