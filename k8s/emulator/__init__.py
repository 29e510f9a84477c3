"""An emulator of the Kubernetes API surface rendersync uses: a test and dev double.

See ``docs/k8s-emulator.md`` for exactly what it implements and what it does not.
"""

from .faults import Fault, Faults
from .serving import Emulator, build_app, running_emulator, serve

__all__ = ["Emulator", "Fault", "Faults", "build_app", "running_emulator", "serve"]
