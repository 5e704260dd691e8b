"""eccr: Extended Clinical Concept Recognition for Japanese clinical text."""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

__all__ = ["Extractor", "__version__"]


def __getattr__(name: str) -> Any:
    # ``eccr.Extractor`` without importing models (and their dependencies) on ``import eccr``.
    if name == "Extractor":
        from eccr.inference import Extractor

        return Extractor
    raise AttributeError(f"module 'eccr' has no attribute {name!r}")
