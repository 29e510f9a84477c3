"""The dev stack's admin token: made on first start, kept in ``<state-dir>/admin-token``.

The stack's API authenticates like production (API tokens, deny by default), so the first
start issues a token for the principal ``admin``, binds it to the ``admin`` role in every
namespace, and writes it to a file only its owner can read (mode 0600). Later starts keep
the token while the database still accepts it, and issue a new one otherwise.
"""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path

from sqlalchemy import Engine

from persistence import apitokens, rolebindings
from persistence.db import make_engine
from persistence.migrating import upgrade

logger = logging.getLogger(__name__)

ADMIN_TOKEN_FILE = "admin-token"
ADMIN = "admin"


def ensure_admin_token(state_dir: Path, db_file: Path) -> Path | None:
    """The admin token's file, made if missing or no longer valid; None if the database
    cannot be prepared (the API then reports why when it starts)."""
    path = state_dir / ADMIN_TOKEN_FILE
    engine = make_engine(f"sqlite:///{db_file}")
    try:
        upgrade(engine)
        if path.exists() and apitokens.verify(engine, path.read_text().strip()) is not None:
            path.chmod(0o600)
            return path
        token = issue_admin_token(engine, principal=ADMIN, description="rendersync dev")
    except Exception as err:  # the API child migrates too, and names the failure
        logger.warning("could not prepare the admin token: %s", err)
        return None
    finally:
        engine.dispose()
    _write_private(path, token)
    logger.info("issued the admin token into %s", path)
    return path


def issue_admin_token(engine: Engine, *, principal: str, description: str) -> str:
    """A token that never expires for ``principal``, bound to the admin role everywhere."""
    issued = apitokens.issue(
        engine, principal=principal, groups=[], expires_in=None, description=description
    )
    rolebindings.bind(engine, rolebindings.Binding("admin", "", rolebindings.USER, principal))
    return issued.token


def _write_private(path: Path, token: str) -> None:
    tmp = path.with_suffix(".tmp")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(token + "\n")
    tmp.replace(path)
