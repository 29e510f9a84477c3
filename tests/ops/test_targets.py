"""Named targets in the operations CLI, on two Kubernetes emulators routed by environment:
``targets list`` (keys, sync state and health per target, one of them down),
``syncs list --target``, ``resync --target`` and ``resync --prune --target``; and
``targets list`` of the default pair of targets (a Kubernetes cluster and a Git branch)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType

from k8s.applying import apply_appconfig, delete_appconfig
from k8s.manifests import render_appconfig
from persistence.reading import sync_status_rows
from rendersync.ops.targetlisting import age
from tests.ops.helpers import Cli, create, wait_phase, wait_synced
from tests.ops.twoclusters import NONPROD, PROD, TwoClusters
from tests.support.pipeline import Pipeline
from tests.support.waiting import eventually
from vocabulary import PHASE_FAILED, PHASE_SYNCED, workflow_id_for
from workflows.contracts import SIGNAL_CHANGE

GHOST_VERSION = 999_999
#: (name, environment) of the keys the tests create, and the targets routing sends them to.
KEYS: list[tuple[str, str, tuple[str, ...]]] = [
    ("web", "dev", (NONPROD,)),
    ("api", "dev", (NONPROD,)),
    ("cart", "staging", (NONPROD, PROD)),
    ("shop", "prod", (PROD,)),
]


async def create_env(pipe: TwoClusters, name: str, environment: str) -> int:
    replicas = 2 if environment == "prod" else 1  # the CRD's rule for prod
    return await create(pipe, name, environment=environment, replicas=replicas)


def applied_on(pipe: TwoClusters, name: str, target: str) -> int:
    rows = sync_status_rows(pipe.engine, namespace=pipe.ns, name=name)
    return next((r.applied_version for r in rows if r.target == target), 0)


async def wait_applied(pipe: TwoClusters, name: str, version: int, *targets: str) -> None:
    """Each of ``targets`` holds ``version`` of ``name`` and the database recorded it."""

    async def done() -> bool:
        for target in targets:
            if await pipe.version_on(target, name) != version:
                return False
            if await asyncio.to_thread(applied_on, pipe, name, target) < version:
                return False
        return True

    await eventually(done, what=f"{name} v{version} on {targets}")


async def create_all(pipe: TwoClusters, keys: list[tuple[str, str, tuple[str, ...]]]) -> None:
    versions = {name: await create_env(pipe, name, env) for name, env, _ in keys}
    for name, _, targets in keys:
        await wait_applied(pipe, name, versions[name], *targets)


def by_name(listed: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {line["name"]: line for line in listed}


async def change_signals(pipe: TwoClusters, name: str) -> int:
    """How many change events the key's workflow has received."""
    handle = pipe.client.get_workflow_handle(workflow_id_for(f"{pipe.ns}/{name}"))
    count = 0
    async for event in handle.fetch_history_events():
        signalled = event.workflow_execution_signaled_event_attributes
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
            count += signalled.signal_name == SIGNAL_CHANGE
    return count


async def test_targets_list_counts_the_keys_routed_to_each_target(
    clusters_pipe: TwoClusters, targets_cli: Cli
) -> None:
    pipe = clusters_pipe
    await create_all(pipe, KEYS)

    listed = await targets_cli("targets", "list", "-n", pipe.ns, "-o", "json")

    assert listed.code == 0, listed.err
    lines = listed.json()
    assert [line["name"] for line in lines] == [NONPROD, PROD]  # apply order
    expected = {
        target: sum(1 for _, _, targets in KEYS if target in targets) for target in (NONPROD, PROD)
    }
    assert expected == {NONPROD: 3, PROD: 2}
    for line in lines:
        assert (line["kind"], line["health"], line["reason"]) == ("kubernetes", "ok", "")
        assert (line["keys"], line["synced"]) == (expected[line["name"]],) * 2
        assert (line["lag_s"], line["oldest_unsynced"]) == (None, "")
    assert pipe.emulator.url in by_name(lines)[NONPROD]["where"]
    assert pipe.emulator_of(PROD).url in by_name(lines)[PROD]["where"]

    table = await targets_cli("targets", "list", "-n", pipe.ns)
    header, *rows = table.out.splitlines()
    assert header.split() == ["NAME", "KIND", "WHERE", "HEALTH", "KEYS", "SYNCED", "LAG"]
    assert [r.split()[:2] + r.split()[-4:] for r in rows] == [
        [NONPROD, "kubernetes", "ok", "3", "3", "-"],
        [PROD, "kubernetes", "ok", "2", "2", "-"],
    ]


