"""A small reader of Dockerfile instructions: enough to check what the image does.

The syntax itself is checked by hadolint; this only splits the file into stages of
``(instruction, arguments)`` with line continuations joined and comments dropped.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Stage:
    image: str
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def args_of(self, instruction: str) -> list[str]:
        return [args for name, args in self.instructions if name == instruction]


def instructions(text: str) -> list[tuple[str, str]]:
    """Every instruction in order, as (upper-case name, argument text)."""
    found: list[tuple[str, str]] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if pending and line.startswith("#"):
            continue  # comments inside a continued instruction are dropped, as Docker does
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        whole = (pending + line).strip()
        pending = ""
        name, _, args = whole.partition(" ")
        found.append((name.upper(), " ".join(args.split())))
    return found


def stages(path: Path) -> list[Stage]:
    """The build stages, each with the instructions after its FROM."""
    result: list[Stage] = []
    for name, args in instructions(path.read_text(encoding="utf-8")):
        if name == "FROM":
            words = args.split()
            alias = words[2] if len(words) >= 3 and words[1].upper() == "AS" else None
            result.append(Stage(words[0], alias))
        elif result:
            result[-1].instructions.append((name, args))
    return result


def exec_form(args: str) -> list[str]:
    """The words of a JSON (exec-form) ENTRYPOINT/CMD, or of its shell form."""
    if args.startswith("["):
        words: list[str] = json.loads(args)
        return words
    return shlex.split(args)
