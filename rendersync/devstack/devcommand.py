"""What ``rendersync dev`` runs (its flags are in ``devparsers``): the checks made before
anything starts, then the stack."""

from __future__ import annotations

import argparse
import asyncio
import sys

from rendersync.devstack.admintoken import ensure_admin_token
from rendersync.devstack.ports import PortInUseError, check_ports
from rendersync.devstack.running import run_dev
from rendersync.devstack.stack import DevConfig
from rendersync.devstack.statefiles import StateDirInUseError, lock_state_dir, prepare_state_dir
from rendersync.devstack.supervising import StackError
from rendersync.settings import Settings

#: Failures reported as one line (plus the child's output where there is one), exit status 1.
_FAILURES = (PortInUseError, StateDirInUseError, StackError)


def run(args: argparse.Namespace, settings: Settings) -> int:
    config = DevConfig(
        state_dir=args.state_dir.resolve(),
        api_port=args.api_port,
        temporal_port=args.temporal_port,
        temporal_ui_port=args.temporal_ui_port,
        kafka_port=args.kafka_port,
        k8s_port=args.k8s_port,
        k8s_prod_port=args.k8s_prod_port,
        startup_timeout_s=args.startup_timeout,
        workers=args.workers,
    )
    try:
        with lock_state_dir(config.state_dir):
            ports = check_ports(config)
            prepare_state_dir(config.state_dir, branch=settings.git.branch)
            ensure_admin_token(config.state_dir, config.db_file)
            return asyncio.run(run_dev(config, ports, settings))
    except _FAILURES as err:
        message = err.report() if isinstance(err, StackError) else str(err)
        print(f"rendersync dev: {message}", file=sys.stderr)
        return 1
