"""The block ``rendersync dev`` prints once the stack is ready: where everything is."""

from __future__ import annotations

import json
import shlex

from rendersync.devstack.environments import CLUSTERS, ENVIRONMENT_CLUSTERS, overlay
from rendersync.devstack.stack import DevConfig

READY_LINE = "rendersync is ready"

_EXAMPLE = {
    "metadata": {"name": "demo"},
    "spec": {"app": "demo", "environment": "dev", "replicas": 2, "data": {"LOG_LEVEL": "info"}},
}


def ready_block(config: DevConfig, urls: dict[str, str], *, namespace: str = "default") -> str:
    """The text of the ready block (no trailing newline)."""
    state = config.state_dir
    quoted = shlex.quote
    token_file = quoted(str(state / "admin-token"))
    kubeconfig = quoted(str(state / "kubeconfig"))
    overlays = ", ".join(overlay(env) for env in ENVIRONMENT_CLUSTERS)
    create = f"{urls['api']}/api/v1/namespaces/{namespace}/appconfigs?wait=synced&timeout=20s"
    rows = [
        ("Console", f"{urls['console']}   (paste the admin token below into the page)"),
        ("API", f"{urls['appconfigs']}   (docs: {urls['api_docs']})"),
        ("Temporal UI", urls["temporal_ui"]),
        ("Temporal", urls["temporal"]),
        ("Kafka", urls["kafka"]),
        *(
            (
                "Kubernetes" if i == 0 else "",
                f"{urls['kubernetes_' + c]}  ({c} cluster, context {c})",
            )
            for i, c in enumerate(CLUSTERS)
        ),
        ("kubeconfig", str(state / "kubeconfig")),
        ("Git remote", f"{urls['git_remote']}  (overlays {overlays})"),
        ("Metrics", f"{urls['metrics_api']} (api)"),
        *(("", f"{urls['metrics_' + n]} ({n})") for n in ("relay", "bridge", "worker")),
        *(
            ("", f"{url} (worker-{name.rsplit('_', 1)[1]})")
            for name, url in urls.items()
            if name.startswith("metrics_worker_")
        ),
    ]
    return "\n".join(
        [
            "",
            f"{READY_LINE} (state in {state})",
            "",
            *(f"  {label:<13} {value}" for label, value in rows),
            "",
            f"The API wants a token; the admin token is in {state / 'admin-token'}:",
            f"  export RENDERSYNC_TOKEN=$(cat {token_file})",
            "  rendersync whoami --state-dir " + quoted(str(state)),
            "",
            "Create an AppConfig:",
            f"  curl -sS -X POST {quoted(create)} \\",
            '    -H "authorization: Bearer $RENDERSYNC_TOKEN" \\',
            "    -H 'content-type: application/json' \\",
            f"    -d {quoted(json.dumps(_EXAMPLE, separators=(',', ':')))}",
            "",
            "Watch the results:",
            *(
                f"  kubectl --kubeconfig {kubeconfig} --context {c} get appconfigs -A -w"
                for c in CLUSTERS
            ),
            f"  git --git-dir {quoted(str(state / 'gitops.git'))} log --stat",
            f"  rendersync syncs list --failed --state-dir {quoted(str(state))}",
            "",
            "Ctrl-C stops the stack; the database, Temporal history and Git repository stay in "
            f"{state}.",
            "",
        ]
    )
