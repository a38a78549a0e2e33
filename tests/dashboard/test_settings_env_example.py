"""``.env.example`` documents every variable the console reads: each one that settings.py (or the
launcher, for its process commands) reads from the environment must appear in it, set or
commented out."""

from __future__ import annotations

import ast
import re

from dashboard.embedded import BASE_DIR

ENV_READERS = {"env_str", "env_bool", "env_int", "env_list", "env_redis_url", "env_database"}


def _is_environ(node: ast.expr) -> bool:
    """``os.environ``, or the launcher's ``env`` (its copy of it)."""
    if isinstance(node, ast.Attribute):
        return node.attr == "environ"
    return isinstance(node, ast.Name) and node.id == "env"


def _string(node: ast.expr) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def variables_read(path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call) and node.args:
            func = node.func
            reader = isinstance(func, ast.Name) and func.id in ENV_READERS
            getter = (
                isinstance(func, ast.Attribute)
                and func.attr in {"get", "setdefault", "getenv"}
                and (_is_environ(func.value) or func.attr == "getenv")
            )
            if (reader or getter) and (name := _string(node.args[0])):
                names.add(name)
        elif isinstance(node, ast.Subscript) and _is_environ(node.value):
            names.add(_string(node.slice) or "")
        elif isinstance(node, ast.Compare) and any(_is_environ(c) for c in node.comparators):
            names.add(_string(node.left) or "")
    names.discard("")
    return names


def documented() -> set[str]:
    text = (BASE_DIR / ".env.example").read_text()
    return set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", text, flags=re.MULTILINE))


def test_the_parser_finds_the_ways_settings_read_the_environment(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import os\n"
        "A = env_int('ONE', 1, minimum=1)\n"
        "B = os.environ.get('TWO')\n"
        "C = 'THREE' in os.environ\n"
        "D = os.environ['FOUR']\n"
        "E = env.get('FIVE', '8000')\n"
    )
    assert variables_read(sample) == {"ONE", "TWO", "THREE", "FOUR", "FIVE"}


def test_env_example_lists_every_variable_settings_read():
    read = variables_read(BASE_DIR / "dashboard" / "settings.py")
    assert len(read) > 30
    missing = sorted(read - documented())
    assert missing == [], f".env.example does not document: {', '.join(missing)}"


def test_env_example_lists_every_variable_the_launcher_reads():
    missing = sorted(variables_read(BASE_DIR / "dashboard" / "launcher.py") - documented())
    assert missing == [], f".env.example does not document: {', '.join(missing)}"


def test_env_example_documents_nothing_that_is_not_read():
    read = variables_read(BASE_DIR / "dashboard" / "settings.py") | variables_read(
        BASE_DIR / "dashboard" / "launcher.py"
    )
    stale = sorted(documented() - read)
    assert stale == [], f".env.example documents variables nothing reads: {', '.join(stale)}"
