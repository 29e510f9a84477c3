"""Fixtures for authentication and authorization: an app with a given AuthConfig, tokens,
and an OIDC issuer of our own (an RSA key pair made here, its JWKS served on loopback)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from api.web.app import create_app
from api.web.auth.config import AuthConfig, Authenticator
from api.web.auth.policy import PolicyAuthorizer
from api.web.auth.tokenauth import ApiTokenAuthenticator
from persistence import apitokens
from persistence.rolebindings import GROUP, USER, Binding
from tests.support.builders import body

ISSUER = "https://issuer.test"
AUDIENCE = "rendersync"


#: The body of a create request.
appconfig = body


def items(namespace: str) -> str:
    return f"/api/v1/namespaces/{namespace}/appconfigs"


@pytest.fixture
def engine(sqlite_engine: Engine) -> Engine:
    return sqlite_engine


def auth_app(
    engine: Engine,
    *,
    authenticators: tuple[Authenticator, ...] | None = None,
    bindings: tuple[Binding, ...] = (),
    **options: Any,
) -> FastAPI:
    config = AuthConfig(
        authenticators=authenticators or (ApiTokenAuthenticator(engine),),
        authorizers=(PolicyAuthorizer(file_bindings=bindings, engine=engine),),
        **options,
    )
    return create_app(engine=engine, targets=("kubernetes",), ui_url="http://ui.test", auth=config)


def client_of(app: FastAPI, peer: str = "testclient") -> TestClient:
    return TestClient(app, raise_server_exceptions=False, client=(peer, 50000))


def token_for(engine: Engine, user: str, *groups: str, expires_in: timedelta | None = None) -> str:
    return apitokens.issue(engine, principal=user, groups=list(groups), expires_in=expires_in).token


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def user(role: str, name: str, namespace: str = "") -> Binding:
    return Binding(role, namespace, USER, name)


def group(role: str, name: str, namespace: str = "") -> Binding:
    return Binding(role, namespace, GROUP, name)


class Issuer:
    """An OIDC issuer: RSA keys by kid, a JWKS it serves, and tokens it signs."""

    def __init__(self) -> None:
        self.keys: dict[str, rsa.RSAPrivateKey] = {}
        self.published: list[str] = []
        self.fetches = 0
        self.add_key("k1")

    def add_key(self, kid: str, *, publish: bool = True) -> None:
        self.keys[kid] = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        if publish:
            self.published.append(kid)

    def jwks(self) -> dict[str, Any]:
        keys = []
        for kid in self.published:
            jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.keys[kid].public_key()))
            keys.append({**jwk, "kid": kid, "use": "sig", "alg": "RS256"})
        return {"keys": keys}

    def claims(self, **overrides: Any) -> dict[str, Any]:
        now = int(time.time())
        base = {"iss": ISSUER, "aud": AUDIENCE, "sub": "carol", "groups": ["oidc-devs"]}
        return {**base, "iat": now, "exp": now + 300, **overrides}

    def token(self, kid: str = "k1", **overrides: Any) -> str:
        claims = {k: v for k, v in self.claims(**overrides).items() if v is not None}
        return jwt.encode(claims, self.keys[kid], algorithm="RS256", headers={"kid": kid})


@pytest.fixture
def issuer() -> Issuer:
    return Issuer()


@pytest.fixture
def jwks_url(issuer: Issuer) -> Iterator[str]:
    """The issuer's JWKS on a loopback HTTP server (counts its fetches)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            issuer.fetches += 1
            body = json.dumps(issuer.jwks()).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/jwks.json"
    server.shutdown()
    thread.join(timeout=10)
