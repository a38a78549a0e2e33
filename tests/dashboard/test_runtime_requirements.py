"""The console runs on requirements.txt alone: the demo graph server's packages (in
requirements-demo.txt) are never imported by it, so a production image can leave them out."""

from __future__ import annotations

import re
import subprocess
import sys

from dashboard.embedded import BASE_DIR

DEMO_ONLY = ("langgraph", "langchain")

# Import everything the console's processes import: Django with every app's modules, the ASGI
# application, the Celery app with its tasks, the launcher; then list what was loaded.
PROBE = """
import importlib, pkgutil, sys
import django
django.setup()
import apps, dashboard
for package in (apps, dashboard):
    for module in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        if ".migrations" not in module.name:
            importlib.import_module(module.name)
print("\\n".join(sorted(sys.modules)))
"""


def _requirement_names(path) -> set[str]:
    names = set()
    for line in path.read_text().splitlines():
        match = re.match(r"([A-Za-z0-9_.-]+)", line.strip())
        if match and not line.startswith(("#", "-r")):
            names.add(match[1].lower())
    return names


def test_the_runtime_requirements_hold_no_demo_package_and_pin_kombu():
    runtime = _requirement_names(BASE_DIR / "requirements.txt")
    demo = _requirement_names(BASE_DIR / "requirements-demo.txt")
    assert not [name for name in runtime if name.startswith(DEMO_ONLY)]
    assert {"langgraph-cli", "langgraph-api", "langgraph-runtime-inmem", "langchain"} <= demo
    assert "kombu" in runtime


def test_the_console_imports_no_demo_package():
    loaded = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=BASE_DIR,
        env={"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "dashboard.settings"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert "apps.runs.relay" in loaded
    assert [name for name in loaded if name.split(".")[0] in DEMO_ONLY] == []
