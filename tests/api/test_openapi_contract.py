"""The API keeps the contract ``/openapi.json`` states: schemathesis drives every operation
with data made from the document (valid and invalid), against a real SQLite database, runs
every check it has by default (``ignored_auth`` included: the app authenticates API tokens and
denies by default), and asserts that no 4xx answer wrote anything.

Three things JSON Schema cannot say are given to the generator as hooks, and only for data
meant to be valid: a body's ``metadata.name``/``namespace`` must be the URL's; a
``labelSelector`` follows the selector grammar; a ``continue`` token is valid only when this
API issued it. And ``?wait=synced`` waits 0 s (no worker syncs here).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from schemathesis import Case, HookContext
from schemathesis.checks import positive_data_acceptance
from schemathesis.config import SchemathesisConfig
from sqlalchemy import Engine, create_engine

from api.spec import validate_spec
from api.web.app import create_app
from api.web.auth.config import AuthConfig
from api.web.auth.policy import PolicyAuthorizer
from api.web.auth.tokenauth import ApiTokenAuthenticator
from api.web.waiting import WAIT_VALUES
from k8s.labels import SelectorError, parse_selector
from k8s.mergepatch import merge_patch
from persistence import apitokens, reading
from persistence.db import make_engine
from persistence.migrating import upgrade
from persistence.reading import InvalidContinueError, count_rows, current_seq, decode_continue
from persistence.rolebindings import USER, Binding

#: Examples per operation and phase: enough to reach every status, quick on 2 cores.
MAX_EXAMPLES = 30


#: The principal the generated requests authenticate as (an admin everywhere).
CALLER = "contract"
#: Its API token, issued by the ``contract_app`` fixture in the test's database.
TOKENS: dict[str, str] = {}


def _app(engine: Engine) -> FastAPI:
    """The API as deployed: API tokens, deny by default, ``CALLER`` bound to admin."""
    auth = AuthConfig(
        authenticators=(ApiTokenAuthenticator(engine),),
        authorizers=(
            PolicyAuthorizer(file_bindings=(Binding("admin", "", USER, CALLER),), engine=engine),
        ),
        # ignored_auth probes every operation without a credential from one client; the
        # limit on refused credentials has tests of its own (tests/api/auth).
        failure_limit="100000/minute",
    )
    return create_app(
        engine=engine,
        targets=("kubernetes", "git"),
        ui_url="http://ui.test",
        auth=auth,
        redriver=_replayed,
    )


async def _replayed(namespace: str, name: str, reason: str) -> tuple[str, int]:
    """Stands in for Temporal, which this test does not start: the contract of ``replay`` is
    the API's; the re-drive itself is tested against Temporal in tests/api/console and tests/ops."""
    return "signalled retry", 0


#: The defaults, and 412: like a 409, a failed If-Match depends on the stored object, not on
#: the request's shape (valid data with a random ETag meets an object at another version).
CONFIG = SchemathesisConfig.from_dict(
    {
        "checks": {
            "positive_data_acceptance": {
                "expected-statuses": ["2xx", "3xx", "401", "403", "404", "409", "412", "429"]
            },
            # The defaults, and 412: a failed If-Match refuses the write before its body is
            # judged, as a 409 does (and the test asserts that no 4xx wrote anything).
            "negative_data_rejection": {
                "expected-statuses": [
                    *("400", "401", "403", "404", "405", "406", "409", "412", "413"),
                    *("415", "422", "428", "429", "5xx"),
                ]
            },
        }
    }
)

# The document is read when the module is collected, from an app whose engine is never
# connected; every request goes to the fixture's app (``app=``), on a migrated database.
schema = schemathesis.openapi.from_asgi(
    "/openapi.json", _app(create_engine("sqlite://")), config=CONFIG
).exclude(path="/api/v1/watch/appconfigs")  # an endless event stream: tests/api/console drive it


@pytest.fixture(scope="module")
def contract_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    path: Path = tmp_path_factory.mktemp("contract") / "rendersync.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def contract_app(contract_engine: Engine) -> FastAPI:
    issued = apitokens.issue(contract_engine, principal=CALLER, groups=[], expires_in=None)
    TOKENS[CALLER] = issued.token
    return _app(contract_engine)


