"""OIDC JWTs against a JWKS served on loopback (valid, expired, wrong audience and issuer,
unknown key and key rotation, ``alg: none``, HS256 signed with the RSA public key), a JWKS
file, and request-header authentication from a trusted proxy only."""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from sqlalchemy import Engine

from api.web.auth.oidc import KeyCache, OidcAuthenticator, OidcOptions, file_source, url_source
from api.web.auth.proxy import TrustedProxyAuthenticator
from api.web.auth.tokenauth import ApiTokenAuthenticator
from tests.api.auth.conftest import (
    AUDIENCE,
    ISSUER,
    Issuer,
    appconfig,
    auth_app,
    bearer,
    client_of,
    group,
    items,
    user,
)

NS = items("default")


def oidc(source: Any, *, refresh_s: float = 0.0) -> OidcAuthenticator:
    options = OidcOptions(issuer=ISSUER, audience=AUDIENCE, algorithms=("RS256",))
    return OidcAuthenticator(options, KeyCache(source, min_refresh_s=refresh_s))


def oidc_client(engine: Engine, authenticator: OidcAuthenticator) -> Any:
    app = auth_app(
        engine,
        authenticators=(ApiTokenAuthenticator(engine), authenticator),
        bindings=(group("editor", "oidc-devs", "default"),),
    )
    return client_of(app)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forged_hs256(issuer: Issuer) -> str:
    """HS256 'signed' with the issuer's public key as the HMAC secret (alg confusion)."""
    pem = (
        issuer.keys["k1"]
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    head = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "k1"}).encode())
    body = b64(json.dumps(issuer.claims(sub="mallory")).encode())
    signature = hmac.new(pem, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64(signature)}"


def unsigned(issuer: Issuer) -> str:
    head = b64(json.dumps({"alg": "none", "typ": "JWT", "kid": "k1"}).encode())
    return f"{head}.{b64(json.dumps(issuer.claims(sub='mallory')).encode())}."


def test_valid_jwt_gives_username_and_groups(engine: Engine, issuer: Issuer, jwks_url: str) -> None:
    client = oidc_client(engine, oidc(url_source(jwks_url)))
    token = issuer.token()
    created = client.post(NS, json=appconfig("web"), headers=bearer(token))
    assert created.status_code == 201, created.text
    who = client.get("/api/v1/whoami", headers=bearer(token)).json()["status"]
    assert who == {
        "userInfo": {"username": "carol", "groups": ["oidc-devs"]},
        "authenticator": "oidc",
    }


@pytest.mark.parametrize(
    "case",
    [
        "expired",
        "wrong audience",
        "wrong issuer",
        "no exp",
        "no aud",
        "alg none",
        "hs256 confusion",
        "tampered",
    ],
)
def test_bad_jwts_are_one_401(engine: Engine, issuer: Issuer, jwks_url: str, case: str) -> None:
    client = oidc_client(engine, oidc(url_source(jwks_url)))
    tokens = {
        "expired": lambda: issuer.token(exp=1_000_000, iat=999_000),
        "wrong audience": lambda: issuer.token(aud="someone-else"),
        "wrong issuer": lambda: issuer.token(iss="https://evil.test"),
        "no exp": lambda: issuer.token(exp=None),
        "no aud": lambda: issuer.token(aud=None),
        "alg none": lambda: unsigned(issuer),
        "hs256 confusion": lambda: forged_hs256(issuer),
        "tampered": lambda: issuer.token()[:-6] + "AAAAAA",
    }
    reply = client.get(NS, headers=bearer(tokens[case]()))
    assert reply.status_code == 401
    assert reply.json()["message"] == "Unauthorized"


def test_unknown_kid_refreshes_the_key_set_once(
    engine: Engine, issuer: Issuer, jwks_url: str
) -> None:
    client = oidc_client(engine, oidc(url_source(jwks_url), refresh_s=0.0))
    assert client.get(NS, headers=bearer(issuer.token())).status_code == 200
    fetched = issuer.fetches
    issuer.add_key("k2", publish=False)
    assert client.get(NS, headers=bearer(issuer.token("k2"))).status_code == 401
    assert issuer.fetches == fetched + 1  # tried a refresh, found no such key
    issuer.published.append("k2")  # the issuer rotates: the new key is published
    assert client.get(NS, headers=bearer(issuer.token("k2"))).status_code == 200
    again = issuer.fetches
    assert client.get(NS, headers=bearer(issuer.token("k2"))).status_code == 200
    assert issuer.fetches == again  # cached


def test_unknown_kids_do_not_flood_the_issuer(
    engine: Engine, issuer: Issuer, jwks_url: str
) -> None:
    client = oidc_client(engine, oidc(url_source(jwks_url), refresh_s=3600))
    assert client.get(NS, headers=bearer(issuer.token())).status_code == 200
    fetched = issuer.fetches
    issuer.add_key("k9", publish=False)
    for _ in range(5):
        assert client.get(NS, headers=bearer(issuer.token("k9"))).status_code == 401
    assert issuer.fetches == fetched


def test_jwks_file(engine: Engine, issuer: Issuer, tmp_path: Path) -> None:
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(issuer.jwks()))
    client = oidc_client(engine, oidc(file_source(path)))
    assert client.get(NS, headers=bearer(issuer.token())).status_code == 200
    assert client.get(NS, headers=bearer(issuer.token(aud="x"))).status_code == 401


def proxy_app(engine: Engine, secret: str | None) -> Any:
    proxy = TrustedProxyAuthenticator(networks=[ipaddress.ip_network("10.1.0.0/16")], secret=secret)
    return auth_app(engine, authenticators=(proxy,), bindings=(user("editor", "dave", "default"),))


def test_proxy_headers_only_from_the_trusted_peer(engine: Engine) -> None:
    app = proxy_app(engine, secret=None)
    headers = {"x-remote-user": "dave", "x-remote-group": "a, b"}
    trusted = client_of(app, "10.1.2.3")
    assert trusted.post(NS, json=appconfig("web"), headers=headers).status_code == 201
    history = trusted.get(f"{NS}/web/history", headers=headers).json()["items"]
    assert history[0]["actor"] == "dave"
    who = trusted.get("/api/v1/whoami", headers=headers).json()["status"]["userInfo"]
    assert who == {"username": "dave", "groups": ["a", "b"]}
    outsider = client_of(app, "192.168.1.1")
    assert outsider.get(NS, headers=headers).status_code == 401
    forwarded = {**headers, "x-forwarded-for": "10.1.2.3"}
    assert outsider.get(NS, headers=forwarded).status_code == 401


def test_proxy_secret_is_required_when_configured(engine: Engine) -> None:
    client = client_of(proxy_app(engine, secret="s3cret"), "10.1.2.3")
    headers = {"x-remote-user": "dave"}
    assert client.get(NS, headers=headers).status_code == 401
    assert client.get(NS, headers={**headers, "x-remote-proxy-secret": "nope"}).status_code == 401
    ok = client.get(NS, headers={**headers, "x-remote-proxy-secret": "s3cret"})
    assert ok.status_code == 200
