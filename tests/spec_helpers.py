"""The vendored OpenAPI document, and helpers to walk it (shared by the contract and resource tests)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

SPEC_PATH = Path(__file__).resolve().parent / "data" / "docr-openapi.yaml"
SPEC: dict[str, Any] = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))


def resolve(node: Any) -> Any:
    """Follow local ``$ref`` pointers."""
    while isinstance(node, dict) and "$ref" in node:
        target: Any = SPEC
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def synthesize(schema: Any) -> Any:
    """A full instance of ``schema`` built from the property-level ``example`` values.

    It follows ``$ref`` and merges ``allOf``/``anyOf`` parts (and the first ``oneOf`` part). Objects
    get every declared property, so the body carries every documented field.
    """
    schema = resolve(schema)
    parts = [*schema.get("allOf", []), *schema.get("anyOf", []), *schema.get("oneOf", [])[:1]]
    if parts or "properties" in schema:
        result: dict[str, Any] = {}
        for part in parts:
            value = synthesize(part)
            if isinstance(value, dict):
                result.update(value)
        for name, prop in schema.get("properties", {}).items():
            value = synthesize(prop)
            if value is not None:
                result[name] = value
        return result
    if "example" in schema:
        return copy.deepcopy(schema["example"])
    if schema.get("type") == "array":
        return [synthesize(schema["items"])]
    return None  # an annotation-only part such as ``{readOnly: true}`` or ``{}``
