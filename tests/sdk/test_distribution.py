"""The SDK as a user gets it: the wheel is built from pyproject.toml and switchboard/ alone,
installed into a fresh virtualenv (no system site-packages, no Django, no source tree on
sys.path), and the SDK's live tests run there from the installed wheel against the real
`langgraph dev`.

The wheel and its virtualenv are kept under the user's cache folder (``$XDG_CACHE_HOME`` or
``~/.cache``), in ``switchboard/sdk-<fingerprint>``: the fingerprint covers everything the wheel
is built from and installed with (pyproject.toml, README.md, switchboard/, the interpreter, the
build backend, the test requirements), so a change to any of them builds a fresh pair, and an
unchanged SDK is not rebuilt and reinstalled on every run. A file lock keeps two runs from
building one at once; pairs unused for a week are removed when a new one is built.
"""

from __future__ import annotations

import email
import fcntl
import hashlib
import importlib.metadata
import os
import shutil
import subprocess
import sys
import time
import venv
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
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
from collections.abc import Iterator
from contextlib import contextmanager
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


def _sources() -> list[Path]:
    package = [
        path
        for path in (ROOT / "switchboard").rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    ]
    return sorted([ROOT / "pyproject.toml", ROOT / "README.md", *package])


def _fingerprint() -> str:
    digest = hashlib.sha256()
    digest.update(sys.version.encode())
    digest.update(importlib.metadata.version("setuptools").encode())
    digest.update("\n".join(TEST_REQUIREMENTS).encode())
    for path in _sources():
        digest.update(str(path.relative_to(ROOT)).encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


@pytest.fixture(scope="module")
def cached() -> Path:
    """This SDK's folder in the cache (marked used now, so no other run removes it)."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "switchboard"
    home = cache / f"sdk-{_fingerprint()}"
    home.mkdir(parents=True, exist_ok=True)
    (home / "used").touch()
    return home


@contextmanager
def _locked(home: Path) -> Iterator[None]:
    """Held while something is built in ``home``; what is built is never changed after."""
    with home.with_name(f"{home.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _remove_unused(keep: Path) -> None:
    week_ago = time.time() - 7 * 24 * 3600
    for other in keep.parent.glob("sdk-*"):
        used = other / "used"
        if other != keep and other.is_dir() and used.exists() and used.stat().st_mtime < week_ago:
            shutil.rmtree(other, ignore_errors=True)
            other.with_name(f"{other.name}.lock").unlink(missing_ok=True)


def _fresh(folder: Path) -> Path:
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    return folder


@pytest.fixture(scope="module")
def wheel(cached: Path) -> Path:
    """Built from a copy holding only what the distribution is made of (building in the
    worktree would leave build/ and egg-info behind)."""
    out = cached / "wheel"
    with _locked(cached):
        if not (out / ".built").exists():
            _remove_unused(cached)
            source = _fresh(cached / "source")
            shutil.copy(ROOT / "pyproject.toml", source)
            shutil.copy(ROOT / "README.md", source)
            shutil.copytree(
                ROOT / "switchboard",
                source / "switchboard",
                ignore=shutil.ignore_patterns("__pycache__"),
            )
            built = _run(
                sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                "-w", _fresh(out), source, cwd=source,
            )  # fmt: skip
            assert built.returncode == 0, built.stderr
            shutil.rmtree(source)
            (out / ".built").touch()
    (found,) = out.glob("*.whl")
    return found


@pytest.fixture(scope="module")
def env_dir(cached: Path, wheel: Path) -> Path:
    # Made where it stays: a virtualenv's scripts name its path and cannot be moved.
    home = cached / "venv"
    with _locked(cached):
        if not (home / ".installed").exists():
            shutil.rmtree(home, ignore_errors=True)
            venv.EnvBuilder(with_pip=True, system_site_packages=False).create(home)
            installed = _run(
                home / "bin" / "pip", "install", "-q", "--disable-pip-version-check", wheel,
                *TEST_REQUIREMENTS, cwd=home,
            )  # fmt: skip
            assert installed.returncode == 0, installed.stderr
            (home / ".installed").touch()
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
