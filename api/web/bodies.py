"""Reading request bodies and preconditions: JSON decoding, content types, If-Match."""

from __future__ import annotations

import json
import re
from typing import Any

from fastapi import Request

from api.web.httperrors import HttpError

JSON = "application/json"
MERGE_PATCH = "application/merge-patch+json"
#: ``*`` or an ETag as this API returns it (``"<seq>"``, weak or not; bare digits too).
IF_MATCH = re.compile(r'^(\*|(W/)?"[0-9]+"|[0-9]+)$')


async def read_json(request: Request, *, allowed: tuple[str, ...] = (JSON,)) -> Any:
    """The decoded body; 415 for another content type, 400 for malformed JSON."""
    content_type = request.headers.get("content-type", JSON).split(";")[0].strip().lower()
    if content_type not in allowed:
        raise HttpError(415, f"content type {content_type!r} is not supported; use {allowed[0]}")
    raw = await request.body()
    if not raw:
        raise HttpError(400, "request body is empty")
    try:
        decoded = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise HttpError(400, f"request body is not valid JSON: {err}") from None
    try:
        # JSON may escape a lone surrogate, which no UTF-8 text (and no database) can hold.
        json.dumps(decoded, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        raise HttpError(400, "request body holds a string that is not valid Unicode") from None
    return decoded


def if_match_version(request: Request) -> int | None:
    """The version an ``If-Match`` header requires (ETag ``"<seq>"``), if any."""
    value = request.headers.get("if-match")
    if value is None or value == "*":
        return None
    if not IF_MATCH.fullmatch(value):
        raise HttpError(400, f"If-Match must be an ETag as returned by this API, got {value!r}")
    return int(value.removeprefix("W/").strip('"'))


def actor_of(request: Request) -> str:
    """Who made the change: the principal the auth guard authenticated (never a header the
    client chose; a trusted proxy's X-Remote-User arrives here through that guard)."""
    principal = getattr(request.state, "principal", None)
    return str(principal.name)[:253] if principal is not None else "system:anonymous"
