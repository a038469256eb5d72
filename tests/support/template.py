"""The SAM template and its functions' properties."""

from __future__ import annotations

from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


TEMPLATE = ROOT / "template.yaml"


FUNCTIONS = {
    "RepositoriesFunction": "repositories.handler",
    "ImagesFunction": "images.handler",
    "ReporterFunction": "reporter.handler",
}


def function_property(template: dict[str, Any], name: str, key: str) -> Any:
    props = template["Resources"][name]["Properties"]
    if key in props:
        return props[key]
    return template.get("Globals", {}).get("Function", {}).get(key)
