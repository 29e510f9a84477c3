"""What the server does to a CustomResourceDefinition it stores: checks and status."""

from __future__ import annotations

from typing import Any

from .statuses import EmulatedApiError, bad_request
from .writes import now_text


def check_crd(crd: dict[str, Any]) -> None:
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    name = crd["metadata"].get("name", "")
    if not spec.get("group") or not names.get("plural") or not names.get("kind"):
        raise bad_request("spec.group, spec.names.plural and spec.names.kind are required")
    if name != f"{names['plural']}.{spec['group']}":
        raise EmulatedApiError(
            422,
            "Invalid",
            f'CustomResourceDefinition.apiextensions.k8s.io "{name}" is invalid: metadata.name: '
            f'Invalid value: "{name}": must be spec.names.plural+"."+spec.group',
        )


def crd_status(crd: dict[str, Any]) -> dict[str, Any]:
    spec = crd["spec"]
    when = crd["metadata"].get("creationTimestamp") or now_text()
    conditions = [
        {"type": t, "status": "True", "reason": r, "message": m, "lastTransitionTime": when}
        for t, r, m in (
            ("NamesAccepted", "NoConflicts", "no conflicts found"),
            ("Established", "InitialNamesAccepted", "the initial names have been accepted"),
        )
    ]
    return {
        "acceptedNames": spec["names"],
        "conditions": conditions,
        "storedVersions": [v["name"] for v in spec.get("versions") or [] if v.get("storage")],
    }
