"""The one place the SDK's version is written (the wheel's metadata reads it from here)."""

from __future__ import annotations

__version__ = "0.1.0"