async def test_targets_list_shows_a_target_down_and_still_lists_the_other(
    clusters_pipe: TwoClusters, targets_cli: Cli
) -> None:
    pipe = clusters_pipe
    await create_all(pipe, KEYS[:1] + KEYS[2:3])  # web (nonprod), cart (both)
    await pipe.stop_prod_cluster()
    late = await create_env(pipe, "late", "staging")
    await wait_applied(pipe, "late", late, NONPROD)  # prod is down: retried there

    listed = await targets_cli("targets", "list", "-n", pipe.ns, "-o", "json")

    assert listed.code == 1  # a target is unreachable
    lines = by_name(listed.json())
    assert list(lines) == [NONPROD, PROD]
    nonprod, prod = lines[NONPROD], lines[PROD]
    assert (nonprod["health"], nonprod["keys"], nonprod["synced"]) == ("ok", 3, 3)
    assert nonprod["lag_s"] is None
    assert (prod["health"], prod["keys"], prod["synced"]) == ("unreachable", 2, 1)
    assert prod["reason"]
    assert "\n" not in prod["reason"]
    assert prod["oldest_unsynced"] == f"{pipe.ns}/late"
    assert prod["lag_s"] >= 0

    table = await targets_cli("targets", "list", "-n", pipe.ns)
    assert table.code == 1
    rows = {r.split()[0]: r for r in table.out.splitlines()[1:]}
    assert rows[NONPROD].split()[-4:] == ["ok", "3", "3", "-"]
    assert "unreachable: " in rows[PROD]
    assert rows[PROD].split()[-3:-1] == ["2", "1"]
    assert rows[PROD].split()[-1] != "-"


async def test_syncs_list_target_shows_the_status_on_that_target(
    clusters_pipe: TwoClusters, targets_cli: Cli
) -> None:
    pipe = clusters_pipe
    pipe.emulator_of(PROD).faults.add(
        method="PATCH",
        path_regex=f"/namespaces/{pipe.ns}/appconfigs/cart",
        status=422,
        message="spec: Invalid value: rejected by an admission policy",
    )
    await create_all(pipe, KEYS[:2])  # web, api: nonprod only
    cart = await create_env(pipe, "cart", "staging")
    await wait_phase(pipe, "cart", PHASE_FAILED)

    cases = [
        # (arguments, expected keys and phases, applied versions of cart)
        ((NONPROD,), {"api": PHASE_SYNCED, "cart": PHASE_SYNCED, "web": PHASE_SYNCED}, cart),
        ((PROD,), {"cart": PHASE_FAILED}, 0),
        ((PROD, "--failed"), {"cart": PHASE_FAILED}, 0),
        ((NONPROD, "--failed"), {}, None),
    ]
    for (target, *flags), phases, cart_applied in cases:
        result = await targets_cli(
            "syncs", "list", "--target", target, *flags, "-n", pipe.ns, "-o", "json"
        )
        assert result.code == 0, result.err
        listed = {s["key"].split("/")[1]: s for s in result.json()}
        assert {k: s["phase"] for k, s in listed.items()} == phases, (target, flags)
        if cart_applied is not None:
            assert listed["cart"]["applied_version"] == cart_applied
            assert listed["cart"]["desired_version"] == cart
    failed_on_prod = (
        await targets_cli("syncs", "list", "--target", PROD, "-n", pipe.ns, "-o", "json")
    ).json()
    assert "Invalid value" in failed_on_prod[0]["last_error"]

    table = await targets_cli("syncs", "list", "--target", NONPROD, "-n", pipe.ns)
    assert [line.split()[:2] for line in table.out.splitlines()[1:]] == [
        [f"{pipe.ns}/api", PHASE_SYNCED],
        [f"{pipe.ns}/cart", PHASE_SYNCED],
        [f"{pipe.ns}/web", PHASE_SYNCED],
    ]


async def test_unknown_target_is_refused_naming_the_known_ones(
    clusters_pipe: TwoClusters, targets_cli: Cli
) -> None:
    for command in (
        ("syncs", "list", "--target", "staging"),
        ("syncs", "list", "--failed", "--target", "staging"),
        ("resync", "--target", "staging"),
        ("resync", "--prune", "--target", "staging"),
    ):
        result = await targets_cli(*command)
        assert result.code == 2, command
        assert result.out == ""
        # (stderr also holds the log lines of the pipeline running in this process)
        known = "known targets: nonprod, prod"
        expected = f"rendersync {command[0]}: unknown target 'staging'; {known}"
        assert expected in result.err.splitlines()


