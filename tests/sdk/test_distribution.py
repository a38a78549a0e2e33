"""The SDK as a user gets it: the wheel is built from pyproject.toml and switchboard/ alone,
installed into a fresh virtualenv (no system site-packages, no Django, no source tree on
sys.path), and the SDK's live tests run there from the installed wheel against the real
`langgraph dev`."""

from __future__ import annotations

import email
import os
import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

import switchboard

ROOT = Path(__file__).resolve().parents[2]
LIVE_TESTS = [
    "test_live_threads.py",
    "test_live_runs.py",
    "test_live_hitl.py",
    "test_live_compat.py",
]
# What the live tests need besides the wheel, pinned as in requirements*.txt.
TEST_REQUIREMENTS = ["pytest==9.2.0", "pytest-asyncio==1.5.0", "httpx==0.28.1"]
RUN_FROM_WHEEL_CONFTEST = '''\
"""The live SDK tests, run against the installed wheel."""

import os
from pathlib import Path

import pytest
import switchboard

# Fails the run at once if the tests would import the source tree instead of the wheel.
assert "site-packages" in Path(switchboard.__file__).parts, switchboard.__file__


@pytest.fixture(scope="session")
def langgraph_url() -> str:
    return os.environ["SWITCHBOARD_TEST_GRAPH_URL"]
'''
PYTEST_INI = """\
[pytest]
asyncio_mode = auto
asyncio_default_fixture_loop_scope = function
pythonpath = .
addopts = -p no:cacheprovider
"""


def _run(*argv: str | Path, cwd: Path, env: dict[str, str] | None = None, timeout: float = 300):
    return subprocess.run(
        [str(a) for a in argv], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Built from a copy holding only what the distribution is made of (building in the
    worktree would leave build/ and egg-info behind)."""
    source = tmp_path_factory.mktemp("sdist")
    shutil.copy(ROOT / "pyproject.toml", source)
    shutil.copy(ROOT / "README.md", source)
    shutil.copytree(
        ROOT / "switchboard", source / "switchboard", ignore=shutil.ignore_patterns("__pycache__")
    )
    out = tmp_path_factory.mktemp("wheel")
    built = _run(
        sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
        "-w", out, source, cwd=source,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr
    (found,) = out.glob("*.whl")
    return found


@pytest.fixture(scope="module")
def env_dir(tmp_path_factory: pytest.TempPathFactory, wheel: Path) -> Path:
    home = tmp_path_factory.mktemp("venv") / "venv"
    venv.EnvBuilder(with_pip=True, system_site_packages=False).create(home)
    installed = _run(
        home / "bin" / "pip", "install", "-q", "--disable-pip-version-check", wheel,
        *TEST_REQUIREMENTS, cwd=home,
    )  # fmt: skip
    assert installed.returncode == 0, installed.stderr
    return home


def test_the_wheel_holds_the_sdk_alone_with_one_version_and_httpx_as_its_only_dependency(
    wheel: Path,
) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        (metadata_name,) = [n for n in names if n.endswith(".dist-info/METADATA")]
        metadata = email.message_from_bytes(archive.read(metadata_name))
    packages = {
        name.split("/")[0] for name in names if not name.split("/")[0].endswith(".dist-info")
    }
    assert packages == {"switchboard"}
    assert "switchboard/py.typed" in names
    assert metadata["Name"] == "switchboard-langgraph"
    assert metadata["Version"] == switchboard.__version__
    requires = metadata.get_all("Requires-Dist") or []
    assert [r for r in requires if "extra ==" not in r] == ["httpx<1,>=0.27"]
    assert sorted(metadata.get_all("Provides-Extra") or []) == ["cli", "fast"]


def test_the_installed_sdk_imports_without_django_and_its_command_asks_for_rich(
    env_dir: Path, tmp_path: Path
) -> None:
    python = env_dir / "bin" / "python"
    check = _run(
        python, "-c",
        "import sys, switchboard, switchboard._batch; "
        "print(switchboard.__file__); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('django', 'dashboard', 'apps')))",
        cwd=tmp_path,
    )  # fmt: skip
    assert check.returncode == 0, check.stderr
    where, django = check.stdout.splitlines()
    assert where.startswith(str(env_dir))
    assert django == "[]"
    command = _run(env_dir / "bin" / "switchboard", "threads", cwd=tmp_path)
    assert command.returncode == 2
    assert "pip install 'switchboard-langgraph[cli]'" in command.stderr
    bars = _run(
        python, "-c",
        "from switchboard._batch import _progress\n"
        "try:\n    _progress('rich')\nexcept Exception as error:\n    print(type(error).__name__, error)",
        cwd=tmp_path,
    )  # fmt: skip
    assert bars.stdout.startswith("InputError progress='rich' needs rich installed")


def test_the_live_sdk_tests_pass_from_the_installed_wheel(
    env_dir: Path, tmp_path: Path, langgraph_url: str
) -> None:
    tests = tmp_path / "tests"
    (tests / "sdk").mkdir(parents=True)
    (tests / "__init__.py").write_text("")
    (tests / "conftest.py").write_text(RUN_FROM_WHEEL_CONFTEST)
    for name in ["__init__.py", "conftest.py", "helpers.py", *LIVE_TESTS]:
        shutil.copy(ROOT / "tests" / "sdk" / name, tests / "sdk" / name)
    (tmp_path / "pytest.ini").write_text(PYTEST_INI)
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("PYTHONPATH", "DJANGO_SETTINGS_MODULE", "VIRTUAL_ENV")
    }
    env["SWITCHBOARD_TEST_GRAPH_URL"] = langgraph_url
    try:
        result = _run(
            env_dir / "bin" / "python", "-m", "pytest", "-v", "-x", "tests/sdk",
            cwd=tmp_path, env=env, timeout=240,
        )  # fmt: skip
    except subprocess.TimeoutExpired as late:
        pytest.fail(f"the live tests did not finish in 240 s:\n{late.stdout!s}"[-4000:])
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in result.stdout
    assert "skipped" not in result.stdout