@schema.auth(refresh_interval=None)
class CallerToken:
    """Every generated request carries the caller's token; ``ignored_auth`` then checks that
    the same request without it, or with a wrong one, is refused. (Examples built while the
    module is collected, before the token exists, carry none.)"""

    def get(self, case: Case[Any], context: Any) -> str | None:
        return TOKENS.get(CALLER)

    def set(self, case: Case[Any], data: str, context: Any) -> None:
        case.headers["Authorization"] = f"Bearer {data}"


def _positive(case: Case[Any]) -> bool:
    return case.meta is not None and case.meta.generation.mode.is_positive


def _parses(text: Any, parse: Any, error: type[Exception]) -> bool:
    try:
        parse(text)
    except error:
        return False
    return True


@schema.hook
def filter_case(_context: HookContext, case: Case[Any]) -> bool:
    """Valid data is only what the selector grammar and the issued tokens admit."""
    if not _positive(case):
        return True
    query = case.query or {}
    if "labelSelector" in query and not _parses(
        query["labelSelector"], parse_selector, SelectorError
    ):
        return False
    return "continue" not in query or _parses(
        query["continue"], decode_continue, InvalidContinueError
    )


@schema.hook
def map_case(_context: HookContext, case: Case[Any]) -> Case[Any]:
    """Valid bodies name the URL's namespace and name; a wait for a sync returns at once."""
    query = case.query
    if query and query.get("wait") in WAIT_VALUES:
        query["timeout"] = "0s"
    body, path = case.body, case.path_parameters or {}
    meta = body.get("metadata") if isinstance(body, dict) else None
    if _positive(case) and isinstance(meta, dict):
        if meta.get("namespace") is not None and "namespace" in path:
            meta["namespace"] = path["namespace"]
        if meta.get("name") is not None and "name" in path:
            meta["name"] = path["name"]
    return case


def _refused_beyond_the_schema(case: Case[Any], engine: Engine) -> bool:
    """Whether the API's rules (``api.spec``, the one copy) refuse this valid-by-schema spec
        for what a document cannot state: a rule on the result of a merge patch (it depends on
        the stored object), a secret-looking data key, the spec's 64 KiB; a rollback to a version
    that is not one of the key's revisions."""
    body = case.body
    if not _positive(case) or not isinstance(body, dict):
        return False
    if case.path.endswith("/rollback"):
        return not _a_revision_of_the_key(case, engine, body.get("toVersion"))
    if "spec" not in body:
        return False
    spec = body["spec"]
    if case.method == "PATCH":
        path = case.path_parameters or {}
        row = reading.get_appconfig(engine, namespace=path["namespace"], name=path["name"])
        if row is None:
            return False
        spec = merge_patch(row.spec, spec)
    return bool(validate_spec(spec)[1])


def _a_revision_of_the_key(case: Case[Any], engine: Engine, version: Any) -> bool:
    """A rollback's ``toVersion`` must name a revision of this key, not its delete: what
    the stored history holds, which the document cannot state (the API answers 422)."""
    path = case.path_parameters or {}
    revisions = reading.list_revisions(engine, namespace=path["namespace"], name=path["name"])
    if not revisions:
        return True  # no history: 404, an answer valid data may get
    return any(r.seq == version and r.op != "delete" for r in revisions)


def _written(engine: Engine) -> tuple[int, dict[str, int]]:
    return current_seq(engine), count_rows(engine)


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_the_api_keeps_its_openapi_contract(
    case: Case[Any], contract_app: FastAPI, contract_engine: Engine
) -> None:
    refused = _refused_beyond_the_schema(case, contract_engine)
    before = _written(contract_engine)
    response = case.call(app=contract_app)
    if 400 <= response.status_code < 500:
        assert _written(contract_engine) == before, (
            f"{case.method} {case.formatted_path} answered {response.status_code} and wrote"
        )
    excluded = []
    if refused:
        assert response.status_code == 422, response.text
        excluded.append(positive_data_acceptance)
    case.validate_response(
        response, excluded_checks=excluded, transport_kwargs={"app": contract_app}
    )
