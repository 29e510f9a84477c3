"""The one classification of Kubernetes failures: transient (retry) or permanent (fail fast).

Transient: timeouts, connection errors, 5xx, 429 Too Many Requests, 409 Conflict (a stale
resourceVersion or a lost create race: re-read and try again), 410 Gone, 408. Permanent: 400,
401, 403, 404 (at the resource-type level, e.g. the CRD is not installed; operations that
expect an object to be missing handle their own 404 before classifying), 405, 415, 422 Invalid
and bad client configuration. Anything unrecognised is transient, so an unexpected hiccup
pauses progress instead of failing a sync.

The client's exception types are imported where they are checked: a failure of the client
can only exist once the client is loaded, and a process that never talks to a cluster (the
API, until a preview asks one) need not load it to catch a ``KubernetesError``.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any, Literal

import aiohttp

Classification = Literal["transient", "permanent"]

_TRANSIENT_STATUSES = frozenset({0, 408, 409, 410, 429})


class KubernetesError(Exception):
    """A classified failure; ``status`` is the HTTP status when there was a response."""

    def __init__(self, message: str, *, status: int | None = None, reason: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason


class TransientKubernetesError(KubernetesError):
    """Worth retrying with backoff."""


class PermanentKubernetesError(KubernetesError):
    """Retrying cannot help; surface it."""


def kubernetes_failure_kind(exc: BaseException) -> Classification:
    """Whether a Kubernetes failure is worth retrying (see the module docstring)."""
    from kubernetes_asyncio.client.exceptions import ApiException
    from kubernetes_asyncio.config.config_exception import ConfigException

    if isinstance(exc, TransientKubernetesError):
        return "transient"
    if isinstance(exc, PermanentKubernetesError):
        return "permanent"
    if isinstance(exc, ApiException):
        status = int(exc.status or 0)
        if status >= 500 or status in _TRANSIENT_STATUSES:
            return "transient"
        return "permanent"
    if isinstance(exc, asyncio.TimeoutError | aiohttp.ClientError | ConnectionError):
        return "transient"
    if isinstance(exc, ConfigException | ValueError | TypeError):
        return "permanent"
    return "transient"


def status_of(exc: BaseException) -> int | None:
    from kubernetes_asyncio.client.exceptions import ApiException

    return int(exc.status) if isinstance(exc, ApiException) and exc.status else None


def api_message(exc: BaseException) -> str:
    """The ``message`` of a Status body, else a short text of the exception."""
    from kubernetes_asyncio.client.exceptions import ApiException

    body: Any = getattr(exc, "body", None)
    if body:
        try:
            decoded = json.loads(body)
        except (TypeError, ValueError):
            decoded = None
        if isinstance(decoded, dict) and decoded.get("message"):
            return str(decoded["message"])
    if isinstance(exc, ApiException):
        return f"{exc.status} {exc.reason}"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def wrap(exc: BaseException, context: str) -> KubernetesError:
    """Turn any failure into the matching classified error, keeping the server's message."""
    if isinstance(exc, KubernetesError):
        return exc
    cls = (
        TransientKubernetesError
        if kubernetes_failure_kind(exc) == "transient"
        else PermanentKubernetesError
    )
    reason = str(getattr(exc, "reason", "") or "")
    status = status_of(exc)
    prefix = f"{context}: {status} {reason}: " if status else f"{context}: "
    return cls(f"{prefix}{api_message(exc)}", status=status, reason=reason)
