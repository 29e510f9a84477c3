"""Where a Git target keeps its files: a path template, and optionally a Kustomize index.

A path template names the file of a key from its ``{namespace}``, ``{name}`` and, when the
target places keys by environment, ``{environment}``
(``clusters/{environment}/appconfigs/{namespace}/{name}.yaml``). A target with a
``kustomization`` folder keeps that folder's ``kustomization.yaml`` listing every file of the
target under it (the resources it lists that are not the target's are kept), so the folder
is a Kustomize overlay a GitOps tool can build as it is.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from gitops.yamlreading import load_yaml
from vocabulary import GIT_ROOT

#: Today's layout: one folder per namespace under ``appconfigs/``.
DEFAULT_PATH = GIT_ROOT + "/{namespace}/{name}.yaml"
PLACEHOLDERS = ("namespace", "name", "environment")
KUSTOMIZATION_FILE = "kustomization.yaml"
KUSTOMIZATION_HEADER = {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization"}


@dataclass(frozen=True)
class GitLayout:
    path: str = DEFAULT_PATH
    #: The folder whose ``kustomization.yaml`` lists the target's files ("": none).
    kustomization: str = ""

    @property
    def by_environment(self) -> bool:
        """Whether a key's file depends on its environment (an environment change moves it)."""
        return "environment" in self._fields()

    @property
    def root(self) -> str:
        """The folder holding every file of the target (the template's fixed leading part)."""
        fixed = self.path.split("{", 1)[0]
        return fixed.rsplit("/", 1)[0] if "/" in fixed else ""

    def file(self, namespace: str, name: str, environment: str = "") -> str:
        return self.path.format(namespace=namespace, name=name, environment=environment)

    def key_of(self, relpath: str) -> tuple[str, str, str] | None:
        """The (namespace, name, environment) whose file ``relpath`` is, if it is one."""
        found = self._pattern().fullmatch(relpath)
        if found is None:
            return None
        groups = found.groupdict()
        return groups["namespace"], groups["name"], groups.get("environment") or ""

    def files(self, workdir: Path) -> list[str]:
        """Every file of the target in the clone at ``workdir`` (relative, sorted)."""
        base = workdir / self.root
        if not base.is_dir():
            return []
        found = (p.relative_to(workdir).as_posix() for p in base.rglob("*.yaml"))
        return sorted(p for p in found if self.key_of(p) is not None)

    def problems(self) -> list[str]:
        """Why this layout cannot work, one line each (checked at start)."""
        try:
            fields = self._fields()
        except ValueError as err:
            return [f"path {self.path!r} is not a template: {err}"]
        known = ", ".join(PLACEHOLDERS)
        problems = [
            f"path {self.path!r} uses unknown placeholder {{{f}}}; known: {known}"
            for f in fields
            if f not in PLACEHOLDERS
        ]
        if not {"namespace", "name"} <= set(fields):
            problems.append(f"path {self.path!r} must use both {{namespace}} and {{name}}")
        if not self.path.endswith(".yaml") or self.path.startswith("/") or ".." in self.path:
            problems.append(f"path {self.path!r} must be relative and end in .yaml")
        if self.kustomization and not PurePosixPath(self.root).is_relative_to(self.kustomization):
            problems.append(
                f"path {self.path!r} is not under its kustomization folder {self.kustomization!r}"
            )
        return problems

    def index(self, workdir: Path) -> str | None:
        """Rewrite the kustomization file to list the target's files now in the clone at
        ``workdir``; its relative path when that changed the file (None when it already did,
        or without a kustomization folder)."""
        if not self.kustomization:
            return None
        index = PurePosixPath(self.kustomization) / KUSTOMIZATION_FILE
        target = workdir / index
        document: dict[str, Any] = dict(KUSTOMIZATION_HEADER)
        held = target.read_text(encoding="utf-8") if target.exists() else None
        if held is not None:
            loaded = load_yaml(held)
            if isinstance(loaded, dict):
                document = loaded
        ours = [
            PurePosixPath(f).relative_to(self.kustomization).as_posix() for f in self.files(workdir)
        ]
        kept = [
            r
            for r in document.get("resources") or []
            if not isinstance(r, str) or self.key_of(f"{self.kustomization}/{r}") is None
        ]
        document["resources"] = kept + ours
        text = yaml.safe_dump(document, sort_keys=False)
        if text == held:
            return None
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        return index.as_posix()

    def _fields(self) -> list[str]:
        return [f for _, f, _, _ in string.Formatter().parse(self.path) if f is not None]

    def _pattern(self) -> re.Pattern[str]:
        parts, seen = [], set()
        for literal, field, _, _ in string.Formatter().parse(self.path):
            parts.append(re.escape(literal))
            if field is not None:
                parts.append(f"(?P<{field}>[^/]+)" if field not in seen else "[^/]+")
                seen.add(field)
        return re.compile("".join(parts))
