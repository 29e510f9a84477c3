"""Request bodies: identity checks, JSON/YAML decoding, list continue tokens."""

from __future__ import annotations

import base64
import json
from typing import Any

import yaml

from .resourcetypes import ResourceType
from .statuses import bad_request


def check_body(
    rt: ResourceType, body: Any, namespace: str, name: str | None = None, *, apply: bool = False
) -> None:
    if not isinstance(body, dict):
        raise bad_request("the request body must be an object")
    api_version, kind = body.get("apiVersion"), body.get("kind")
    if (apply or api_version) and api_version != rt.api_version:
        raise bad_request(
            f"the API version in the data ({api_version}) does not match the expected API "
            f"version ({rt.api_version})"
        )
    if (apply or kind) and kind != rt.kind:
        raise bad_request(
            f"the kind in the data ({kind}) does not match the expected kind ({rt.kind})"
        )
    meta = body.get("metadata") or {}
    if rt.namespaced and meta.get("namespace") not in (None, "", namespace):
        raise bad_request(
            "the namespace of the provided object does not match the namespace sent on the request"
        )
    if (name is not None and meta.get("name") not in (None, "", name)) or (
        apply and not meta.get("name")
    ):
        raise bad_request("the name of the object does not match the name on the URL")


def parse(raw: bytes, *, yaml_ok: bool) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        if not yaml_ok:
            raise bad_request("the request body is not valid JSON") from None
    try:
        return yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        raise bad_request(f"error decoding YAML: {exc}") from exc


def sort_key(obj: dict[str, Any]) -> list[str]:
    return [obj["metadata"].get("namespace", ""), obj["metadata"]["name"]]


def encode_continue(key: list[str]) -> str:
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode()


def decode_continue(token: str) -> list[str]:
    try:
        key = json.loads(base64.urlsafe_b64decode(token.encode()))
    except ValueError as exc:
        raise bad_request("continue key is not valid") from exc
    if not (isinstance(key, list) and len(key) == 2):
        raise bad_request("continue key is not valid")
    return [str(k) for k in key]
