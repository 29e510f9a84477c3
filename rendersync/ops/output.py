"""User-facing output of the operations commands: an aligned plain table, or JSON."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

TABLE = "table"
JSON = "json"
FORMATS = (TABLE, JSON)
#: Widest cell of a clipped table column (free text); JSON output is never clipped.
MAX_CELL = 60
#: Fields of free text, clipped in tables: errors and event details.
CLIPPED = frozenset({"last_error", "lastError", "detail"})


def _cell(value: Any, *, clip: bool) -> str:
    text = "" if value is None else str(value).replace("\n", " ")
    return text if not clip or len(text) <= MAX_CELL else text[: MAX_CELL - 3] + "..."


def table(rows: Sequence[Mapping[str, Any]], columns: Sequence[tuple[str, str]]) -> str:
    """``rows`` as aligned columns; ``columns`` maps each header to the row's field."""
    header = [title for title, _ in columns]
    body = [[_cell(row.get(f), clip=f in CLIPPED) for _, f in columns] for row in rows]
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) for line in body]
    head = "  ".join(c.ljust(w) for c, w in zip(header, widths, strict=True))
    return "\n".join(line.rstrip() for line in [head, *lines])


def as_json(data: Any) -> str:
    return json.dumps(data, indent=2, sort_keys=True, default=str)


def emit(
    data: Any,
    *,
    output: str,
    rows: Sequence[Mapping[str, Any]] | None = None,
    columns: Sequence[tuple[str, str]] = (),
    empty: str = "",
) -> None:
    """Print ``data`` as JSON, or ``rows`` (default: ``data``) as a table."""
    if output == JSON:
        print(as_json(data))
        return
    shown = data if rows is None else rows
    if not shown and empty:
        print(empty)
    elif shown:
        print(table(shown, columns))
