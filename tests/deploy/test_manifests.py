"""Every overlay builds with kubectl's kustomize, every object it yields is valid against the
Kubernetes 1.32 schemas, the CRD is the one of k8s/manifests and structural, each overlay's
sample AppConfig is valid against it, and credentials are only ever Secret references."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from api.web.auth.policy import load_policy
from k8s.manifests import load_crd
from persistence.db import make_engine
from rendersync.authwiring import auth_config
from rendersync.devstack.k8semulator.schema import apply_defaults, validate
from rendersync.settings import Settings
from tests.deploy.conftest import DEPLOY, OVERLAYS
from tests.deploy.objects import (
    PROCESSES,
    Obj,
    config,
    container,
    mounted_file,
    named,
    of_kind,
    pod_specs,
)
from tests.deploy.structural import violations
from tests.support.settingnames import settings_by_name

KUBERNETES_VERSION = "1.32"
Built = dict[str, list[Obj]]


def secret_settings() -> set[str]:
    """The settings of a secret type (``SecretStr``): only ever from a Secret."""
    return {name for name, f in settings_by_name().items() if "SecretStr" in str(f.annotation)}


def setting_names() -> set[str]:
    return set(settings_by_name())


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_object_is_valid_for_kubernetes_1_32(built: Built, overlay: str) -> None:
    objects = built[overlay]
    assert objects, f"{overlay} builds nothing"
    for obj in objects:
        what = f"{overlay}: {obj['kind']}/{obj['metadata']['name']}"
        try:
            # strict: a field the schema does not know (a typo) is an error too.
            kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as err:
            path = ".".join(str(p) for p in err.path)
            pytest.fail(f"{what}: {path}: {err.message}")
        except kubernetes_validate.SchemaNotFoundError as err:
            pytest.fail(f"{what}: {err.message}")


def test_the_validator_rejects_what_kubernetes_would(built: Built) -> None:
    broken = json.loads(json.dumps(named(built["prod"], "Deployment", "rendersync-worker")))
    broken["spec"]["template"]["spec"]["containers"][0]["securityContext"]["readOnly"] = True
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_crd_is_the_one_of_k8s_manifests(built: Built, overlay: str) -> None:
    (crd,) = of_kind(built[overlay], "CustomResourceDefinition")
    source = load_crd()
    assert crd["metadata"]["name"] == source["metadata"]["name"]
    assert crd["spec"] == source["spec"], "deploy/ includes k8s/manifests, never a copy"


def test_the_crd_schema_is_structural() -> None:
    for version in load_crd()["spec"]["versions"]:
        schema = version["schema"]["openAPIV3Schema"]
        assert violations(schema) == [], version["name"]
    # The checker finds what the API server refuses.
    assert violations({"type": "object", "properties": {"a": {}}}) == ["<root>.a: has no type"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_sample_appconfig_is_valid_against_the_crd(built: Built, overlay: str) -> None:
    path = DEPLOY / "overlays" / overlay / "appconfig-example.yaml"
    sample: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    schema = load_crd()["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    apply_defaults(schema, sample)
    assert [c.text() for c in validate(schema, sample)] == []
    assert sample["spec"]["environment"] == overlay
    # Not applied by the overlay: a CR no row backs would be collected as an orphan.
    assert not of_kind(built[overlay], "AppConfig")


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_credentials_are_only_secret_references(built: Built, overlay: str) -> None:
    objects = built[overlay]
    assert not of_kind(objects, "Secret"), "no Secret (no value) is in deploy/"
    for path in DEPLOY.rglob("kustomization.yaml"):
        assert "secretGenerator" not in path.read_text(encoding="utf-8"), path
    settings = config(objects)
    assert "RENDERSYNC_DB__URL" not in settings
    assert "RENDERSYNC_GIT__REMOTE" not in settings
    assert "RENDERSYNC_AUTH__PROXY_SECRET" in secret_settings()
    assert set(settings) & secret_settings() == set()
    for name, spec in pod_specs(objects).items():
        for c in spec["containers"]:
            plain = {e["name"]: e.get("value") for e in c.get("env", []) if "value" in e}
            assert not plain, f"{name}: plain env values {plain}; use the ConfigMap or a Secret"
    for process in ("api", "relay", "worker"):
        refs = {
            e["name"]: e["valueFrom"]["secretKeyRef"] for e in container(objects, process)["env"]
        }
        assert refs["RENDERSYNC_DB__URL"] == {"name": "rendersync-database", "key": "url"}
    worker = {e["name"]: e["valueFrom"] for e in container(objects, "worker")["env"]}
    assert worker["RENDERSYNC_GIT__REMOTE"]["secretKeyRef"]["name"] == "rendersync-git"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_configmap_holds_only_known_settings(built: Built, overlay: str) -> None:
    settings = config(built[overlay])
    assert set(settings) - setting_names() == set()
    for key in ("RENDERSYNC_KAFKA__BOOTSTRAP_SERVERS", "RENDERSYNC_TEMPORAL__ADDRESS"):
        assert not settings[key].startswith("127.0.0.1"), (key, settings[key])
    # Every process reads it, the migration Job too.
    for name, spec in pod_specs(built[overlay]).items():
        refs = [s["configMapRef"]["name"] for c in spec["containers"] for s in c["envFrom"]]
        assert refs == [named(built[overlay], "ConfigMap", refs[0])["metadata"]["name"]], name


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_process_runs_its_command_from_a_pinned_image(built: Built, overlay: str) -> None:
    objects = built[overlay]
    for process in PROCESSES:
        c = container(objects, process)
        assert c["args"] == [process]
        image = c["image"]
        assert ":" in image.rsplit("/", 1)[-1], image
        assert not image.endswith(":latest"), image
    job = named(objects, "Job", "rendersync-db-upgrade")["spec"]["template"]["spec"]
    assert job["containers"][0]["args"] == ["db", "upgrade"]
    assert config(objects)["RENDERSYNC_API__MIGRATE_ON_START"] == "false"


@pytest.mark.parametrize(("overlay", "relays"), [("dev", 1), ("staging", 2), ("prod", 2)])
def test_replicas_and_disruption_budgets(built: Built, overlay: str, relays: int) -> None:
    objects = built[overlay]
    relay = named(objects, "Deployment", "rendersync-relay")
    assert relay["spec"]["replicas"] == relays, "a leader, and a standby beyond dev"
    for process in PROCESSES:
        deployment = named(objects, "Deployment", f"rendersync-{process}")
        pdb = named(objects, "PodDisruptionBudget", f"rendersync-{process}")
        assert pdb["spec"]["selector"] == deployment["spec"]["selector"], process
        assert pdb["spec"]["maxUnavailable"] == 1
        if overlay == "prod":
            assert deployment["spec"]["replicas"] >= 2, process


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_auth_settings_start_the_api(
    built: Built, overlay: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``rendersync api`` refuses to start on a setting that cannot work (exit 2); the
    overlay's, with its mounted policy file, builds an auth configuration."""
    objects = built[overlay]
    settings = config(objects)
    for key in [k for k in os.environ if k.startswith("RENDERSYNC_")]:
        monkeypatch.delenv(key)
    for key, value in settings.items():
        monkeypatch.setenv(key, value)
    policy = settings.get("RENDERSYNC_AUTH__POLICY_FILE")
    if policy:
        local = tmp_path / "policy.yaml"
        local.write_text(mounted_file(objects, "api", policy), encoding="utf-8")
        monkeypatch.setenv("RENDERSYNC_AUTH__POLICY_FILE", str(local))
        assert load_policy(local), "the policy file binds someone"
    loaded = Settings()
    auth = loaded.auth
    engine = make_engine("sqlite://")
    built_config = auth_config(loaded, engine)
    engine.dispose()
    assert [a.name for a in built_config.authenticators] == [a.value for a in auth.authenticators]
    # Explicit: no proxy is trusted, /metrics needs a credential.
    assert "proxy" not in auth.authenticators
    assert auth.proxy_cidrs == []
    assert auth.metrics_public is False
    if "oidc" in auth.authenticators:
        for url in (auth.oidc_issuer, auth.oidc_jwks_url):
            assert url.startswith("https://"), url
        assert auth.oidc_audience
    if "tokenreview" in auth.authenticators:
        assert auth.authenticators[-1] == "tokenreview", "it recognises every token: last"
