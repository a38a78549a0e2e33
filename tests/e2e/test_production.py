"""The production command, smoke-tested as an operator would deploy it.

``collectstatic`` and ``check --deploy`` as the image build runs them, then ``python -m
dashboard.launcher serve`` with ``SECRET_KEY``, ``DEBUG=false``, a PostgreSQL database and a Redis
prefix of its own. Requests come as the reverse proxy sends them (``X-Forwarded-Proto: https``),
so the production security settings (HTTPS redirect, secure cookies, CSRF origin checks) are all
on. Then the launcher is killed with SIGKILL: nothing it started may outlive it.

With ``SWITCHBOARD_SMOKE_IMAGE`` set (an image built from the Dockerfile), the same test runs the
console from that image instead, on the host's network: ``SWITCHBOARD_SMOKE_ENGINE`` is the
engine command (default ``podman``) and ``SWITCHBOARD_SMOKE_RUN_ARGS`` extra ``run`` options.
Inside a container without CAP_SYS_RESOURCE (as on the CI machine), Debian's podman 4.3 runs
images only with runc and limits it may set: build and run with ``podman --runtime runc`` and
``--ulimit nofile=4096:4096 --ulimit nproc=4096:4096`` (crun refuses to set the rlimits, and
refuses the host's hybrid cgroups).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import psycopg
import pytest
from cryptography.fernet import Fernet
from psycopg import sql
from websockets.sync.client import connect

from dashboard.embedded import BASE_DIR, free_port
from dashboard.env import env_database
from tests.e2e.processes import READINESS_PATH, alive, descendants, poll, port_free, wait_for

pytestmark = pytest.mark.slow

PROXY = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
PASSWORD = "a-long-production-password-9431"


@pytest.fixture
def own_database():
    """A PostgreSQL database of the test's own on the suite's server, dropped afterwards."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        pytest.skip("the production smoke test runs on PostgreSQL: DATABASE_URL names none")
    server = env_database("DATABASE_URL", url)
    name = f"sbprod_{os.environ['SWITCHBOARD_TEST_RUN']}_{uuid.uuid4().hex[:6]}"
    admin = psycopg.connect(
        host=server["HOST"] or "127.0.0.1",
        port=server["PORT"] or 5432,
        user=server["USER"] or None,
        password=server["PASSWORD"] or None,
        dbname="postgres",
        autocommit=True,
    )
    admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
        admin.close()


@pytest.fixture
def production_env(own_database, tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "LOG_FORMAT"}}
    env.update(
        SECRET_KEY=f"smoke-{uuid.uuid4().hex}{uuid.uuid4().hex}",
        DEBUG="false",
        FIELD_ENCRYPTION_KEY=Fernet.generate_key().decode(),
        ALLOWED_HOSTS="127.0.0.1,localhost",
        SITE_URL=f"https://127.0.0.1:{port}",
        DATABASE_URL=own_database,
        REDIS_URL=os.environ["REDIS_URL"],
        SWITCHBOARD_REDIS_PREFIX=f"{os.environ['SWITCHBOARD_REDIS_PREFIX']}-production",
        SWITCHBOARD_VAR_DIR=str(tmp_path / "var"),
        STATIC_ROOT=str(tmp_path / "static"),
        PORT=str(port),
        BIND_ADDRESS="127.0.0.1",
        RELAY_CONCURRENCY="4",
        DEFAULT_CONCURRENCY="1",
    )
    return env


def _manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


IMAGE = os.environ.get("SWITCHBOARD_SMOKE_IMAGE", "")
ENGINE = shlex.split(os.environ.get("SWITCHBOARD_SMOKE_ENGINE", "podman"))
# What the image is given; the rest of the test's environment (paths of this checkout) is not.
CONTAINER_ENV = (
    "SECRET_KEY", "DEBUG", "FIELD_ENCRYPTION_KEY", "ALLOWED_HOSTS", "SITE_URL", "DATABASE_URL",
    "REDIS_URL", "SWITCHBOARD_REDIS_PREFIX", "PORT", "BIND_ADDRESS", "RELAY_CONCURRENCY",
    "DEFAULT_CONCURRENCY",
)  # fmt: skip


class Served:
    """``launcher serve`` running, on this host or as the image's command in a container."""

    def __init__(self, env: dict[str, str], output: Path) -> None:
        self.base = f"http://127.0.0.1:{env['PORT']}"
        self.output = output
        self.container = f"switchboard-smoke-{uuid.uuid4().hex[:8]}" if IMAGE else ""
        if IMAGE:
            options = [f"--env={name}={env[name]}" for name in CONTAINER_ENV]
            extra = shlex.split(os.environ.get("SWITCHBOARD_SMOKE_RUN_ARGS", ""))
            command = [*ENGINE, "run", "--rm", "--network=host", f"--name={self.container}"]
            command += [*extra, *options, IMAGE]
        else:
            command = [sys.executable, "-m", "dashboard.launcher", "serve"]
        self.launcher = subprocess.Popen(
            command, cwd=BASE_DIR, env=env, stdout=output.open("w"), stderr=subprocess.STDOUT
        )
        self.tree: set[int] = set()

    def sigkill_leaves_nothing(self) -> None:
        """SIGKILL the launcher; wait until nothing it started is left."""
        if self.container:
            # The launcher is the container's first process: the kernel ends the rest with it.
            subprocess.run([*ENGINE, "kill", "--signal=KILL", self.container], check=True)
            self.launcher.wait(60)
            return
        self.tree |= descendants(self.launcher.pid)
        assert len(self.tree) >= 4, "daphne, two workers and beat"
        self.launcher.send_signal(signal.SIGKILL)
        self.launcher.wait()
        wait_for(lambda: not [pid for pid in self.tree if alive(pid)], 20, "every child dies")

    def clean_up(self) -> None:
        if self.container:
            subprocess.run([*ENGINE, "rm", "--force", self.container], capture_output=True)
        self.tree |= descendants(self.launcher.pid)
        if self.launcher.poll() is None:
            self.launcher.kill()
            self.launcher.wait()
        for pid in self.tree:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)


