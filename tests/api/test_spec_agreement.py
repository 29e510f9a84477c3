"""The API's rules agree with the CRD's schema on the shared table of specs (the CRD side is
checked in tests/k8s/test_crd_schema.py) and with the spec schema of the API's own
``/openapi.json`` (validated here with ``jsonschema_rs``, whose patterns are ECMA-262-like:
``$`` is the end of the text), and refuse the API-only cases."""

from __future__ import annotations

import functools
from typing import Any

import jsonschema_rs
import pytest
from sqlalchemy import create_engine

from api.spec import validate_spec
from api.web.app import create_app
from tests.support.builders import API_ONLY_CASES, OPENAPI_REFUSES, SPEC_CASES


@functools.cache
def _openapi_spec_validator() -> Any:
    """The document's ``AppConfigSpec`` schema (its refs resolved in the document)."""
    app = create_app(engine=create_engine("sqlite://"), targets=("kubernetes",), ui_url="x")
    document = app.openapi()
    root = {"$ref": "#/components/schemas/AppConfigSpec", "components": document["components"]}
    return jsonschema_rs.Draft202012Validator(root)


@pytest.mark.parametrize(
    ("spec", "valid", "field"),
    [pytest.param(spec, valid, field, id=case) for case, spec, valid, field in SPEC_CASES],
)
def test_api_rules_agree_with_the_crd(spec: dict[str, Any], valid: bool, field: str | None) -> None:
    model, errors = validate_spec(spec)
    assert (model is not None) is valid, errors
    if field is not None:
        assert any(e.field.startswith(field) for e in errors), (field, errors)


@pytest.mark.parametrize(
    ("spec", "valid"),
    [pytest.param(spec, valid, id=case) for case, spec, valid, _ in SPEC_CASES],
)
def test_the_openapi_schema_agrees_with_the_api(spec: dict[str, Any], valid: bool) -> None:
    errors = [e.message for e in _openapi_spec_validator().iter_errors(spec)]
    assert (not errors) is valid, errors


@pytest.mark.parametrize(
    ("spec", "field"),
    [pytest.param(spec, field, id=case) for case, spec, field in API_ONLY_CASES],
)
def test_api_only_rules(spec: dict[str, Any], field: str) -> None:
    model, errors = validate_spec(spec)
    assert model is None
    assert any(e.field.startswith(field) for e in errors), (field, errors)


@pytest.mark.parametrize(
    ("case", "spec"), [pytest.param(case, spec, id=case) for case, spec, _ in API_ONLY_CASES]
)
def test_the_openapi_schema_states_what_it_can_of_the_api_only_rules(
    case: str, spec: dict[str, Any]
) -> None:
    assert _openapi_spec_validator().is_valid(spec) is (case not in OPENAPI_REFUSES)
