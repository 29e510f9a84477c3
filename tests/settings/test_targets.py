"""Targets and routing rules in the settings: today's defaults, named targets in order,
routing decisions, and every configuration that cannot work refused at start in one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rendersync import cli
from rendersync.settings import GitTargetSettings, KubernetesTargetSettings, settings_from_env
from rendersync.wiring import sync_options
from vocabulary.routing import Route, routed

TWO_CLUSTERS = {
    "dev": {"kind": "kubernetes", "context": "dev"},
    "prod": {"kind": "kubernetes", "context": "prod"},
    "gitops-dev": {
        "kind": "git",
        "path": "clusters/dev/appconfigs/{namespace}/{name}.yaml",
        "kustomization": "clusters/dev",
    },
    "gitops-prod": {
        "kind": "git",
        "path": "clusters/prod/appconfigs/{namespace}/{name}.yaml",
        "kustomization": "clusters/prod",
    },
}
BY_ENVIRONMENT = [
    {"environment": "prod", "targets": ["prod", "gitops-prod"]},
    {"environment": "*", "targets": ["dev", "gitops-dev"]},
]


def environ(**values: object) -> dict[str, str]:
    return {
        f"RENDERSYNC_{k.upper()}": v if isinstance(v, str) else json.dumps(v)
        for k, v in values.items()
    }


def test_without_targets_the_sync_is_todays() -> None:
    settings = settings_from_env({})
    options = sync_options(settings)

    assert list(settings.configured_targets()) == ["kubernetes", "git"]
    assert isinstance(settings.configured_targets()["kubernetes"], KubernetesTargetSettings)
    assert (options.targets, options.target_kinds, options.routes) == (
        ("kubernetes", "git"),
        {},
        (),
    )


def test_named_targets_apply_in_the_order_given() -> None:
    settings = settings_from_env(environ(targets=TWO_CLUSTERS, routes=BY_ENVIRONMENT))
    options = sync_options(settings)

    assert options.targets == ("dev", "prod", "gitops-dev", "gitops-prod")
    assert options.kind("prod") == "kubernetes"
    assert options.kind("gitops-dev") == "git"
    assert options.routes[0] == Route(("prod", "gitops-prod"), environment="prod")
    git = settings.configured_targets()["gitops-prod"]
    assert isinstance(git, GitTargetSettings)
    assert git.kustomization == "clusters/prod"


def test_the_sync_order_setting_reorders_the_targets() -> None:
    order = ["gitops-dev", "gitops-prod", "dev", "prod"]
    settings = settings_from_env(
        environ(targets=TWO_CLUSTERS, routes=BY_ENVIRONMENT, sync__targets=order)
    )
    assert sync_options(settings).targets == tuple(order)


def test_a_template_with_the_environment_places_keys_by_it() -> None:
    targets = {"gitops": {"kind": "git", "path": "clusters/{environment}/{namespace}/{name}.yaml"}}
    options = sync_options(settings_from_env(environ(targets=targets)))
    assert options.placed_by_environment == ("gitops",)


TARGETS = ("dev", "prod", "gitops-dev", "gitops-prod")
RULES = (
    Route(("prod", "gitops-prod"), environment="prod"),
    Route(("prod",), environment="staging", namespace="payments-*"),
    Route(("dev",), labels={"tier": "canary"}),
    Route(("gitops-dev", "dev"), environment="dev"),
)


@pytest.mark.parametrize(
    ("environment", "namespace", "labels", "targets"),
    [
        ("prod", "team-a", {}, ("prod", "gitops-prod")),
        ("prod", "team-a", {"tier": "canary"}, ("prod", "gitops-prod")),  # first match
        ("staging", "payments-eu", {}, ("prod",)),
        ("staging", "team-a", {"tier": "canary"}, ("dev",)),
        ("staging", "team-a", {"tier": "stable"}, None),  # no rule
        ("dev", "team-a", {}, ("dev", "gitops-dev")),  # in the targets' order
        ("Dev", "team-a", {}, None),  # patterns are case-sensitive
    ],
)
def test_the_first_matching_rule_routes(
    environment: str, namespace: str, labels: dict[str, str], targets: tuple[str, ...] | None
) -> None:
    found = routed(TARGETS, RULES, environment=environment, namespace=namespace, labels=labels)
    assert found == targets


def test_without_rules_everything_goes_everywhere() -> None:
    assert routed(TARGETS, (), environment="x", namespace="y", labels={}) == TARGETS


@pytest.mark.parametrize(
    ("values", "reason"),
    [
        (
            {"targets": TWO_CLUSTERS, "routes": [{"environment": "prod", "targets": ["prd"]}]},
            "route 1 (environment=prod namespace=*) names unknown targets ['prd']",
        ),
        (
            {"targets": TWO_CLUSTERS, "routes": [{"targets": ["dev"]}, {"targets": ["prod"]}]},
            "route 2 (environment=* namespace=*) is never reached",
        ),
        ({"targets": TWO_CLUSTERS, "sync__targets": ["dev", "prod"]}, "'gitops-dev' is defined"),
        ({"sync__targets": ["kubernetes", "staging"]}, "names 'staging', which targets does not"),
        ({"targets": {"Prod_1": {"kind": "kubernetes"}}}, "target name 'Prod_1' must be"),
        ({"targets": {"status": {"kind": "kubernetes"}}}, "target name 'status' is reserved"),
        (
            {"targets": {"g": {"kind": "git", "path": "{namespace}/{app}.yaml"}}},
            "target 'g': path '{namespace}/{app}.yaml' uses unknown placeholder {app}",
        ),
        (
            {
                "targets": {
                    "a": {"kind": "git", "remote": "/srv/a.git"},
                    "b": {"kind": "git", "remote": "/srv/b.git"},
                }
            },
            "targets 'a' and 'b' write different repositories or branches through one workdir",
        ),
    ],
)
def test_a_configuration_that_cannot_work_stops_every_process_in_one_line(
    values: dict[str, object],
    reason: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name, value in environ(**values).items():
        monkeypatch.setenv(name, value)

    assert cli.main(["worker"]) == 2

    printed = capsys.readouterr().err
    assert printed.count("\n") == 1
    assert printed.startswith("rendersync: RENDERSYNC_TARGETS/RENDERSYNC_ROUTES: ")
    assert reason in printed


def test_a_route_naming_no_target_is_refused() -> None:
    with pytest.raises(ValueError, match="targets"):
        settings_from_env(dict(environ(routes=[{"environment": "dev", "targets": []}])))


def test_an_unreadable_kubeconfig_context_stops_the_worker_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "dev", "cluster": {"server": "https://127.0.0.1:1"}}],
                "users": [{"name": "dev", "user": {"token": "t"}}],
                "contexts": [{"name": "dev", "context": {"cluster": "dev", "user": "dev"}}],
                "current-context": "dev",
            }
        )
    )
    targets = {
        "dev": {"kind": "kubernetes", "kubeconfig": str(kubeconfig), "context": "dev"},
        "prod": {"kind": "kubernetes", "kubeconfig": str(kubeconfig), "context": "prod"},
    }
    for name, value in environ(targets=targets, metrics__worker_port=0).items():
        monkeypatch.setenv(name, value)

    assert cli.main(["worker"]) == 2

    printed = capsys.readouterr().err
    assert printed.count("\n") == 1
    assert printed.startswith("rendersync worker: target 'prod': cannot load kubeconfig")
    assert "'prod'" in printed


def test_applying_at_once_is_a_sync_setting_off_by_default() -> None:
    assert not sync_options(settings_from_env({})).apply_concurrently
    at_once = settings_from_env({"RENDERSYNC_SYNC__APPLY_CONCURRENTLY": "true"})

    assert sync_options(at_once).apply_concurrently