async def test_resync_target_redrives_only_the_keys_routed_there(
    clusters_pipe: TwoClusters, targets_cli: Cli
) -> None:
    pipe = clusters_pipe
    keys = [k for k in KEYS if k[0] != "api"]  # web: nonprod, cart: both, shop: prod
    await create_all(pipe, keys)
    versions = {name: await pipe.version_on(targets[0], name) for name, _, targets in keys}
    for name, target in (("web", NONPROD), ("shop", PROD)):  # lost by hand
        assert await delete_appconfig(
            pipe.api_of(target), namespace=pipe.ns, name=name, version=versions[name]
        )
    before = {name: await change_signals(pipe, name) for name, _, _ in keys}

    result = await targets_cli("resync", "--target", NONPROD, "-n", pipe.ns, "-o", "json")

    assert result.code == 0, result.err
    assert result.json() == {"resynced": 2, "target": NONPROD}
    await wait_applied(pipe, "web", versions["web"], NONPROD)
    after = {name: await change_signals(pipe, name) for name, _, _ in keys}
    assert {n: after[n] - before[n] for n in after} == {"web": 1, "cart": 1, "shop": 0}
    assert await pipe.cr_on(PROD, "shop") is None  # not routed to nonprod: left alone

    text = await targets_cli("resync", "--target", PROD, "-n", pipe.ns)

    assert text.out.strip() == f"re-drove 2 key(s) routed to {PROD}"
    await wait_applied(pipe, "shop", versions["shop"], PROD)
    again = {name: await change_signals(pipe, name) for name, _, _ in keys}
    assert {n: again[n] - after[n] for n in again} == {"web": 0, "cart": 1, "shop": 1}


async def plant(pipe: TwoClusters, target: str, name: str, version: int, env: str) -> None:
    """A managed CR of ``name`` at ``version`` on ``target``, written by hand."""
    cr = render_appconfig(
        namespace=pipe.ns,
        name=name,
        spec={"app": name, "environment": env, "replicas": 1},
        labels={},
        annotations={},
        seq=version,
    )
    await apply_appconfig(pipe.api_of(target), cr=cr)


async def test_prune_target_plans_and_removes_only_that_targets_orphans(
    clusters_pipe: TwoClusters, targets_cli: Cli
) -> None:
    pipe = clusters_pipe
    await create_all(pipe, KEYS[:1])  # web: nonprod only
    web = await pipe.version_on(NONPROD, "web")
    await plant(pipe, NONPROD, "ghost", GHOST_VERSION, "dev")  # no row
    await plant(pipe, PROD, "ghost", GHOST_VERSION, "dev")
    await plant(pipe, PROD, "web", web, "dev")  # a copy where web's routing does not go

    def planned(result: dict[str, Any]) -> list[tuple[str, str, int]]:
        return sorted((o["target"], o["key"], o["version"]) for o in result["prunePlan"])

    cases = [
        (PROD, 0, [(PROD, f"{pipe.ns}/ghost", GHOST_VERSION), (PROD, f"{pipe.ns}/web", web)]),
        (NONPROD, 1, [(NONPROD, f"{pipe.ns}/ghost", GHOST_VERSION)]),
    ]
    for target, would_resync, plan in cases:
        dry = await targets_cli(
            "resync", "--prune", "--target", target, "-n", pipe.ns, "-o", "json"
        )
        assert dry.code == 0, dry.err
        assert dry.json()["wouldResync"] == would_resync
        assert planned(dry.json()) == plan
        assert "pruned" not in dry.json()

    done = (
        await targets_cli(
            "resync", "--prune", "--yes", "--target", PROD, "-n", pipe.ns, "-o", "json"
        )
    ).json()

    assert sorted((o["target"], o["key"]) for o in done["pruned"]) == [
        (PROD, f"{pipe.ns}/ghost"),
        (PROD, f"{pipe.ns}/web"),
    ]
    assert await pipe.cr_on(PROD, "ghost") is None
    assert await pipe.cr_on(PROD, "web") is None
    assert await pipe.version_on(NONPROD, "ghost") == GHOST_VERSION  # other target: kept
    assert await pipe.version_on(NONPROD, "web") == web
    left = await targets_cli("resync", "--prune", "--target", NONPROD, "-n", pipe.ns)
    assert "prune plan: 1 orphan(s)" in left.out
    assert f"{NONPROD}  cr    {pipe.ns}/ghost" in left.out


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [(None, "-"), (0.4, "0s"), (59, "59s"), (61, "1m1s"), (3600, "1h"), (93784, "1d2h")],
)
def test_lag_reads_in_its_two_largest_units(seconds: float | None, shown: str) -> None:
    assert age(seconds) == shown


async def test_targets_list_shows_the_default_kubernetes_and_git_targets(
    pipe: Pipeline, cli: Cli
) -> None:
    version = await create(pipe, "web")
    await wait_synced(pipe, "web", version)
    # The targets hold it before their reports are committed; SYNCED counts the reports.
    await wait_phase(pipe, "web", PHASE_SYNCED)

    listed = await cli("targets", "list", "-n", pipe.ns, "-o", "json")

    assert listed.code == 0, listed.err
    kubernetes, git = listed.json()
    assert (kubernetes["name"], kubernetes["kind"], kubernetes["health"]) == (
        "kubernetes",
        "kubernetes",
        "ok",
    )
    assert pipe.emulator.url in kubernetes["where"]
    assert (git["name"], git["kind"], git["health"]) == ("git", "git", "ok")
    assert git["where"] == f"{pipe.remote} main appconfigs/{{namespace}}/{{name}}.yaml"
    for line in (kubernetes, git):
        assert (line["keys"], line["synced"], line["lag_s"]) == (1, 1, None)
