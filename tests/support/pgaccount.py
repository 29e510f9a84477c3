"""Which OS account runs the embedded PostgreSQL server, and from which binaries.

PostgreSQL refuses to run as root ("root execution of the PostgreSQL server is not
permitted"). As root, the server therefore runs as ``nobody`` (present on practically every
Linux system); only if that account is missing is a ``rendersync-pg`` system user added. If the
account cannot execute the binaries where the wheel installed them (e.g. a virtualenv under
a ``0700`` home directory), they are copied into the server's private run directory rather than
widening permissions on the caller's directories.
"""

from __future__ import annotations

import logging
import os
import pwd
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)

_CANDIDATES = ("nobody",)
_FALLBACK_USER = "rendersync-pg"


@dataclass(frozen=True)
class Account:
    """``user`` to run the server as (``None``: the current user) and its ``bin_dir``."""

    user: str | None
    bin_dir: Path


def runtime_account(run_dir: Path, pginstall: Path) -> Account:
    """Choose the account for a server whose private files live in ``run_dir``.

    As root, ``run_dir`` is handed to the chosen account. Idempotent for a given ``run_dir``.
    """
    if os.geteuid() != 0:
        return Account(None, pginstall / "bin")
    user = unprivileged_user()
    shutil.chown(run_dir, user, pwd.getpwnam(user).pw_gid)
    if _can_execute(user, pginstall / "bin" / "postgres"):
        return Account(user, pginstall / "bin")
    logger.info("%s cannot execute %s; copying the PostgreSQL binaries", user, pginstall)
    return Account(user, copy_pginstall(pginstall, run_dir / "site") / "bin")


def copy_pginstall(pginstall: Path, site: Path) -> Path:
    """Copy the wheel's ``pgserver/pginstall`` (without headers) into ``site``; return the copy.

    Keeps the wheel's layout, because the binaries find the bundled libpq through the relative
    RPATH ``$ORIGIN/../../../pgserver.libs``.
    """
    copy = site / "pgserver" / "pginstall"
    for part in ("bin", "lib", "share"):
        shutil.copytree(pginstall / part, copy / part, symlinks=True, dirs_exist_ok=True)
    libs = pginstall.parent.parent / "pgserver.libs"
    if libs.is_dir():
        shutil.copytree(libs, site / "pgserver.libs", symlinks=True, dirs_exist_ok=True)
    return copy


def unprivileged_user() -> str:
    """Name of an existing unprivileged account, adding a system user if there is none."""
    for name in _CANDIDATES:
        try:
            if pwd.getpwnam(name).pw_uid != 0:
                return name
        except KeyError:
            continue
    try:
        pwd.getpwnam(_FALLBACK_USER)
    except KeyError:
        logger.warning("no unprivileged account found; adding system user %s", _FALLBACK_USER)
        argv = ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin"]
        subprocess.run([*argv, _FALLBACK_USER], check=True, capture_output=True)
    return _FALLBACK_USER


def _can_execute(user: str, binary: Path) -> bool:
    try:
        result = subprocess.run(
            [str(binary), "--version"], user=user, capture_output=True, timeout=30
        )
    except OSError:
        return False
    return result.returncode == 0
