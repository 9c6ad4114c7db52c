"""`--set FIELD=VALUE`: change any setting of a preset from the command line.

A field is named by its dotted path into the preset (`Preset` and the config dataclasses it
holds): ``ppo.lr=3e-4``, ``ppo.steps=10``, ``proxy_train.epochs=2``, ``bon_pool=1024``,
``gold.rm.n_embd=48``. The value is parsed by the field's type:

    int, float, str        as written (``20_000`` and ``3e-4`` are fine)
    bool                   true / false
    a tuple or a list      comma-separated values, e.g. ``proxy_data=500,2000`` or
                           ``dpo_betas=0.1,1``; sizes (proxy_sizes) as LAYERSxWIDTH[xHEADS],
                           e.g. ``proxy_sizes=1x16x2,2x64``
    an optional field      ``none`` turns it off (e.g. ``second_policy=none``); a field below a
                           config that is off starts from that config's defaults

Every level is rebuilt with `dataclasses.replace`, so each config's own checks run on the new
value. `describe` prints every field a preset has, in the same syntax, so that what it prints
can be pasted after ``--set``.
"""

import dataclasses
import types
import typing

from minirmo.policy import GPT2Size

NONE = "none"
FIXED = ("name", "overrides")  # a preset's identity, not a setting
# fields that a study sets for each of its runs, or that follow another, which the user sets
PER_RUN = {"dpo.loss": "dpo_losses", "dpo.beta": "dpo_betas"} | {
    f"{algorithm}.{name}": f"ppo.{name}"  # RLOO and GRPO draw as many samples as PPO
    for algorithm in ("rloo", "grpo") for name in ("steps", "batch_size", "minibatch_size")}


def apply(preset, assignments: list[str]):
    """`preset` with each ``FIELD=VALUE`` of `assignments` applied in order; the assignments
    are recorded in the preset's `overrides`. A ValueError names the field of a bad one."""
    for assignment in assignments:
        path, sep, text = assignment.partition("=")
        if not sep or not path:
            raise ValueError(f"set: expected FIELD=VALUE, got {assignment!r}")
        if path in PER_RUN:
            raise ValueError(f"set {assignment}: {path} follows {PER_RUN[path]}; set that "
                             f"instead (e.g. {PER_RUN[path]}=...)")
        try:
            preset = _set(preset, path.split("."), text)
        except ValueError as err:
            raise ValueError(f"set {assignment}: {err}") from None
    return dataclasses.replace(preset, overrides=tuple(preset.overrides) + tuple(assignments))


def _set(config, names: list[str], text: str):
    """`config` (a dataclass) with the field at `names` set to `text` parsed by its type."""
    hints = typing.get_type_hints(type(config))
    settable = [f.name for f in dataclasses.fields(config) if f.name not in FIXED]
    name = names[0]
    if name not in settable:
        raise ValueError(f"unknown field {name!r} of {type(config).__name__}; valid fields "
                         f"here: {', '.join(settable)}")
    kind, current = hints[name], getattr(config, name)
    if len(names) == 1:
        value = _parse(text, kind, current)
    else:
        inner = current if current is not None else _without_none(kind)[1]()
        if not dataclasses.is_dataclass(inner):
            raise ValueError(f"{name!r} is a {type(inner).__name__}, it has no fields")
        value = _set(inner, names[1:], text)
    return dataclasses.replace(config, **{name: value})


def _parse(text: str, kind, current):
    """`text` as a value of the type `kind` (the field holds `current` now)."""
    optional, kind = _without_none(kind)
    if text.lower() == NONE:
        if not optional:
            raise ValueError("this field cannot be none")
        return None
    origin = typing.get_origin(kind) or kind
    if origin in (tuple, list):
        args = [a for a in typing.get_args(kind) if a is not Ellipsis]
        element = args[0] if args else type(current[0]) if current else str
        items = [_scalar(item.strip(), element) for item in text.split(",") if item.strip()]
        return origin(items)
    return _scalar(text, kind)


def _scalar(text: str, kind):
    if isinstance(kind, type) and issubclass(kind, GPT2Size):
        parts = text.lower().split("x")
        if not 2 <= len(parts) <= 3:
            raise ValueError(f"{text!r} is not a size LAYERSxWIDTH[xHEADS] (e.g. 2x64)")
        return kind(*(_scalar(part, int) for part in parts))
    if kind is bool:
        if text.lower() not in ("true", "false"):
            raise ValueError(f"{text!r} is not a bool (true or false)")
        return text.lower() == "true"
    if kind in (int, float, str):
        try:
            return kind(text)
        except ValueError:
            raise ValueError(f"{text!r} is not {'an' if kind is int else 'a'} "
                             f"{kind.__name__}") from None
    raise ValueError(f"cannot parse a value of type {kind} from the command line")


def _without_none(kind) -> tuple[bool, object]:
    """(whether `kind` admits None, `kind` without it)."""
    if typing.get_origin(kind) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(kind) if a is not type(None)]
        return len(args) < len(typing.get_args(kind)), args[0]
    return False, kind


def format_value(value) -> str:
    """A value as `--set` parses it back."""
    if isinstance(value, GPT2Size):
        return f"{value.n_layer}x{value.n_embd}x{value.n_head}"
    if isinstance(value, tuple | list):
        return ",".join(format_value(v) for v in value)
    if value is None:
        return NONE
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def describe(config, prefix: str = "") -> list[str]:
    """Every settable field of `config` below `prefix`, one ``path = value`` line each."""
    lines = []
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        if f.name in FIXED or f"{prefix}{f.name}" in PER_RUN:
            continue
        if dataclasses.is_dataclass(value):
            lines += describe(value, f"{prefix}{f.name}.")
        else:
            lines.append(f"{prefix}{f.name} = {format_value(value)}")
    return lines
