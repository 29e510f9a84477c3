"""An emulator of the Kubernetes API surface rendersync uses: a test and dev double.

See ``docs/k8s-emulator.md`` for exactly what it implements and what it does not.
"""

from .faults import Fault, Faults
from .kubeconfig import write_kubeconfig
from .requestlog import RecordedRequest, RequestLog
from .server import Emulator, build_app, running_emulator, serve

__all__ = [
    "Emulator",
    "Fault",
    "Faults",
    "RecordedRequest",
    "RequestLog",
    "build_app",
    "running_emulator",
    "serve",
    "write_kubeconfig",
]
