"""Where changes arrive: the emulator's watch stream and the Git remote's push log.

Kubernetes: one watch over all AppConfigs; each event is stamped with the wall clock when the
line is read, and the first time a key shows a higher ``rendersync.dev/version`` is that
version's arrival. Git: the bare remote's post-receive hook stamps every push (bash
``$EPOCHREALTIME``, microseconds) with its old and new tips; the commits in between carry
``apply <key> @ <version>`` in their messages, so each version gets the time its push landed.
Commit dates are not used: Git records them in whole seconds.
"""

from __future__ import annotations

import asyncio
import bisect
import json
import re
import subprocess
import time
from collections import Counter
from pathlib import Path

import httpx

from vocabulary import API_VERSION, PLURAL, TARGET_GIT, TARGET_KUBERNETES, VERSION_ANNOTATION

WATCH_PATH = f"/apis/{API_VERSION}/{PLURAL}"
_APPLY = re.compile(r"apply (\S+) @ (\d+)")
_ZERO = "0" * 40


class Arrivals:
    """Per key: the versions a target held, each with the time it first held it."""

    def __init__(self) -> None:
        self.versions: dict[str, list[int]] = {}
        self.times: dict[str, list[float]] = {}
        self.writes: Counter[str] = Counter()

    def record(self, key: str, version: int, at: float) -> None:
        self.writes[key] += 1
        known = self.versions.setdefault(key, [])
        if known and version <= known[-1]:
            return
        known.append(version)
        self.times.setdefault(key, []).append(at)

    def latest(self, key: str) -> int:
        known = self.versions.get(key)
        return known[-1] if known else 0

    def first_at_least(self, key: str, version: int) -> float | None:
        """When the target first held ``version`` or a newer one (the change was reflected)."""
        known = self.versions.get(key, [])
        index = bisect.bisect_left(known, version)
        return self.times[key][index] if index < len(known) else None

    def holds(self, finals: dict[str, int]) -> bool:
        return all(self.latest(key) >= version for key, version in finals.items())


class KubeWatch:
    """Follows the emulator's watch stream until cancelled; resumes after a dropped stream."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.arrivals = Arrivals()
        self.modified: Counter[str] = Counter()
        self.resource_version = ""
        self.connected = asyncio.Event()

    async def run(self) -> None:
        async with httpx.AsyncClient(base_url=self.url, timeout=None) as client:
            for _attempt in range(1000):
                params = {"watch": "true", "timeoutSeconds": "3600"}
                if self.resource_version:
                    params["resourceVersion"] = self.resource_version
                async with client.stream("GET", WATCH_PATH, params=params) as response:
                    self.connected.set()
                    async for line in response.aiter_lines():
                        if line:
                            self._event(json.loads(line), time.time())
                await asyncio.sleep(0.1)

    def _event(self, event: dict[str, object], at: float) -> None:
        kind, obj = event.get("type"), event.get("object")
        if not isinstance(obj, dict):
            return
        meta = obj.get("metadata", {})
        if kind == "ERROR":
            self.resource_version = ""  # expired: start over with a fresh list
            return
        self.resource_version = str(meta.get("resourceVersion", ""))
        if kind == "DELETED":
            return
        key = f"{meta.get('namespace', '')}/{meta.get('name', '')}"
        if kind == "MODIFIED":
            self.modified[key] += 1
        version = (meta.get("annotations") or {}).get(VERSION_ANNOTATION)
        if version is not None:
            self.arrivals.record(key, int(version), at)


class GitPushes:
    """Reads the remote's push log and attributes every pushed commit's versions to it."""

    def __init__(self, remote: Path, hook_log: Path) -> None:
        self.remote = remote
        self.hook_log = hook_log
        self.arrivals = Arrivals()
        self.commits: Counter[str] = Counter()
        self.pushes = 0
        self._offset = 0

    def poll(self) -> None:
        """Take in pushes logged since the last poll (blocking: run it in a thread)."""
        with self.hook_log.open("rb") as fh:
            fh.seek(self._offset)
            data = fh.read()
        complete = data[: data.rfind(b"\n") + 1]
        self._offset += len(complete)
        lines = [line.split() for line in complete.decode().splitlines() if line.strip()]
        if lines:
            self._attribute(lines)

    def _attribute(self, pushes: list[list[str]]) -> None:
        self.pushes += len(pushes)
        first_old, last_new = pushes[0][1], pushes[-1][2]
        span = last_new if first_old == _ZERO else f"{first_old}..{last_new}"
        commits = self._log(span)
        position = {sha: index for index, (sha, _body) in enumerate(commits)}
        done = 0
        for stamp, _old, new, _ref in pushes:
            end = position.get(new, -1) + 1
            for _sha, body in commits[done:end]:
                for key, version in _APPLY.findall(body):
                    self.commits[key] += 1
                    self.arrivals.record(key, int(version), float(stamp))
            done = max(done, end)

    def _log(self, span: str) -> list[tuple[str, str]]:
        argv = ["git", "--git-dir", str(self.remote), "log", "--reverse"]
        argv += ["--format=%H%x1f%B%x1e", span]
        out = subprocess.run(argv, capture_output=True, text=True, check=True, timeout=120)
        entries = [entry.strip() for entry in out.stdout.split("\x1e") if entry.strip()]
        return [(sha, body) for sha, _, body in (e.partition("\x1f") for e in entries)]


class Targets:
    """The observers of the targets a scenario syncs to."""

    def __init__(self, kube: KubeWatch, git: GitPushes | None) -> None:
        self.kube = kube
        self.git = git

    def by_name(self) -> dict[str, Arrivals]:
        found = {TARGET_KUBERNETES: self.kube.arrivals}
        if self.git is not None:
            found[TARGET_GIT] = self.git.arrivals
        return found

    async def converge(self, finals: dict[str, int], *, timeout_s: float) -> bool:
        """Wait until every target holds every key's final version; False at the deadline."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.git is not None:
                await asyncio.to_thread(self.git.poll)
            if all(a.holds(finals) for a in self.by_name().values()):
                return True
            await asyncio.sleep(0.25)
        return False
