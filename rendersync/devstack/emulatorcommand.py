"""What ``rendersync k8s-emulator`` runs: the Kubernetes API emulator alone, until
SIGINT/SIGTERM (``rendersync dev`` starts it so)."""

from __future__ import annotations

import argparse
from pathlib import Path

from rendersync.devstack.k8semulator import serve
from rendersync.settings import Settings


def run(args: argparse.Namespace, _settings: Settings) -> int:
    kubeconfig = Path(args.kubeconfig_out) if args.kubeconfig_out else None
    return serve(
        host=args.host, port=args.port, kubeconfig_out=kubeconfig, install_crd=args.install_crd
    )
