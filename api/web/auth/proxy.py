"""Request-header authentication: ``X-Remote-User``/``X-Remote-Group`` from a trusted proxy.

The proxy is identified by the TCP peer address of the connection (one of the configured
CIDRs; never ``X-Forwarded-For``, which a client writes) and, when a shared secret is
configured, by ``X-Remote-Proxy-Secret`` holding it (compared in constant time). From any
other peer the headers are ignored: they never name the caller.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Sequence

from api.web.auth.principals import Credentials, InvalidCredentialError, Principal

USER_HEADER = "x-remote-user"
GROUP_HEADER = "x-remote-group"
SECRET_HEADER = "x-remote-proxy-secret"

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class TrustedProxyAuthenticator:
    name = "proxy"

    def __init__(self, *, networks: Sequence[Network], secret: str | None) -> None:
        self.networks = tuple(networks)
        self.secret = secret

    def trusts(self, credentials: Credentials) -> bool:
        try:
            peer = ipaddress.ip_address(credentials.peer or "")
        except ValueError:
            return False
        return any(peer in network for network in self.networks)

    async def authenticate(self, credentials: Credentials) -> Principal | None:
        user = credentials.headers.get(USER_HEADER, "").strip()
        if not user or not self.trusts(credentials):
            return None
        if self.secret is not None:
            offered = credentials.headers.get(SECRET_HEADER, "")
            if not hmac.compare_digest(offered.encode(), self.secret.encode()):
                raise InvalidCredentialError("proxy secret missing or wrong")
        groups = credentials.headers.get(GROUP_HEADER, "")
        names = tuple(g.strip() for g in groups.split(",") if g.strip())
        return Principal(user[:253], names, self.name)
