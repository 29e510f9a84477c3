"""The dev stack's state directory: where ``rendersync dev`` records its endpoints.

``<state-dir>/endpoints.json`` holds ``{"env": {RENDERSYNC_* variable: value}, "urls": {name:
url}}``. Every operations command given ``--state-dir`` builds its Settings from that env
(on top of the process environment), so it acts on the dev stack running there.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from rendersync.settings import Settings, settings_from_env

ENDPOINTS_FILE = "endpoints.json"


def write_endpoints(state_dir: Path, *, env: dict[str, str], urls: dict[str, str]) -> Path:
    path = state_dir / ENDPOINTS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"env": env, "urls": urls}, indent=2, sort_keys=True))
    tmp.replace(path)
    return path


def read_endpoints(state_dir: Path) -> dict[str, dict[str, str]]:
    path = state_dir / ENDPOINTS_FILE
    if not path.exists():
        raise FileNotFoundError(
            f"{path} not found: is `rendersync dev --state-dir {state_dir}` running?"
        )
    data: dict[str, dict[str, str]] = json.loads(path.read_text())
    return data


def settings_for(state_dir: Path | None) -> Settings:
    """Settings from the environment, or those of the dev stack recorded in ``state_dir``
    (its variables on top of the process environment, which is left unchanged)."""
    if state_dir is None:
        return Settings()
    return settings_from_env({**os.environ, **read_endpoints(state_dir)["env"]})
