"""Kubernetes-shaped AppConfig JSON: parsing request bodies and rendering rows.

A body may carry ``apiVersion``, ``kind``, ``metadata`` and ``spec``; a ``status`` sent back
from a GET is ignored (it is read-only), every other field is rejected. Every violation is
reported at once, each with its field path.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from api.spec import DNS1123_SUBDOMAIN, FieldError, validate_spec
from k8s.manifests import render_appconfig
from persistence.tables import MAX_SEQ, AppConfigRow, Revision, as_utc
from persistence.writing import Content
from vocabulary import API_VERSION, KIND
from vocabulary.limits import MAX_ANNOTATIONS_BYTES, MAX_OBJECT_BYTES, json_bytes, string_map_bytes

_TOP_FIELDS = {"apiVersion", "kind", "metadata", "spec", "status"}
_METADATA_FIELDS = {"name", "namespace", "labels", "annotations", "resourceVersion"}
_METADATA_READ_ONLY = {"uid", "generation", "creationTimestamp", "managedFields"}
_LABEL_BODY = r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
#: A label or annotation key, ``[prefix/]name``: the name part at most 63 characters and the
#: prefix a DNS-1123 subdomain of at most 253 (a length the pattern leaves to the check).
QUALIFIED_KEY = re.compile(
    rf"^({DNS1123_SUBDOMAIN.pattern[1:-1]}/)?[A-Za-z0-9]([-A-Za-z0-9_.]{{0,61}}[A-Za-z0-9])?$"
)
QUALIFIED_PREFIX_MAX = 253
#: A label value: empty, or at most 63 characters of a label name.
LABEL_VALUE = re.compile(f"^({_LABEL_BODY})?$")
LABEL_VALUE_MAX = 63
NAME_MAX = 253
NAMESPACE_MAX = 63
#: A ``resourceVersion`` as clients send it: ASCII digits (``str.isdigit`` also admits
#: digits such as "²" that ``int`` refuses).
RESOURCE_VERSION = re.compile(r"^[0-9]+$")


@dataclass(frozen=True)
class ParsedBody:
    name: str | None
    namespace: str | None
    resource_version: str | None
    content: Content


def _check_qualified_key(key: str, path: str) -> list[FieldError]:
    prefix = key.rpartition("/")[0]
    if QUALIFIED_KEY.fullmatch(key) and len(prefix) <= QUALIFIED_PREFIX_MAX:
        return []
    return [FieldError(path, "FieldValueInvalid", "must be a qualified name ([prefix/]name)")]


def _check_string_map(value: Any, path: str, *, label_values: bool) -> list[FieldError]:
    if not isinstance(value, dict):
        return [FieldError(path, "FieldValueInvalid", "must be a map of strings")]
    errors: list[FieldError] = []
    for key, item in value.items():
        errors += _check_qualified_key(key, f"{path}.{key}")
        if not isinstance(item, str):
            errors.append(FieldError(f"{path}.{key}", "FieldValueInvalid", "must be a string"))
        elif label_values and (len(item) > LABEL_VALUE_MAX or not LABEL_VALUE.fullmatch(item)):
            errors.append(
                FieldError(f"{path}.{key}", "FieldValueInvalid", "must be a valid label value")
            )
    strings = {k: v for k, v in value.items() if isinstance(v, str)}
    if not label_values and (size := string_map_bytes(strings)) > MAX_ANNOTATIONS_BYTES:
        errors.append(
            FieldError(
                path,
                "FieldValueTooLong",
                f"annotations total {size} bytes of UTF-8 (keys and values), max "
                f"{MAX_ANNOTATIONS_BYTES} (the API server's 256 KiB less what rendersync adds)",
            )
        )
    return errors


def check_name(name: Any, path: str = "metadata.name") -> list[FieldError]:
    if not isinstance(name, str) or not name:
        return [FieldError(path, "FieldValueRequired", "a name is required")]
    if len(name) > NAME_MAX or not DNS1123_SUBDOMAIN.fullmatch(name):
        return [FieldError(path, "FieldValueInvalid", "must be a DNS-1123 subdomain")]
    return []


def _check_top(body: dict[str, Any]) -> list[FieldError]:
    errors = [
        FieldError(k, "FieldValueForbidden", "unknown field") for k in body if k not in _TOP_FIELDS
    ]
    if body.get("apiVersion", API_VERSION) != API_VERSION:
        errors.append(FieldError("apiVersion", "FieldValueNotSupported", f"must be {API_VERSION}"))
    if body.get("kind", KIND) != KIND:
        errors.append(FieldError("kind", "FieldValueNotSupported", f"must be {KIND}"))
    return errors


def _check_metadata(meta: dict[str, Any]) -> list[FieldError]:
    allowed = _METADATA_FIELDS | _METADATA_READ_ONLY
    errors = [
        FieldError(f"metadata.{k}", "FieldValueForbidden", "unknown field")
        for k in meta
        if k not in allowed
    ]
    errors += _check_string_map(meta.get("labels", {}), "metadata.labels", label_values=True)
    errors += _check_string_map(
        meta.get("annotations", {}), "metadata.annotations", label_values=False
    )
    rv = meta.get("resourceVersion")
    if rv not in (None, "") and not (isinstance(rv, str) and RESOURCE_VERSION.fullmatch(rv)):
        errors.append(
            FieldError("metadata.resourceVersion", "FieldValueInvalid", "must be a number")
        )
    return errors


def parse_body(body: Any) -> tuple[ParsedBody | None, list[FieldError]]:
    """Validate a decoded request body; return the parsed body or every violation."""
    if not isinstance(body, dict):
        return None, [FieldError("body", "FieldValueInvalid", "must be a JSON object")]
    meta = body.get("metadata", {})
    if not isinstance(meta, dict):
        meta = {}
        errors = [FieldError("metadata", "FieldValueInvalid", "must be an object")]
    else:
        errors = []
    errors = _check_top(body) + errors + _check_metadata(meta)
    spec, spec_errors = validate_spec(body.get("spec"))
    errors += spec_errors
    if errors or spec is None:
        return None, errors
    content = Content(
        spec.to_json_dict(), dict(meta.get("labels", {})), dict(meta.get("annotations", {}))
    )
    rv = meta.get("resourceVersion") or None
    return ParsedBody(meta.get("name"), meta.get("namespace"), rv, content), []


def largest_part(content: Content) -> str:
    """The field path of the largest part of ``content``, to name in a size error."""
    sizes = {
        "spec": json_bytes(content.spec),
        "metadata.labels": json_bytes(content.labels),
        "metadata.annotations": json_bytes(content.annotations),
    }
    return max(sizes, key=lambda field: sizes[field])


def check_object_size(namespace: str, name: str, content: Content) -> list[FieldError]:
    """The custom resource ``content`` renders to must fit the API server (as JSON, with
    the widest version rendersync can write); one error naming the largest part if not."""
    rendered = render_appconfig(
        namespace=namespace,
        name=name,
        spec=content.spec,
        labels=content.labels,
        annotations=content.annotations,
        seq=MAX_SEQ,
    )
    size = json_bytes(rendered)
    if size <= MAX_OBJECT_BYTES:
        return []
    message = f"the custom resource would be {size} bytes of JSON, max {MAX_OBJECT_BYTES}"
    return [FieldError(largest_part(content), "FieldValueTooLong", message)]


def timestamp(moment: datetime) -> str:
    return as_utc(moment).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def render(row: AppConfigRow, status: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": {
            "namespace": row.namespace,
            "name": row.name,
            "uid": row.uid,
            "generation": row.generation,
            "resourceVersion": str(row.seq),
            "labels": row.labels,
            "annotations": row.annotations,
            "creationTimestamp": timestamp(row.created_at),
        },
        "spec": row.spec,
        "status": status,
    }


def render_revision(revision: Revision) -> dict[str, Any]:
    return {
        "resourceVersion": str(revision.seq),
        "op": revision.op,
        "actor": revision.actor,
        "time": timestamp(revision.created_at),
        "uid": revision.uid,
        "generation": revision.generation,
        "labels": revision.labels,
        "annotations": revision.annotations,
        "spec": revision.spec,
    }
