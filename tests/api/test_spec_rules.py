"""Business rules on AppConfig specs: every rule, field paths, all violations at once."""

from __future__ import annotations

from typing import Any

import pytest

from api.spec import MAX_SPEC_BYTES, looks_like_secret, validate_spec


def fields(raw: Any) -> set[str]:
    spec, errors = validate_spec(raw)
    assert (spec is None) == bool(errors)
    return {e.field for e in errors}


def test_minimal_spec_is_valid_and_defaults_are_filled() -> None:
    spec, errors = validate_spec({"app": "web", "environment": "dev"})
    assert errors == []
    assert spec is not None
    assert spec.to_json_dict() == {
        "app": "web",
        "environment": "dev",
        "replicas": 1,
        "data": {},
        "featureFlags": {},
        "secretRefs": [],
    }


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"environment": "dev"}, "spec.app"),
        ({"app": "Web_1", "environment": "dev"}, "spec.app"),
        ({"app": "a" * 64, "environment": "dev"}, "spec.app"),
        ({"app": "web", "environment": "qa"}, "spec.environment"),
        ({"app": "web", "environment": "dev", "replicas": 51}, "spec.replicas"),
        ({"app": "web", "environment": "dev", "replicas": -1}, "spec.replicas"),
        ({"app": "web", "environment": "dev", "replicas": "3"}, "spec.replicas"),
        ({"app": "web", "environment": "prod", "replicas": 1}, "spec.replicas"),
        ({"app": "web", "environment": "dev", "data": {"a b": "x"}}, "spec.data.a b"),
        ({"app": "web", "environment": "dev", "data": {"k": 1}}, "spec.data.k"),
        ({"app": "web", "environment": "dev", "featureFlags": {"f": "yes"}}, "spec.featureFlags.f"),
        (
            {"app": "web", "environment": "dev", "secretRefs": [{"name": "s"}]},
            "spec.secretRefs[0].key",
        ),
        ({"app": "web", "environment": "dev", "colour": "red"}, "spec.colour"),
    ],
)
def test_each_rule_names_its_field(raw: dict[str, Any], field: str) -> None:
    assert field in fields(raw)


def test_every_violation_is_reported_at_once() -> None:
    raw = {"app": "Bad", "environment": "prod", "replicas": 1, "data": {"api_key": "x"}, "x": 1}
    assert fields(raw) == {"spec.app", "spec.replicas", "spec.data.api_key", "spec.x"}


def test_too_many_data_keys() -> None:
    data = {f"k{i}": "v" for i in range(101)}
    assert "spec.data" in fields({"app": "web", "environment": "dev", "data": data})
    del data["k100"]
    assert fields({"app": "web", "environment": "dev", "data": data}) == set()


def test_serialized_spec_size_limit() -> None:
    big = {f"k{i}": "v" * 700 for i in range(100)}
    assert MAX_SPEC_BYTES < 100 * 700
    assert fields({"app": "web", "environment": "dev", "data": big}) == {"spec"}


def test_spec_size_is_counted_in_bytes_of_utf8() -> None:
    # 2 bytes of UTF-8 per character; the JSON text of the spec is what travels downstream.
    under = {"text": "é" * ((MAX_SPEC_BYTES - 200) // 2)}
    over = {"text": "é" * (MAX_SPEC_BYTES // 2 + 1)}
    assert fields({"app": "web", "environment": "dev", "data": under}) == set()
    _, errors = validate_spec({"app": "web", "environment": "dev", "data": over})
    assert [(e.field, e.reason) for e in errors] == [("spec", "FieldValueTooLong")]
    assert str(MAX_SPEC_BYTES) in errors[0].message


@pytest.mark.parametrize(
    "key",
    [
        "password",
        "db-password",
        "DB_PASSWORD",
        "apiKey",
        "api-key",
        "stripe.apikey",
        "authToken",
        "client_secret",
        "privateKey",
        "aws.access_key",
    ],
)
def test_secret_looking_keys_are_rejected_with_a_pointer_to_secret_refs(key: str) -> None:
    assert looks_like_secret(key)
    _, errors = validate_spec({"app": "web", "environment": "dev", "data": {key: "x"}})
    assert [e.field for e in errors] == [f"spec.data.{key}"]
    assert "secretRefs" in errors[0].message


@pytest.mark.parametrize("key", ["log-level", "tokenizer.model", "keyboard", "passage", "monkey"])
def test_ordinary_keys_are_not_mistaken_for_secrets(key: str) -> None:
    assert not looks_like_secret(key)


def test_prod_with_two_replicas_is_valid() -> None:
    assert fields({"app": "web", "environment": "prod", "replicas": 2}) == set()


def test_non_object_spec() -> None:
    assert fields(["not", "a", "map"]) == {"spec"}
