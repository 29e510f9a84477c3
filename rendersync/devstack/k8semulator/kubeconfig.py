"""The kubeconfig that points kubectl and kubernetes-asyncio at one or more emulators."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

CONTEXT = "rendersync-emulator"
DEFAULT_TOKEN = "emulator"


def clusters_kubeconfig(
    servers: Mapping[str, str], *, namespace: str = "default", token: str = DEFAULT_TOKEN
) -> dict[str, Any]:
    """A kubeconfig with one context per emulator of ``servers`` (context name → URL), each
    with a cluster and a user of that name; the first is the current context."""
    # The emulator does no authentication; the token keeps clients that insist on
    # credentials happy, and names the client in the request log.
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": name, "cluster": {"server": url}} for name, url in servers.items()],
        "users": [{"name": name, "user": {"token": token}} for name in servers],
        "contexts": [
            {"name": name, "context": {"cluster": name, "user": name, "namespace": namespace}}
            for name in servers
        ],
        "current-context": next(iter(servers)),
        "preferences": {},
    }


def kubeconfig_dict(
    url: str, *, namespace: str = "default", token: str = DEFAULT_TOKEN
) -> dict[str, Any]:
    """A kubeconfig for the one emulator at ``url``, context :data:`CONTEXT`."""
    return clusters_kubeconfig({CONTEXT: url}, namespace=namespace, token=token)


def write_kubeconfig(path: Path, url: str, *, token: str = DEFAULT_TOKEN) -> Path:
    """Write :func:`kubeconfig_dict` for ``url`` to ``path`` (see :func:`write_kubeconfig_dict`)."""
    return write_kubeconfig_dict(path, kubeconfig_dict(url, token=token))


def write_kubeconfig_dict(path: Path, config: Mapping[str, Any]) -> Path:
    """Write atomically (readers never see half a file), readable by the owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(yaml.safe_dump(dict(config), sort_keys=False), encoding="utf-8")
    os.chmod(tmp, 0o600)
    tmp.replace(path)
    return path
