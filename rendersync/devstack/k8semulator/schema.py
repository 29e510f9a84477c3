"""Structural-schema handling for custom resources: defaulting, pruning, validation.

Implements the openAPIV3Schema keywords CRDs commonly use: type, nullable, required, enum,
minimum/maximum, minLength/maxLength, pattern, minProperties/maxProperties, minItems/maxItems,
properties, additionalProperties (a schema), items, default, x-kubernetes-preserve-unknown-fields
and x-kubernetes-validations (rule, message, fieldPath, reason) through :mod:`.cel`. Error
messages follow apimachinery's field errors (``spec.replicas: Invalid value: 51: spec.replicas
in body should be less than or equal to 50``). ``format`` is not checked.
"""

from __future__ import annotations

from typing import Any

from .cel import CelError, evaluate, pattern_search
from .statuses import Cause, describe_value

_ROOT_KEEP = ("apiVersion", "kind", "metadata")
_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
}


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def apply_defaults(schema: dict[str, Any], value: Any) -> None:
    """Fill absent properties that declare a ``default``, recursively, in place."""
    if isinstance(value, dict):
        props = schema.get("properties") or {}
        for key, sub in props.items():
            if key not in value and "default" in sub:
                value[key] = _copy(sub["default"])
            if key in value:
                apply_defaults(sub, value[key])
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            for key in value:
                if key not in props:
                    apply_defaults(extra, value[key])
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for item in value:
            apply_defaults(schema["items"], item)


def prune(schema: dict[str, Any], value: Any, path: str = "") -> list[str]:
    """Drop fields the schema does not know, in place; returns their paths."""
    dropped: list[str] = []
    if isinstance(value, dict):
        if schema.get("x-kubernetes-preserve-unknown-fields") and not schema.get("properties"):
            return dropped
        props = schema.get("properties") or {}
        extra = schema.get("additionalProperties")
        for key in list(value):
            if path == "" and key == "metadata":
                continue  # ObjectMeta is the server's, never pruned by the CRD schema
            sub = props.get(key, extra if isinstance(extra, dict) else None)
            if sub is not None:
                dropped += prune(sub, value[key], _join(path, key))
            elif not (path == "" and key in _ROOT_KEEP) and not _preserves(schema):
                del value[key]
                dropped.append(_join(path, key))
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for i, item in enumerate(value):
            dropped += prune(schema["items"], item, _join(path, i))
    return dropped


def _preserves(schema: dict[str, Any]) -> bool:
    return bool(schema.get("x-kubernetes-preserve-unknown-fields"))


def validate(schema: dict[str, Any], value: Any, path: str = "") -> list[Cause]:
    """Field errors of ``value`` against ``schema``; empty when valid."""
    if value is None:
        if schema.get("nullable"):
            return []
        if "type" in schema:
            return [_type_error(schema["type"], value, path)]
    expected = schema.get("type")
    if expected and not _is_type(expected, value):
        return [_type_error(expected, value, path)]
    causes = _scalar_checks(schema, value, path)
    if isinstance(value, dict):
        causes += _object_checks(schema, value, path)
    elif isinstance(value, list):
        causes += _array_checks(schema, value, path)
    if not causes:
        causes += _rules(schema, value, path)
    return causes


def _is_type(expected: str, value: Any) -> bool:
    if isinstance(value, bool) and expected != "boolean":
        return False
    if expected == "integer" and isinstance(value, float):
        return value.is_integer()
    return isinstance(value, _TYPES.get(expected, (object,)))


def _type_error(expected: str, value: Any, path: str) -> Cause:
    got = _json_type(value)
    return Cause(
        "FieldValueTypeInvalid",
        path,
        f'Invalid value: "{got}": {path} in body must be of type {expected}: "{got}"',
    )


def _json_type(value: Any) -> str:
    for name in ("boolean", "integer", "number", "string", "object", "array"):
        if _is_type(name, value):
            return name
    return "null"


def _scalar_checks(schema: dict[str, Any], value: Any, path: str) -> list[Cause]:
    out: list[Cause] = []
    shown = describe_value(value)
    if "enum" in schema and value not in schema["enum"]:
        allowed = ", ".join(describe_value(v) for v in schema["enum"])
        out.append(
            Cause(
                "FieldValueNotSupported",
                path,
                f"Unsupported value: {shown}: supported values: {allowed}",
            )
        )
    if isinstance(value, str):
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            out.append(
                Cause(
                    "FieldValueTooLong",
                    path,
                    f"Too long: may not be more than {schema['maxLength']} bytes",
                )
            )
        if "minLength" in schema and len(value) < schema["minLength"]:
            out.append(
                _invalid(path, shown, f"should be at least {schema['minLength']} chars long")
            )
        if "pattern" in schema and not pattern_search(schema["pattern"], value):
            out.append(_invalid(path, shown, f"should match '{schema['pattern']}'"))
    if isinstance(value, int | float) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            out.append(
                _invalid(path, shown, f"should be greater than or equal to {schema['minimum']}")
            )
        if "maximum" in schema and value > schema["maximum"]:
            out.append(
                _invalid(path, shown, f"should be less than or equal to {schema['maximum']}")
            )
    return out


def _invalid(path: str, shown: str, rule: str) -> Cause:
    return Cause("FieldValueInvalid", path, f"Invalid value: {shown}: {path} in body {rule}")


def _object_checks(schema: dict[str, Any], value: dict[str, Any], path: str) -> list[Cause]:
    out = [
        Cause("FieldValueRequired", _join(path, key), "Required value")
        for key in schema.get("required") or []
        if key not in value
    ]
    if "maxProperties" in schema and len(value) > schema["maxProperties"]:
        out.append(
            Cause(
                "FieldValueTooMany",
                path,
                f"Too many: {len(value)}: must have at most {schema['maxProperties']} items",
            )
        )
    if "minProperties" in schema and len(value) < schema["minProperties"]:
        out.append(
            _invalid(path, '"object"', f"should have at least {schema['minProperties']} properties")
        )
    props = schema.get("properties") or {}
    extra = schema.get("additionalProperties")
    for key, item in value.items():
        sub = props.get(key, extra if isinstance(extra, dict) else None)
        if sub is not None and not (path == "" and key == "metadata"):
            out += validate(sub, item, _join(path, key))
    return out


def _array_checks(schema: dict[str, Any], value: list[Any], path: str) -> list[Cause]:
    out: list[Cause] = []
    if "maxItems" in schema and len(value) > schema["maxItems"]:
        out.append(
            Cause(
                "FieldValueTooMany",
                path,
                f"Too many: {len(value)}: must have at most {schema['maxItems']} items",
            )
        )
    if "minItems" in schema and len(value) < schema["minItems"]:
        out.append(_invalid(path, '"array"', f"should have at least {schema['minItems']} items"))
    if isinstance(schema.get("items"), dict):
        for i, item in enumerate(value):
            out += validate(schema["items"], item, _join(path, i))
    return out


def _rules(schema: dict[str, Any], value: Any, path: str) -> list[Cause]:
    out = []
    for rule in schema.get("x-kubernetes-validations") or []:
        field = path + rule["fieldPath"] if rule.get("fieldPath") else path
        try:
            ok = evaluate(rule["rule"], value)
        except CelError as exc:
            out.append(
                Cause("FieldValueInvalid", path, f"Invalid value: {describe_value(value)}: {exc}")
            )
            continue
        if ok is not True:
            message = rule.get("message") or f"failed rule: {rule['rule']}"
            reason = rule.get("reason") or "FieldValueInvalid"
            out.append(Cause(reason, field, f"Invalid value: {describe_value(value)}: {message}"))
    return out


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value
