"""The AppConfig spec (v1alpha1) and every business rule on it, with field paths.

One place for the rules the API enforces; the CRD's openAPIV3Schema mirrors them
(``k8s/manifests/crd.yaml``) and a shared table of cases keeps the two in agreement.
Validation returns *every* violation at once, each with a dotted field path.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from vocabulary.limits import json_bytes

DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
DATA_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
MAX_DATA_KEYS = 100
#: The spec's JSON text (compact, UTF-8; see ``vocabulary.limits``).
MAX_SPEC_BYTES = 64 * 1024
PROD_MIN_REPLICAS = 2

#: Words that mark a data key as holding a secret value (compared per word of the key).
SECRET_WORDS = frozenset(
    {"password", "passwd", "pwd", "secret", "token", "apikey", "credential", "credentials"}
)
#: Adjacent word pairs that mark a secret too (``api-key``, ``privateKey``...).
SECRET_PAIRS = frozenset({("api", "key"), ("private", "key"), ("access", "key")})


def whole_number(value: Any) -> Any:
    """JSON has one number type: ``4.0`` is the integer 4 (as JSON Schema and Kubernetes
    read it), stored as ``4``; ``4.5``, booleans and the rest are left to fail."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


#: An integer as JSON Schema means it (strict otherwise: no strings, no booleans).
JsonInt = Annotated[int, BeforeValidator(whole_number)]


@dataclass(frozen=True)
class FieldError:
    """One violated rule: ``field`` is a dotted path such as ``spec.replicas``."""

    field: str
    reason: str
    message: str


class SecretRef(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    name: str = Field(min_length=1, max_length=253, pattern=DNS1123_SUBDOMAIN.pattern)
    key: str = Field(min_length=1, max_length=253, pattern=DATA_KEY.pattern)


#: The rules above that JSON Schema can state, added to the model's schema (so the OpenAPI
#: document states them from these constants). Two stay business rules only: secret-looking
#: data keys and the 64 KiB limit on the spec's JSON.
_SPEC_SCHEMA_RULES: dict[str, Any] = {
    "description": (
        "The AppConfig spec (v1alpha1). Besides this schema, data keys that look like secrets "
        f"are refused and the spec's compact UTF-8 JSON is at most {MAX_SPEC_BYTES} bytes."
    ),
    "if": {"properties": {"environment": {"const": "prod"}}, "required": ["environment"]},
    "then": {"properties": {"replicas": {"minimum": PROD_MIN_REPLICAS}}, "required": ["replicas"]},
}
_DATA_SCHEMA_RULES: dict[str, Any] = {
    "maxProperties": MAX_DATA_KEYS,
    "propertyNames": {"pattern": DATA_KEY.pattern},
}


class AppConfigSpec(BaseModel):
    """spec of an AppConfig. Unknown fields are rejected; types are strict (no coercion)."""

    model_config = ConfigDict(
        extra="forbid", strict=True, populate_by_name=True, json_schema_extra=_SPEC_SCHEMA_RULES
    )

    app: str = Field(max_length=63, pattern=DNS1123_LABEL.pattern)
    environment: Literal["dev", "staging", "prod"]
    replicas: JsonInt = Field(default=1, ge=0, le=50)
    data: dict[str, str] = Field(default_factory=dict, json_schema_extra=_DATA_SCHEMA_RULES)
    feature_flags: dict[str, bool] = Field(default_factory=dict, alias="featureFlags")
    secret_refs: list[SecretRef] = Field(default_factory=list, alias="secretRefs")

    def to_json_dict(self) -> dict[str, Any]:
        """The canonical JSON form stored in the database and sent downstream."""
        return self.model_dump(by_alias=True, mode="json")


def split_words(key: str) -> list[str]:
    """Split a data key into lower-case words on separators and camelCase boundaries."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", key)
    return [w.lower() for w in re.split(r"[-._\s]+", spaced) if w]


def looks_like_secret(key: str) -> bool:
    words = split_words(key)
    if any(w in SECRET_WORDS for w in words):
        return True
    return any(pair in SECRET_PAIRS for pair in itertools.pairwise(words))


def _pydantic_errors(err: ValidationError, prefix: str) -> list[FieldError]:
    out = []
    for item in err.errors():
        path = prefix + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in item["loc"])
        reason = "FieldValueForbidden" if item["type"] == "extra_forbidden" else "FieldValueInvalid"
        if item["type"] == "missing":
            reason = "FieldValueRequired"
        message = "unknown field" if item["type"] == "extra_forbidden" else item["msg"]
        out.append(FieldError(path, reason, message))
    return out


def _data_rules(data: Any, prefix: str) -> list[FieldError]:
    if not isinstance(data, dict):
        return []
    errors = []
    if len(data) > MAX_DATA_KEYS:
        errors.append(
            FieldError(
                f"{prefix}.data",
                "FieldValueTooMany",
                f"must have at most {MAX_DATA_KEYS} keys, has {len(data)}",
            )
        )
    for key in data:
        path = f"{prefix}.data.{key}"
        if not DATA_KEY.fullmatch(key):
            errors.append(
                FieldError(path, "FieldValueInvalid", f"key must match {DATA_KEY.pattern}")
            )
        elif looks_like_secret(key):
            errors.append(
                FieldError(
                    path,
                    "FieldValueForbidden",
                    "key looks like a secret; keep the value in a Kubernetes Secret and "
                    "reference it with spec.secretRefs",
                )
            )
    return errors


def _cross_field_rules(raw: dict[str, Any], prefix: str) -> list[FieldError]:
    replicas = whole_number(raw.get("replicas", 1))
    if (
        raw.get("environment") == "prod"
        and isinstance(replicas, int)
        and not isinstance(replicas, bool)
        and replicas < PROD_MIN_REPLICAS
    ):
        return [
            FieldError(
                f"{prefix}.replicas",
                "FieldValueInvalid",
                f"prod needs at least {PROD_MIN_REPLICAS} replicas",
            )
        ]
    return []


def validate_spec(raw: Any, prefix: str = "spec") -> tuple[AppConfigSpec | None, list[FieldError]]:
    """Validate a raw (JSON-decoded) spec; return the model, or None and every violation."""
    if not isinstance(raw, dict):
        return None, [FieldError(prefix, "FieldValueRequired", "must be an object")]
    errors: list[FieldError] = []
    spec: AppConfigSpec | None = None
    try:
        spec = AppConfigSpec.model_validate(raw)
    except ValidationError as err:
        errors.extend(_pydantic_errors(err, prefix))
    errors.extend(_data_rules(raw.get("data"), prefix))
    errors.extend(_cross_field_rules(raw, prefix))
    if spec is not None and not errors:
        size = json_bytes(spec.to_json_dict())
        if size > MAX_SPEC_BYTES:
            errors.append(
                FieldError(
                    prefix,
                    "FieldValueTooLong",
                    f"serialized spec is {size} bytes of UTF-8 JSON, max {MAX_SPEC_BYTES}",
                )
            )
    unique = list(dict.fromkeys(errors))
    return (spec if not unique else None), unique
