"""Nothing but the gate and the relay it hands gated runs to calls the SDK's write methods: a
new call elsewhere in apps/ fails here until it goes through ``apps.gate.gate``."""

from __future__ import annotations

import ast
from pathlib import Path

import apps

WRITE_METHODS = {
    "update_thread_state",
    "create_run",
    "stream_run",
    "wait_run",
    "cancel_run",
    "resume",
    "run_batch",
    "create_thread",
    "copy_thread",
    "delete_thread",
    "update_thread_metadata",
    "put_item",
    "delete_item",
}
# The gate writes state; the relay creates (and cancels) the upstream run of a Run row that only
# exists because the gate let its intent through (apps.runs.services.create_run).
ALLOWED = {
    "gate/gate.py": {"update_thread_state", "put_item", "delete_item"},
    "runs/relay.py": {"stream_run", "cancel_run"},
}
ROOT = Path(apps.__file__).parent


def _sdk_writes(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    return {
        node.func.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in WRITE_METHODS
    }


def test_only_the_gate_and_the_relay_call_the_sdks_write_methods():
    found = {
        str(path.relative_to(ROOT)): calls
        for path in sorted(ROOT.rglob("*.py"))
        if "migrations" not in path.parts and (calls := _sdk_writes(path))
    }
    stray = {
        module: sorted(calls - ALLOWED.get(module, set()))
        for module, calls in found.items()
        if calls - ALLOWED.get(module, set())
    }
    assert not stray, (
        f"SDK write methods called outside the gate: {stray}. Send the change through "
        "apps.gate.gate.pass_through (see its docstring)."
    )
    assert found == ALLOWED
