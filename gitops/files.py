"""Files in the GitOps working clone: the version fence's reading side and path checks."""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import yaml

from gitops.command import GitPermanentError
from gitops.layout import GitLayout
from gitops.yamlreading import load_yaml
from vocabulary import VERSION_ANNOTATION, RowCheck

logger = logging.getLogger(__name__)


def check_path(path: str) -> None:
    """Reject paths that would leave the working tree or touch git's own files."""
    parts = PurePosixPath(path).parts
    if not parts or path.startswith("/") or "\\" in path or ".." in parts or parts[0] == ".git":
        raise GitPermanentError(f"invalid repository path {path!r}")


def file_version(target: Path) -> int | None:
    """The ``rendersync.dev/version`` annotation of the file at ``target``.

    None if the file is missing or carries no readable version: such a file was not written
    by us (or was edited by hand), and the path belongs to rendersync, so it is overwritten.
    """
    try:
        document = load_yaml(target.read_text(encoding="utf-8"))
        return int(document["metadata"]["annotations"][VERSION_ANNOTATION])
    except FileNotFoundError:
        return None
    except (yaml.YAMLError, TypeError, KeyError, ValueError, UnicodeDecodeError):
        logger.warning("%s has no readable %s annotation", target.name, VERSION_ANNOTATION)
        return None


def write_change(workdir: Path, change: Change) -> bool:
    """Write ``change`` into the clone at ``workdir`` unless the clone already holds it;
    whether it wrote. The clone holds the branch tip's content, or an earlier change of the
    same batch."""
    target = workdir / change.path
    if change.content is None:
        if not target.exists():
            return False
        target.unlink()
        return True
    return _write_if_changed(target, change.content)


def _write_if_changed(target: Path, content: str) -> bool:
    """Write ``content`` (UTF-8) to ``target`` unless it holds exactly that; whether it wrote."""
    new = content.encode("utf-8")
    try:
        if target.read_bytes() == new:
            return False
    except FileNotFoundError:
        target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(new)
    return True


@dataclass(frozen=True)
class Change:
    """One file write (``content``) or removal (``None``) at ``version``. ``row_check`` is
    evaluated when the change is staged, under the repository lock (see ``RowCheck``)."""

    path: str
    content: str | None  # None removes the file
    version: int
    message: str
    row_check: RowCheck | None = None
    #: The layout of the file's target: its kustomization file is kept current with it.
    layout: GitLayout | None = None


class Staged(enum.Enum):
    SUPERSEDED = "superseded"
    SKIPPED_NEWER = "skipped_newer"
    UNCHANGED = "unchanged"
    STAGED = "staged"


def batch_message(changes: list[Change], staged: list[Staged]) -> str:
    """The commit message: the change's own for one, a summary naming each for several."""
    messages = [c.message for c, s in zip(changes, staged, strict=True) if s is Staged.STAGED]
    if len(messages) == 1:
        return messages[0]
    return f"rendersync: {len(messages)} changes\n\n" + "\n\n".join(messages)
