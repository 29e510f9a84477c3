"""Random create/update/delete sequences keep outbox, revisions and appconfigs consistent."""

from __future__ import annotations

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, text

from tests.api.checks import assert_tables_consistent
from tests.api.conftest import BASE, appconfig

NAMES = ["a", "b", "c"]
operation = st.tuples(
    st.sampled_from(["create", "put", "patch", "delete"]),
    st.sampled_from(NAMES),
    st.integers(min_value=-1, max_value=52),  # replicas: out-of-range ones must be rejected
)


def _reset(engine: Engine) -> None:
    with engine.begin() as conn:
        for table in ("outbox", "revisions", "appconfigs", "sync_status"):
            conn.execute(text(f"DELETE FROM {table}"))


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(operation, max_size=25))
def test_random_operations_keep_tables_consistent(
    client: TestClient, engine: Engine, ops: list[tuple[str, str, int]]
) -> None:
    _reset(engine)
    accepted = 0
    for op, name, replicas in ops:
        if op == "create":
            response = client.post(BASE, json=appconfig(name, replicas=replicas))
        elif op == "put":
            response = client.put(f"{BASE}/{name}", json=appconfig(name, replicas=replicas))
        elif op == "patch":
            response = client.patch(
                f"{BASE}/{name}",
                json={"spec": {"replicas": replicas}},
                headers={"content-type": "application/merge-patch+json"},
            )
        else:
            response = client.delete(f"{BASE}/{name}")
        assert response.status_code in (200, 201, 404, 409, 422), response.text
        assert response.status_code != 422 or not 0 <= replicas <= 50
        accepted += response.status_code in (200, 201)
    assert_tables_consistent(engine)
