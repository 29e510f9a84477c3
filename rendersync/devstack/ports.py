"""Port checks before anything starts, so a taken port is one clear message, not a hang."""

from __future__ import annotations

import socket

from rendersync.devstack.services.childprocesses import free_port, port_accepts
from rendersync.devstack.stack import DevConfig, Ports

#: Ports the relay, bridge and worker prefer for metrics (the settings' defaults).
PREFERRED_METRICS = {"relay": 9101, "bridge": 9102, "worker": 9103}


class PortInUseError(RuntimeError):
    """A port the stack needs is taken or given twice; the message names it and its flag."""


def bindable(host: str, port: int) -> bool:
    """Whether a server could listen on ``host:port`` right now.

    Binds the way servers do (SO_REUSEADDR), so a port that only has connections in
    TIME_WAIT from a previous run counts as free.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return not port_accepts(host, port, timeout_s=0.2)


def check_ports(config: DevConfig) -> Ports:
    """The stack's ports: the fixed ones checked, the metrics ones chosen.

    Raises :class:`PortInUseError` if a fixed port is taken or two flags name the same port.
    """
    fixed = {
        "--api-port": ("the API", config.api_port),
        "--temporal-port": ("Temporal", config.temporal_port),
        "--temporal-ui-port": ("the Temporal UI", config.temporal_ui_port),
        "--kafka-port": ("the Kafka broker", config.kafka_port),
        "--k8s-port": ("the dev cluster's Kubernetes emulator", config.k8s_port),
        "--k8s-prod-port": ("the prod cluster's Kubernetes emulator", config.k8s_prod_port),
    }
    seen: dict[int, str] = {}
    for flag, (what, port) in fixed.items():
        if port in seen:
            raise PortInUseError(f"{flag} and {seen[port]} both name port {port}")
        seen[port] = flag
        if not bindable(config.host, port):
            raise PortInUseError(
                f"port {port} on {config.host} ({what}, {flag}) is already in use: stop what "
                f"listens there (perhaps another `rendersync dev`) or pass {flag} with another port"
            )
    taken = set(seen)
    metrics = _metrics_ports(config.host, taken=taken)
    more_workers = []
    for _ in range(config.workers - 1):
        port = free_port(config.host)
        while port in taken:
            port = free_port(config.host)
        taken.add(port)
        more_workers.append(port)
    return Ports(
        api=config.api_port,
        temporal=config.temporal_port,
        temporal_ui=config.temporal_ui_port,
        kafka=config.kafka_port,
        k8s=config.k8s_port,
        k8s_prod=config.k8s_prod_port,
        relay_metrics=metrics["relay"],
        bridge_metrics=metrics["bridge"],
        worker_metrics=metrics["worker"],
        more_worker_metrics=tuple(more_workers),
    )


def _metrics_ports(host: str, *, taken: set[int]) -> dict[str, int]:
    """The preferred metrics ports where free, otherwise ports the kernel picks."""
    chosen: dict[str, int] = {}
    for name, preferred in PREFERRED_METRICS.items():
        port = preferred
        while port in taken or not bindable(host, port):
            port = free_port(host)
        chosen[name] = port
        taken.add(port)
    return chosen
