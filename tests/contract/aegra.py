"""Aegra 0.11 serving our graphs/, for the contract test.

Aegra needs Python 3.12: its virtualenv is made once with that interpreter under the user's
cache folder (``$XDG_CACHE_HOME`` or ``~/.cache``, as pip keeps its own), in
``switchboard/aegra-<hash of aegra-requirements.txt>``, and reused by later runs and by other
checkouts, fresh clones included (a file lock keeps two runs from building it at once). Each run
gets its own PostgreSQL database, created before the server starts and dropped after it stops.

``prefetch()`` builds it in a background thread while the rest of the suite runs (the contract
tests run last, tests/contract/conftest.py): a first build takes minutes of pip downloads.
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import hashlib
import json
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.request import urlopen

import psycopg
from psycopg import sql

from dashboard.embedded import (
    free_port,
    resolved_config,
    stop,
    tied_to_this_process,
    wait_until,
)

REQUIREMENTS = Path(__file__).with_name("aegra-requirements.txt")
POSTGRES_URL = os.environ.get(
    "SWITCHBOARD_AEGRA_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres"
)
INSTALL_TIMEOUT = 900
START_TIMEOUT = 120


class AegraUnavailable(RuntimeError):
    pass


def python312() -> str:
    """A working Python 3.12: pyenv's, else python3.12 on PATH (a pyenv shim on PATH may
    exist without the version behind it, so each candidate is tried)."""
    candidates = sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.12*/bin/python3.12")))
    candidates += [found] if (found := shutil.which("python3.12")) else []
    for candidate in candidates:
        probe = subprocess.run([candidate, "-c", "import venv"], capture_output=True)
        if probe.returncode == 0:
            return candidate
    raise AegraUnavailable(
        "Aegra needs Python 3.12 and none was found (python3.12 on PATH or under ~/.pyenv)"
    )


def venv() -> Path:
    """The cached virtualenv with Aegra installed, built on first use."""
    digest = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()[:12]
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    home = cache / "switchboard" / f"aegra-{digest}"
    ready = home / ".installed"
    home.parent.mkdir(parents=True, exist_ok=True)
    with (home.parent / f"aegra-{digest}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not ready.exists():
            shutil.rmtree(home, ignore_errors=True)
            # Each child dies with the thread that started it: a prefetch cut short by the end
            # of the session leaves no pip behind (and no .installed, so the next run rebuilds).
            subprocess.run(
                [python312(), "-m", "venv", str(home)],
                check=True,
                preexec_fn=tied_to_this_process(),
            )
            subprocess.run(
                [
                    str(home / "bin" / "pip"),
                    "install",
                    "-q",
                    "--disable-pip-version-check",
                    "-r",
                    str(REQUIREMENTS),
                ],
                check=True,
                timeout=INSTALL_TIMEOUT,
                preexec_fn=tied_to_this_process(),
            )
            ready.touch()
    return home


def _build_quietly() -> None:
    # A failed build is reported by the contract tests' own call to venv(), which tries again.
    with contextlib.suppress(Exception):
        venv()


def prefetch() -> None:
    """Start building the virtualenv in the background (nothing to do when it is cached);
    ``venv()`` waits for it on the file lock."""
    threading.Thread(target=_build_quietly, name="aegra-venv", daemon=True).start()


@contextlib.contextmanager
def database(name: str) -> Iterator[str]:
    """A fresh PostgreSQL database for one Aegra run; dropped (with its connections) after."""
    with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield POSTGRES_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def _healthy(url: str) -> bool:
    try:
        with urlopen(f"{url}/health", timeout=1) as response:
            return bool(json.load(response).get("status") == "healthy")
    except (OSError, ValueError):
        return False


@contextlib.contextmanager
def aegra_server(state_dir: Path, log: Path, database_name: str) -> Iterator[str]:
    """``aegra serve`` on a free loopback port, serving graphs/ (the same graphs, with
    absolute paths, as `langgraph dev` gets); yields its URL."""
    home = venv()
    config = resolved_config(state_dir).rename(state_dir / "aegra.json")
    port = free_port()
    with database(database_name) as database_url:
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "AUTH_TYPE": "noop",
            "REDIS_BROKER_ENABLED": "false",
            "ENV_MODE": "LOCAL",
            "LOG_LEVEL": "WARNING",
            "LANGSMITH_TRACING": "false",
            "PYTHONUNBUFFERED": "1",
        }
        env.pop("REDIS_URL", None)
        proc = subprocess.Popen(
            [
                str(home / "bin" / "aegra"),
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--config",
                str(config),
            ],
            cwd=state_dir,
            env=env,
            stdout=log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            wait_until(lambda: _healthy(url), START_TIMEOUT, f"Aegra (log: {log})", proc)
            yield url
        finally:
            stop(proc)
