"""The kubeconfig that points kubectl and kubernetes-asyncio at an emulator."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

CONTEXT = "rendersync-emulator"
DEFAULT_TOKEN = "emulator"


def kubeconfig_dict(
    url: str, *, namespace: str = "default", token: str = DEFAULT_TOKEN
) -> dict[str, Any]:
    # The emulator does no authentication; the token keeps clients that insist on
    # credentials happy, and names the client in the request log.
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": CONTEXT, "cluster": {"server": url}}],
        "users": [{"name": CONTEXT, "user": {"token": token}}],
        "contexts": [
            {
                "name": CONTEXT,
                "context": {"cluster": CONTEXT, "user": CONTEXT, "namespace": namespace},
            }
        ],
        "current-context": CONTEXT,
        "preferences": {},
    }


def write_kubeconfig(path: Path, url: str, *, token: str = DEFAULT_TOKEN) -> Path:
    """Write atomically (readers never see half a file), readable by the owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    text = yaml.safe_dump(kubeconfig_dict(url, token=token), sort_keys=False)
    tmp.write_text(text, encoding="utf-8")
    os.chmod(tmp, 0o600)
    tmp.replace(path)
    return path
