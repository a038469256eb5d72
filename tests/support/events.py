"""The documented EventBridge scan-complete samples and variants of them."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any


def events_dir() -> Path:
    """EventBridge event samples as AWS documents them (kept in tests/data)."""
    return Path(__file__).resolve().parents[1] / "data"


SAMPLES = sorted(p.name for p in events_dir().glob("*-scan-*.json"))


ECR_SAMPLE = "ecr-image-scan-complete.json"


INSPECTOR_SAMPLE = "inspector2-scan-initial-complete.json"


def load_event(name: str) -> dict[str, Any]:
    return json.loads((events_dir() / name).read_text(encoding="utf-8"))


def variant(name: str, **detail: Any) -> dict[str, Any]:
    """A sample with detail keys replaced (a value of ``None`` removes the key)."""
    event = copy.deepcopy(load_event(name))
    for key, value in detail.items():
        key = key.replace("_", "-")
        if value is None:
            event["detail"].pop(key, None)
        else:
            event["detail"][key] = value
    return event
