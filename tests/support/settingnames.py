"""The names of every setting, as the environment variables that set them."""

from __future__ import annotations

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from rendersync.settings import Settings


def settings_by_name() -> dict[str, FieldInfo]:
    """``RENDERSYNC_GROUP__NAME`` of each setting of a group, ``RENDERSYNC_NAME`` of a
    setting given as a whole value (``targets``, ``routes``), with its field."""
    found: dict[str, FieldInfo] = {}
    for group, field in Settings.model_fields.items():
        model = field.annotation
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            found[f"RENDERSYNC_{group.upper()}"] = field
            continue
        for name, sub in model.model_fields.items():
            found[f"RENDERSYNC_{group.upper()}__{(sub.alias or name).upper()}"] = sub
    return found
