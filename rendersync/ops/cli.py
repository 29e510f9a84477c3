"""The operations subcommands' arguments (filled in by the operations CLI)."""

from __future__ import annotations

from typing import Any


def add_parsers(sub: Any) -> None:
    """Register ``syncs``, ``resync`` and ``history``."""
