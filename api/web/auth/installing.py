"""Putting the auth layer on an app: state, error handler, audit middleware, ``whoami``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse

from api.web.auth.authenticating import Authentication, AuthError
from api.web.auth.authorizing import AuthenticatedDep
from api.web.auth.config import AuthConfig
from api.web.auth.principals import Principal
from api.web.httperrors import status_body
from api.web.models import SelfSubjectReview, error_responses
from vocabulary import API_VERSION

whoami_router = APIRouter(prefix="/api/v1", tags=["auth"])


@whoami_router.get("/whoami", response_model=SelfSubjectReview, responses=error_responses(401, 429))
async def whoami(request: Request, principal: Principal = AuthenticatedDep) -> dict[str, Any]:
    """Who the API takes the caller for (as Kubernetes' SelfSubjectReview)."""
    return {
        "apiVersion": API_VERSION,
        "kind": "SelfSubjectReview",
        "status": {
            "userInfo": {"username": principal.name, "groups": list(principal.groups)},
            "authenticator": principal.authenticator,
        },
    }


def install_auth(app: FastAPI, config: AuthConfig) -> None:
    """Attach ``config``; the caller adds ``guard`` to the routes it protects."""
    app.state.authentication = Authentication(config)

    @app.exception_handler(AuthError)
    async def _auth_error(_request: Request, exc: AuthError) -> JSONResponse:
        return JSONResponse(status_body(exc), status_code=exc.code, headers=exc.headers)

    app.include_router(whoami_router)


async def close_auth(config: AuthConfig) -> None:
    """Close the cluster clients (TokenReview, SubjectAccessReview) of ``config``; the API
    process leaves them to its exit, code that builds apps repeatedly calls this."""
    for part in (*config.authenticators, *config.authorizers):
        closing = getattr(part, "aclose", None)
        if closing is not None:
            await closing()
