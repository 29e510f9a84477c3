"""Size limits in bytes of UTF-8 that agree from the API to Kafka to Kubernetes: what the
API accepts fits the API server (annotations) and its change event fits the producer's
max_request_size; anything over is a 413/422 naming the limit and the field."""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlmodel import Session, col

from api.web.app import create_app
from persistence.tables import OutboxEvent
from tests.api.conftest import BASE, appconfig
from vocabulary.limits import MAX_ANNOTATIONS_BYTES, MAX_OBJECT_BYTES, max_event_bytes
from worker.changeevents import parse_change

MERGE = {"content-type": "application/merge-patch+json"}


def with_annotations(name: str, annotations: dict[str, str], **spec: Any) -> dict[str, Any]:
    body = appconfig(name, **spec)
    body["metadata"]["annotations"] = annotations
    return body


def causes(response: Any) -> list[str]:
    return [c["field"] for c in response.json()["details"].get("causes", [])]


def envelopes(engine: Engine) -> list[str]:
    with Session(engine) as session:
        rows = session.execute(select(OutboxEvent).order_by(col(OutboxEvent.seq))).scalars()
        return [row.envelope for row in rows]


def test_annotations_are_counted_in_bytes_not_characters(client: TestClient) -> None:
    # 250,000 characters, 500,000 bytes: under the body limit, over the API server's 256 KiB.
    response = client.post(BASE, json=with_annotations("web", {"note": "é" * 250_000}))
    assert response.status_code == 422, response.text[:300]
    assert causes(response) == ["metadata.annotations"]
    assert str(MAX_ANNOTATIONS_BYTES) in response.json()["message"]
    assert client.get(f"{BASE}/web").status_code == 404


def test_annotations_up_to_the_limit_are_accepted_and_over_it_refused(client: TestClient) -> None:
    fill = MAX_ANNOTATIONS_BYTES - len("note")
    exact = with_annotations("web", {"note": "é" * (fill // 2) + "a" * (fill % 2)})
    assert client.post(BASE, json=exact).status_code == 201
    over = with_annotations("other", {"note": "é" * (fill // 2) + "a" * (fill % 2 + 1)})
    response = client.post(BASE, json=over)
    assert response.status_code == 422
    assert causes(response) == ["metadata.annotations"]


def test_a_patch_growing_annotations_over_the_limit_is_refused(client: TestClient) -> None:
    assert client.post(BASE, json=with_annotations("web", {"a": "ü" * 100_000})).status_code == 201
    patch = {"metadata": {"annotations": {"b": "ü" * 100_000}}}
    response = client.patch(f"{BASE}/web", json=patch, headers=MERGE)
    assert response.status_code == 422, response.text[:300]
    assert causes(response) == ["metadata.annotations"]
    assert client.get(f"{BASE}/web").json()["metadata"]["annotations"].keys() == {"a"}


def test_the_event_carries_the_row_once_without_escaping(
    client: TestClient, engine: Engine
) -> None:
    note = "é" * 120_000  # 240,000 bytes
    assert client.post(BASE, json=with_annotations("web", {"note": note})).status_code == 201
    (value,) = envelopes(engine)
    assert len(value.encode()) < 240_000 + 4096, "the row image is escaped or carried twice"
    event = parse_change(b"default/web", value.encode())
    assert event is not None
    assert event.image is not None
    assert event.image.annotations == {"note": note}
    assert client.put(f"{BASE}/web", json=with_annotations("web", {"note": note + "!"})).is_success
    assert max(len(v.encode()) for v in envelopes(engine)) < 240_000 + 4096


def test_the_event_limit_derives_from_the_producers_max_request_size(engine: Engine) -> None:
    app = create_app(
        engine=engine,
        targets=("kubernetes",),
        ui_url="http://ui.test",
        max_event_bytes=max_event_bytes(100_000),
    )
    with TestClient(app, raise_server_exceptions=False) as small:
        fits = small.post(BASE, json=with_annotations("web", {"note": "x" * 90_000}))
        assert fits.status_code == 201, fits.text[:300]
        response = small.post(BASE, json=with_annotations("big", {"note": "x" * 100_000}))
        assert response.status_code == 413, response.text[:300]
        status = response.json()
        assert status["reason"] == "RequestEntityTooLarge"
        assert "kafka.max_request_size" in status["message"]
        assert causes(response) == ["metadata.annotations"]
        data = {f"k{i}": "y" * 600 for i in range(100)}  # 60 KB of spec, the largest part
        response = small.post(
            BASE, json=with_annotations("spec", {"note": "x" * 50_000}, data=data)
        )
        assert response.status_code == 413
        assert causes(response) == ["spec"]
    assert [json.loads(v)["after"]["name"] for v in envelopes(engine)] == ["web"]


def test_the_custom_resource_must_fit_the_api_server_as_json(engine: Engine) -> None:
    # 200,000 bytes of control characters: under the annotation limit, but JSON escapes
    # each one to six bytes, and the CR is stored as JSON.
    app = create_app(
        engine=engine, targets=("kubernetes",), ui_url="http://ui.test", max_body_bytes=4 << 20
    )
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.post(BASE, json=with_annotations("web", {"note": "\x01" * 200_000}))
        assert response.status_code == 413, response.text[:300]
        assert str(MAX_OBJECT_BYTES) in response.json()["message"]
        assert causes(response) == ["metadata.annotations"]
    assert envelopes(engine) == []


def test_a_string_that_is_not_unicode_is_refused(client: TestClient) -> None:
    body = json.dumps(with_annotations("web", {"note": "x"})).replace('"x"', '"\\ud800"')
    response = client.post(BASE, content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400, response.text[:300]
    assert "Unicode" in response.json()["message"]
