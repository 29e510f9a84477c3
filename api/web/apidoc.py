"""The ``/openapi.json`` document: FastAPI's, plus the request bodies the routes parse
themselves (``api.web.models``), the merge-patch schema derived from the PUT body, and the
``If-Match`` header.

The routes read their bodies raw so that every violation is reported at once with its field
path (``api.web.resources``); the bodies are declared here with ``openapi_extra`` instead of as
parameters, and their schemas added to the components.
"""

from __future__ import annotations

import copy
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from api.web.bodies import IF_MATCH, JSON, MERGE_PATCH
from api.web.changemodels import AppConfigRollback
from api.web.models import AppConfigCreate, AppConfigUpdate, DeleteOptions

REF = "#/components/schemas/"
PATCH_SCHEMA = "AppConfigPatch"
_NULL = {"type": "null"}
#: Keywords that relate members of the result; a patch alone cannot meet them.
_RESULT_ONLY = ("required", "if", "then", "else", "default")


def request_body(model: type[BaseModel], *, required: bool = True) -> dict[str, Any]:
    """``openapi_extra`` declaring ``model`` as the route's JSON request body."""
    ref = {"$ref": REF + model.__name__}
    body = {"required": required, "content": {JSON: {"schema": ref}}}
    return {"requestBody": body}


def merge_patch_body() -> dict[str, Any]:
    """``openapi_extra`` of PATCH: a merge patch, sent as merge-patch+json (or plain JSON)."""
    ref = {"$ref": REF + PATCH_SCHEMA}
    content = {MERGE_PATCH: {"schema": ref}, JSON: {"schema": ref}}
    return {"requestBody": {"required": True, "content": content}}


IF_MATCH_PARAMETER: dict[str, Any] = {
    "name": "If-Match",
    "in": "header",
    "required": False,
    "description": 'the ETag of a previous answer ("<resourceVersion>"): write only that version',
    "schema": {"type": "string", "pattern": IF_MATCH.pattern},
}


def merge_patch_schema(schema: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    """The schema of an RFC 7386 merge patch whose result must match ``schema``.

    Members of an object become optional; a member the result may lack may be ``null``
    (deleted); an unknown member may only be ``null`` (deleting nothing); maps take ``null``
    values; arrays and scalars replace whole and keep their schema. Rules relating members of
    the result (required, if/then) are left out: they hold for the merged object only."""
    if "$ref" in schema:
        target = defs[schema["$ref"].removeprefix(REF)]
        if target.get("type") != "object":
            return dict(schema)
        return merge_patch_schema(target, defs)
    if "anyOf" in schema:
        branches = [merge_patch_schema(s, defs) for s in schema["anyOf"]]
        return {**_keep(schema), "anyOf": branches}
    if schema.get("type") != "object":
        return {k: copy.deepcopy(v) for k, v in schema.items() if k != "default"}
    out = _keep(schema)
    required = set(schema.get("required", ()))
    if "properties" in schema:
        out["properties"] = {
            name: _member(merge_patch_schema(member, defs), deletable=name not in required)
            for name, member in schema["properties"].items()
        }
    extra = schema.get("additionalProperties", True)
    if extra is False:
        out["additionalProperties"] = _NULL
    elif isinstance(extra, dict):
        out["additionalProperties"] = _member(merge_patch_schema(extra, defs), deletable=True)
    return out


def _keep(schema: dict[str, Any]) -> dict[str, Any]:
    keep = {k: v for k, v in schema.items() if k not in (*_RESULT_ONLY, "properties")}
    return copy.deepcopy(keep)


def _member(schema: dict[str, Any], *, deletable: bool) -> dict[str, Any]:
    if not deletable or _admits_null(schema):
        return schema
    return {"anyOf": [schema, _NULL]}


def _admits_null(schema: dict[str, Any]) -> bool:
    if "anyOf" in schema:
        return _NULL in schema["anyOf"]
    return not any(k in schema for k in ("type", "const", "enum", "$ref"))


def _request_schemas() -> dict[str, Any]:
    models: list[tuple[type[BaseModel], Any]] = [
        (AppConfigCreate, "validation"),
        (AppConfigUpdate, "validation"),
        (DeleteOptions, "validation"),
        (AppConfigRollback, "validation"),
    ]
    _, top = models_json_schema(models, ref_template=REF + "{model}")
    defs: dict[str, Any] = top["$defs"]
    patch = merge_patch_schema(defs[AppConfigUpdate.__name__], defs)
    patch["title"] = PATCH_SCHEMA
    patch["description"] = "JSON merge patch (RFC 7386) of an AppConfig; the result is checked."
    defs[PATCH_SCHEMA] = patch
    return defs


def install_openapi(app: FastAPI) -> None:
    """Serve FastAPI's document with the request schemas added (built once, on first use)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=app.version,
                summary=app.summary,
                routes=app.routes,
            )
            schemas = document.setdefault("components", {}).setdefault("schemas", {})
            for name, schema in _request_schemas().items():
                if name in schemas and schemas[name] != schema:
                    raise RuntimeError(f"two different schemas are named {name}")
                schemas[name] = schema
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
