"""What a subcommand runs, named without importing it.

Every ``rendersync`` subcommand runs one function of the parsed arguments and the Settings.
Its parser names that function by module and attribute (:class:`Deferred`), imported only
when the subcommand runs: building the parsers loads no client library, so ``rendersync
relay`` loads what the relay uses and nothing of the worker, the API or the operations
commands. Every name is checked by a test that resolves each subcommand's function.
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeAlias

if TYPE_CHECKING:
    from rendersync.settings import Settings

#: A subcommand's function: the parsed arguments and the Settings in, the exit status out.
Run: TypeAlias = Callable[[argparse.Namespace, "Settings"], int]


@dataclass(frozen=True)
class Deferred:
    """The run function ``attribute`` of ``module``, imported when first called."""

    module: str
    attribute: str

    def resolve(self) -> Run:
        found: Run = getattr(importlib.import_module(self.module), self.attribute)
        return found

    def __call__(self, args: argparse.Namespace, settings: Settings) -> int:
        return self.resolve()(args, settings)
