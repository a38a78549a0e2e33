"""Suite-wide set-up. Fixture modules live in tests/fixtures/ and are all loaded here, so each
capability can add its own fixtures without editing this file. Per-run isolation (Redis prefix,
test database name) is set earlier, by the ``tests.isolation`` plugin named in pyproject.toml."""

from __future__ import annotations

from pathlib import Path

import pytest

# Fixture modules import each other (the gate's recipes use the inbox's paused threads): marked
# up front, each is imported with pytest's assertion rewriting whichever imports it first.
pytest.register_assert_rewrite("tests.fixtures")

pytest_plugins = sorted(
    f"tests.fixtures.{path.stem}"
    for path in (Path(__file__).parent / "fixtures").glob("*.py")
    if path.stem != "__init__"
)
