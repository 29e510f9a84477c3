"""Deterministic Temporal workflow code of rendersync and its dataclass contracts.

Workers register :class:`AppConfigSync`; the bridge, the activities and the API import the
dataclasses and names of :mod:`workflows.contracts`. Only the standard library and temporalio
are imported here, so the workflow sandbox can load every module of this package.
"""

from workflows.notifying import DeliverNotification
from workflows.workflows import AppConfigSync

__all__ = ["AppConfigSync", "DeliverNotification"]
