"""What the tests send: AppConfig request bodies and the spec cases of the validation tests.

:func:`body` is the JSON body of a create (or replace) request, used wherever a test writes
through the REST API.

The spec cases are shared by the CRD schema tests and the REST API's validation tests.

``SPEC_CASES`` rows are ``(case id, spec, valid?, field path)``: both the CRD's
openAPIV3Schema and the API's business rules must agree on validity. The field path is the
prefix the error must name (``spec.data`` matches ``spec.data`` and ``spec.data.k``).

``API_ONLY_CASES`` rows are ``(case id, spec, field path)``: specs the CRD accepts (unknown
fields are pruned by the API server; secret-looking keys and the 64 KiB limit are business
rules with no schema counterpart) but the REST API must refuse. The REST API's OpenAPI
schema refuses those of them named in ``OPENAPI_REFUSES`` (it can say
``additionalProperties: false``) and accepts the rest.
"""

from __future__ import annotations

from typing import Any

Spec = dict[str, Any]

_BASE: Spec = {"app": "web", "environment": "dev"}


def body(
    name: str, *, labels: dict[str, str] | None = None, typed: bool = False, **spec: Any
) -> dict[str, Any]:
    """An AppConfig named ``name`` with spec ``app: web, environment: dev`` updated by ``spec``
    (``app=...`` replaces the default app). ``labels`` go into its metadata when given;
    ``typed`` adds ``apiVersion`` and ``kind`` as ``kubectl`` sends them (the API accepts the
    body with or without them)."""
    metadata: dict[str, Any] = {"name": name}
    if labels is not None:
        metadata["labels"] = dict(labels)
    request: dict[str, Any] = {"metadata": metadata, "spec": {**_BASE, **spec}}
    if typed:
        return {"apiVersion": "rendersync.dev/v1alpha1", "kind": "AppConfig", **request}
    return request


def _with(**fields: Any) -> Spec:
    return {**_BASE, **fields}


def _without(key: str) -> Spec:
    return {k: v for k, v in _BASE.items() if k != key}


SPEC_CASES: list[tuple[str, Spec, bool, str | None]] = [
    ("valid-minimal", dict(_BASE), True, None),
    (
        "valid-full",
        _with(
            environment="staging",
            replicas=3,
            data={"LOG_LEVEL": "debug", "db.host": "pg", "cache-ttl_s": "30"},
            featureFlags={"newCheckout": True, "darkMode": False},
            secretRefs=[{"name": "db-credentials", "key": "password"}],
        ),
        True,
        None,
    ),
    ("valid-prod-2-replicas", _with(environment="prod", replicas=2), True, None),
    ("valid-replicas-0", _with(replicas=0), True, None),
    ("valid-replicas-50", _with(replicas=50), True, None),
    ("valid-replicas-whole-number", _with(environment="prod", replicas=4.0), True, None),
    ("valid-app-63-chars", _with(app="a" * 63), True, None),
    ("valid-100-data-keys", _with(data={f"k{i}": "v" for i in range(100)}), True, None),
    ("valid-empty-maps", _with(data={}, featureFlags={}, secretRefs=[]), True, None),
    ("missing-app", _without("app"), False, "spec.app"),
    ("missing-environment", _without("environment"), False, "spec.environment"),
    ("app-uppercase-underscore", _with(app="Bad_Name"), False, "spec.app"),
    ("app-leading-dash", _with(app="-web"), False, "spec.app"),
    ("app-64-chars", _with(app="a" * 64), False, "spec.app"),
    ("app-not-string", _with(app=7), False, "spec.app"),
    ("environment-unknown", _with(environment="qa"), False, "spec.environment"),
    ("replicas-negative", _with(replicas=-1), False, "spec.replicas"),
    ("replicas-51", _with(replicas=51), False, "spec.replicas"),
    ("replicas-string", _with(replicas="3"), False, "spec.replicas"),
    ("prod-1-replica", _with(environment="prod", replicas=1), False, "spec.replicas"),
    ("prod-default-replicas", _with(environment="prod"), False, "spec.replicas"),
    ("prod-1.0-replica", _with(environment="prod", replicas=1.0), False, "spec.replicas"),
    ("replicas-fraction", _with(replicas=2.5), False, "spec.replicas"),
    ("data-101-keys", _with(data={f"k{i}": "v" for i in range(101)}), False, "spec.data"),
    ("data-key-with-space", _with(data={"bad key": "v"}), False, "spec.data"),
    ("data-key-with-slash", _with(data={"a/b": "v"}), False, "spec.data"),
    ("data-key-empty", _with(data={"": "v"}), False, "spec.data"),
    ("data-key-trailing-newline", _with(data={"key\n": "v"}), False, "spec.data"),
    ("app-trailing-newline", _with(app="web\n"), False, "spec.app"),
    ("data-value-not-string", _with(data={"port": 8080}), False, "spec.data"),
    ("data-not-map", _with(data=["a"]), False, "spec.data"),
    ("feature-flag-not-bool", _with(featureFlags={"beta": "yes"}), False, "spec.featureFlags"),
    ("secret-ref-missing-key", _with(secretRefs=[{"name": "db"}]), False, "spec.secretRefs"),
    ("secret-ref-missing-name", _with(secretRefs=[{"key": "pw"}]), False, "spec.secretRefs"),
    (
        "secret-refs-not-list",
        _with(secretRefs={"name": "db", "key": "pw"}),
        False,
        "spec.secretRefs",
    ),
]

API_ONLY_CASES: list[tuple[str, Spec, str]] = [
    ("unknown-field", _with(colour="blue"), "spec.colour"),
    ("data-key-looks-like-secret", _with(data={"DB_PASSWORD": "hunter2"}), "spec.data"),
    ("spec-over-64KiB", _with(data={f"k{i}": "x" * 700 for i in range(100)}), "spec"),
]

OPENAPI_REFUSES = frozenset({"unknown-field"})