@pytest.fixture
def served(production_env, tmp_path):
    """The image build's step (collectstatic), then the production command."""
    if not IMAGE:
        built = _manage(production_env, "collectstatic", "--no-input")
        assert built.returncode == 0, built.stderr
    console = Served(production_env, tmp_path / "serve.out")
    try:
        yield console
    finally:
        console.clean_up()


def _json_lines(path: Path) -> list[dict[str, object]]:
    lines = []
    for line in path.read_text(errors="replace").splitlines():
        if line.startswith("{"):
            lines.append(json.loads(line))
    return lines


def test_the_production_settings_pass_the_deployment_checklist(production_env):
    result = _manage(production_env, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_production_command_serves_login_static_files_websockets_and_readiness(
    served, production_env
):
    base, output = served.base, served.output
    port = int(production_env["PORT"])

    # Ready: database, Redis and a worker answer (the command migrated the empty database).
    body = poll(f"{base}{READINESS_PATH}", 180, lambda s, b: s == 200, headers=PROXY)
    checks = {check["name"]: check["ok"] for check in json.loads(body)["checks"]}
    assert checks == {"database": True, "redis": True, "worker": True}
    made = _manage(
        {**production_env, "DJANGO_SUPERUSER_PASSWORD": PASSWORD},
        "createsuperuser", "--no-input", "--username", "ops", "--email", "ops@example.org",
    )  # fmt: skip
    assert made.returncode == 0, made.stderr

    with httpx.Client(base_url=base, headers=PROXY, timeout=10) as http:
        # Plain HTTP that did not come through the TLS proxy is sent to HTTPS.
        insecure = http.get("/accounts/login/", headers={"X-Forwarded-Proto": "http"})
        assert insecure.status_code == 301
        assert insecure.headers["location"].startswith("https://")

        # Log in, with the CSRF checks of an HTTPS site (Origin and Referer must match).
        form = http.get("/accounts/login/")
        assert form.status_code == 200
        csrf = form.cookies["csrftoken"]
        assert "secure" in form.headers["set-cookie"].lower()
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text)
        assert token is not None
        https_origin = f"https://127.0.0.1:{port}"
        logged_in = http.post(
            "/accounts/login/",
            data={"username": "ops", "password": PASSWORD, "csrfmiddlewaretoken": token[1]},
            headers={
                "Cookie": f"csrftoken={csrf}",
                "Origin": https_origin,
                "Referer": f"{https_origin}/accounts/login/",
            },
        )
        assert logged_in.status_code == 302, logged_in.text[:2000]
        session = logged_in.cookies["sessionid"]
        request_id = f"smoke-{uuid.uuid4().hex[:12]}"
        home = http.get(
            "/threads/", headers={"Cookie": f"sessionid={session}", "X-Request-ID": request_id}
        )
        assert home.status_code == 200
        assert "ops" in home.text
        # The request id: the caller's comes back; one is made when none (or a bad one) came.
        assert home.headers["x-request-id"] == request_id
        made_id = http.get(READINESS_PATH, headers={"X-Request-ID": 'bad id {"level": "forged"}'})
        assert re.fullmatch(r"[0-9a-f]{32}", made_id.headers["x-request-id"])

        # Static files: by content-hashed name, compressed, cached for good, from WhiteNoise.
        stylesheet = re.search(r'href="(/static/[^"]+\.[0-9a-f]{12}\.css)"', form.text)
        assert stylesheet is not None, "the login page links no hashed stylesheet"
        css = http.get(stylesheet[1], headers={"Accept-Encoding": "gzip"})
        assert css.status_code == 200
        assert css.headers["content-type"].startswith("text/css")
        assert css.headers["content-encoding"] == "gzip"
        assert "immutable" in css.headers["cache-control"]
        assert http.get("/static/css/no-such-file.css").status_code == 404

    # A websocket, through Daphne and the channel layer on Redis: the inbox badge on connect.
    with connect(
        f"ws://127.0.0.1:{port}/ws/inbox/",
        additional_headers={"Cookie": f"sessionid={session}", "Origin": https_origin, **PROXY},
        open_timeout=10,
    ) as socket:
        assert 'id="inbox-count"' in socket.recv(timeout=10)

    # Structured logs: the request's line, as JSON, with its id, from the Daphne process.
    wait_for(
        lambda: any(line.get("request_id") == request_id for line in _json_lines(output)),
        10,
        "the request's log line",
    )
    line = next(line for line in _json_lines(output) if line.get("request_id") == request_id)
    assert (line["process"], line["method"], line["path"], line["status"]) == (
        "daphne", "GET", "/threads/", 200,
    )  # fmt: skip

    # Killed with SIGKILL, the launcher takes every process it started with it.
    served.sigkill_leaves_nothing()
    assert port_free(port)
