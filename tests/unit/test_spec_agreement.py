"""The API's rules agree with the CRD's schema on the shared table of specs (the CRD side is
checked in tests/k8s/test_crd_schema.py), and refuse the API-only cases."""

from __future__ import annotations

from typing import Any

import pytest

from api.spec import validate_spec
from tests.spec_cases import API_ONLY_CASES, SPEC_CASES


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
    ("spec", "field"),
    [pytest.param(spec, field, id=case) for case, spec, field in API_ONLY_CASES],
)
def test_api_only_rules(spec: dict[str, Any], field: str) -> None:
    model, errors = validate_spec(spec)
    assert model is None
    assert any(e.field.startswith(field) for e in errors), (field, errors)
