"""The rules that make a CRD's openAPIV3Schema *structural*, as the API server checks them
(Kubernetes docs, "Specifying a structural schema"), for offline use.

Returns the violations as ``path: reason`` strings; an empty list is a structural schema.
"""

from __future__ import annotations

from typing import Any

#: Keywords a structural schema may not use anywhere.
FORBIDDEN = ("$ref", "definitions", "dependencies", "patternProperties", "additionalItems", "id")


def violations(schema: dict[str, Any], path: str = "") -> list[str]:
    found: list[str] = []
    _node(schema, path or "<root>", found, root=True)
    return found


def _node(node: dict[str, Any], path: str, found: list[str], *, root: bool = False) -> None:
    for keyword in FORBIDDEN:
        if keyword in node:
            found.append(f"{path}: uses {keyword}")
    if "type" not in node and not node.get("x-kubernetes-int-or-string"):
        found.append(f"{path}: has no type")
    if "properties" in node and "additionalProperties" in node:
        found.append(f"{path}: both properties and additionalProperties")
    if node.get("x-kubernetes-preserve-unknown-fields") is False:
        found.append(f"{path}: x-kubernetes-preserve-unknown-fields: false")
    if root:
        meta = node.get("properties", {}).get("metadata", {})
        extra = set(meta.get("properties", {})) - {"name", "generateName"}
        if extra:
            found.append(f"{path}.metadata: may only restrict name and generateName: {extra}")
    for name, child in node.get("properties", {}).items():
        _node(child, f"{path}.{name}", found)
    if isinstance(node.get("additionalProperties"), dict):
        _node(node["additionalProperties"], f"{path}[*]", found)
    if isinstance(node.get("items"), dict):
        _node(node["items"], f"{path}[]", found)
    for keyword in ("allOf", "anyOf", "oneOf"):
        for i, branch in enumerate(node.get(keyword, [])):
            # Inside a logical junctor no type, default or nullable may be set.
            for banned in ("type", "default", "nullable", "additionalProperties"):
                if banned in branch:
                    found.append(f"{path}.{keyword}[{i}]: sets {banned}")
