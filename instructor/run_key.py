"""Run the code of an answer key and write what it printed back under each code block.

    PYTHONPATH=. MINIRMO_RUN_DIR=runs/tiny python instructor/run_key.py \
        instructor/answers/01_goodhart.md [--exercise 2] [--write]

A key is a Markdown file with one "## Exercise K: title" section per exercise. Each section's
```python blocks run in order in one namespace of their own (an exercise never depends on
another), on one CPU thread, from the project root. The ```python blocks of an optional
"## Setup" section run first in every exercise's namespace (shared definitions, printing
nothing that is kept). With --write, what each block printed
replaces the ```text block that follows it (one is added if there is none), so every number in
a key is the output of the code above it. Without --write the output is only printed.
"""

import argparse
import contextlib
import io
import re
import sys
import time
from pathlib import Path

SECTION = re.compile(r"^## Exercise (\d+)\b", re.M)
SETUP = re.compile(r"^## Setup\b(.*?)(?=^## |\Z)", re.M | re.S)
BLOCK = re.compile(r"```python\n(.*?)```\n(?:\n?```text\n.*?```\n)?", re.S)


def sections(text: str) -> list[tuple[int, int, int]]:
    """(exercise number, start, end) of each exercise section of a key's text."""
    starts = [(int(m[1]), m.start()) for m in SECTION.finditer(text)]
    ends = [s for _, s in starts[1:]] + [len(text)]
    return [(k, s, e) for (k, s), e in zip(starts, ends, strict=True)]


def run_section(body: str, number: int, setup: str = "") -> list[tuple[str, str]]:
    """(code, what it printed) of each python block of `body`, run in order in one namespace;
    the python blocks of `setup` run first, in the same namespace, their output discarded."""
    import torch

    torch.set_num_threads(1)
    namespace = {"__name__": f"key_exercise_{number}"}
    with contextlib.redirect_stdout(io.StringIO()):
        for block in BLOCK.finditer(setup):
            exec(compile(block[1], "<setup>", "exec"), namespace)  # noqa: S102
    outputs = []
    for block in BLOCK.finditer(body):
        code = block[1]
        buffer = io.StringIO()
        start = time.time()
        with contextlib.redirect_stdout(buffer):
            exec(compile(code, f"<exercise {number}>", "exec"), namespace)  # noqa: S102
        printed = buffer.getvalue()
        sys.stdout.write(printed)
        print(f"[exercise {number}: block ran in {time.time() - start:.1f} s]", file=sys.stderr)
        outputs.append((code, printed))
    return outputs


def with_outputs(body: str, outputs: list[tuple[str, str]]) -> str:
    """`body` with each python block followed by a text block of what it printed."""
    out, last = [], 0
    for block, (code, printed) in zip(BLOCK.finditer(body), outputs, strict=True):
        if block[1] != code:
            raise ValueError("the key's code changed while it ran: rerun it")
        out.append(body[last:block.start()])
        out.append(f"```python\n{code}```\n")
        if printed:
            out.append(f"\n```text\n{printed.rstrip()}\n```\n")
        last = block.end()
    out.append(body[last:])
    return "".join(out)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("key", type=Path)
    parser.add_argument("--exercise", type=int, action="append",
                        help="only this exercise (repeatable)")
    parser.add_argument("--write", action="store_true", help="write the outputs into the key")
    args = parser.parse_args(argv)
    text = args.key.read_text(encoding="utf-8")
    setup = SETUP.search(text)
    setup = setup[1] if setup else ""
    results = {}
    for number, start, end in sections(text):
        body = text[start:end]
        if (args.exercise is None or number in args.exercise) and "```python" in body:
            print(f"--- exercise {number}", file=sys.stderr)
            results[number] = run_section(body, number, setup)
    if not args.write:
        return
    text = args.key.read_text(encoding="utf-8")  # again: the prose may have been edited since
    pieces, last = [], 0
    for number, start, end in sections(text):
        pieces.append(text[last:start])
        body = text[start:end]
        pieces.append(with_outputs(body, results[number]) if number in results else body)
        last = end
    pieces.append(text[last:])
    args.key.write_text("".join(pieces), encoding="utf-8")


if __name__ == "__main__":
    main()
