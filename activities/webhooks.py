"""Webhook delivery of sync notifications (the activities of ``DeliverNotification``).

The payload is versioned (``schemaVersion``) and documented in ``docs/operations.md``. Every
delivery of one notice carries the same ``Idempotency-Key`` (the notice id: one per state
change of a key), so a receiver can drop a repeat after an answer that was lost. With a
signing secret, ``X-Rendersync-Signature: sha256=<hex>`` is the HMAC-SHA256 of the exact body
bytes. The secret is given by reference (an environment variable or a file, read at each
delivery so it can be rotated), never inline in the settings.

A 2xx answer delivers; 408, 429 and 5xx, timeouts and connection errors are retried by the
child workflow's bounded policy; any other 4xx refuses the notice for good (not retried).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from temporalio.exceptions import ApplicationError

from vocabulary import API_VERSION
from workflows.contracts import NOTIFY_EVENTS, Delivery, Notice
from workflows.declarations import DELIVER_NOTIFICATION, NOTIFY_RECEIVERS, implements

SCHEMA_VERSION = 1
FORMAT_JSON = "json"
FORMAT_SLACK = "slack"
RETRIED_STATUSES = frozenset({408, 429})


@dataclass(frozen=True)
class Receiver:
    """One webhook receiver. ``secret_env`` / ``secret_file`` name where the signing secret
    is (at most one); neither: the body is not signed."""

    name: str
    url: str
    events: tuple[str, ...] = NOTIFY_EVENTS
    secret_env: str = ""
    secret_file: Path | None = None
    format: str = FORMAT_JSON
    timeout_s: float = 10.0

    def secret(self) -> bytes | None:
        if self.secret_env:
            value = os.environ.get(self.secret_env)
            if not value:
                raise ApplicationError(
                    f"receiver {self.name}: ${self.secret_env} is not set", non_retryable=True
                )
            return value.encode()
        if self.secret_file is not None:
            return self.secret_file.read_bytes().strip()
        return None


@dataclass(frozen=True)
class NotifyConfig:
    receivers: tuple[Receiver, ...] = field(default_factory=tuple)

    def subscribed(self, event: str) -> list[str]:
        return [r.name for r in self.receivers if event in r.events]

    def receiver(self, name: str) -> Receiver | None:
        return next((r for r in self.receivers if r.name == name), None)


def payload(notice: Notice) -> dict[str, Any]:
    """The versioned JSON body (``schemaVersion`` 1)."""
    return {
        "apiVersion": API_VERSION,
        "kind": "SyncNotification",
        "schemaVersion": SCHEMA_VERSION,
        "id": notice.id,
        "event": notice.event,
        "key": f"{notice.namespace}/{notice.name}",
        "namespace": notice.namespace,
        "name": notice.name,
        "version": notice.version,
        "phase": notice.phase,
        "attempts": notice.attempts,
        "error": notice.error,
        "workflowId": notice.workflow_id,
        "runId": notice.run_id,
        "time": notice.time,
    }


def slack_payload(notice: Notice) -> dict[str, Any]:
    """A Slack incoming-webhook body: ``text``, plus the versioned payload for machines."""
    text = f"rendersync: {notice.namespace}/{notice.name} v{notice.version} {notice.event}"
    if notice.error:
        text += f": {notice.error}"
    return {"text": text, "rendersync": payload(notice)}


def encode(receiver: Receiver, notice: Notice) -> tuple[bytes, dict[str, str]]:
    """The body bytes and headers of one delivery."""
    body = slack_payload(notice) if receiver.format == FORMAT_SLACK else payload(notice)
    raw = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
    headers = {
        "content-type": "application/json",
        "idempotency-key": notice.id,
        "x-rendersync-event": notice.event,
        "x-rendersync-schema-version": str(SCHEMA_VERSION),
    }
    secret = receiver.secret()
    if secret is not None:
        digest = hmac.new(secret, raw, hashlib.sha256).hexdigest()
        headers["x-rendersync-signature"] = f"sha256={digest}"
    return raw, headers


class NotifyActivities:
    """Built once per worker; ``config`` is read at each call (the worker's settings)."""

    def __init__(self, config: Callable[[], NotifyConfig]) -> None:
        self.config = config

    @implements(NOTIFY_RECEIVERS)
    async def receivers(self, notice: Notice) -> list[str]:
        """The receivers subscribed to ``notice.event``."""
        return self.config().subscribed(notice.event)

    @implements(DELIVER_NOTIFICATION)
    async def deliver(self, delivery: Delivery) -> int:
        """POST the notice to one receiver; its HTTP status when it took it."""
        receiver = self.config().receiver(delivery.receiver)
        if receiver is None:
            raise ApplicationError(f"no receiver {delivery.receiver!r}", non_retryable=True)
        raw, headers = encode(receiver, delivery.notice)
        async with httpx.AsyncClient(timeout=receiver.timeout_s) as client:
            answer = await client.post(receiver.url, content=raw, headers=headers)
        status = answer.status_code
        if 200 <= status < 300:
            return status
        message = f"receiver {receiver.name} answered {status}"
        if status < 500 and status not in RETRIED_STATUSES:
            raise ApplicationError(message, non_retryable=True)
        raise RuntimeError(message)  # retried by the delivery policy
