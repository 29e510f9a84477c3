"""``syncs list`` weighs each key over the targets its routing names, as the API's status
does: a key is Synced once its routed targets hold its version, and a live key no rule
routes is Failed with the reason."""

from __future__ import annotations

from types import SimpleNamespace

from persistence import syncstatus, writing
from persistence.migrating import upgrade
from rendersync.ops.context import Ops
from rendersync.ops.summaries import from_database
from rendersync.settings import Settings
from vocabulary import PHASE_FAILED, PHASE_SYNCED, PHASE_SYNCING
from vocabulary.routing import unrouted_reason


def _settings(sqlite_url: str, routes: list[dict[str, object]]) -> Settings:
    return Settings.model_validate(
        {
            "db": {"url": sqlite_url},
            "targets": {
                "prod": {"kind": "kubernetes"},
                "staging": {"kind": "kubernetes"},
                "gitops-prod": {"kind": "git"},
            },
            "routes": routes,
        }
    )


def _create(ops: Ops, name: str, environment: str) -> int:
    spec = {"app": "web", "environment": environment, "replicas": 2}
    content = writing.Content(spec, {}, {})
    row = writing.create_appconfig(ops.engine, namespace="team-a", name=name, content=content,
                                   actor="test")  # fmt: skip
    return row.seq


def _applied(ops: Ops, name: str, target: str, version: int) -> None:
    syncstatus.record_applied(ops.engine, namespace="team-a", name=name, target=target,
                              version=version, detail="d")  # fmt: skip


def test_syncs_list_weighs_each_key_over_its_routed_targets(sqlite_url: str) -> None:
    unrouted = Ops(_settings(sqlite_url, []))
    upgrade(unrouted.engine)
    dev = _create(unrouted, "dev-web", "dev")  # written before the rules said otherwise
    unrouted.close()
    ops = Ops(_settings(sqlite_url, [{"environment": "prod", "targets": ["prod", "gitops-prod"]}]))
    try:
        version = _create(ops, "web", "prod")
        _applied(ops, "web", "prod", version)
        _applied(ops, "dev-web", "staging", dev)
        listed = {s.key: s for s in from_database(ops, namespace="team-a")}
        assert (listed["team-a/web"].phase, listed["team-a/web"].applied_version) == (
            PHASE_SYNCING,
            0,
        )
        _applied(ops, "web", "gitops-prod", version)
        listed = {s.key: s for s in from_database(ops, namespace="team-a")}
        assert (listed["team-a/web"].phase, listed["team-a/web"].applied_version) == (
            PHASE_SYNCED,
            version,
        )
        item = SimpleNamespace(namespace="team-a", spec={"environment": "dev"}, labels={})
        assert listed["team-a/dev-web"].phase == PHASE_FAILED
        assert listed["team-a/dev-web"].last_error == unrouted_reason(item)
    finally:
        ops.close()
