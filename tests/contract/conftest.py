"""The servers the contract test runs against: the demo `langgraph dev` and Aegra 0.11, both
serving graphs/. Every test taking ``server`` runs once against each."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from dashboard.embedded import BASE_DIR
from switchboard import SyncClient
from tests.contract.aegra import aegra_server, prefetch

RUN_ID = os.environ["SWITCHBOARD_TEST_RUN"]


@dataclass(frozen=True)
class Server:
    name: str  # "langgraph dev" | "aegra"
    url: str

    @property
    def is_aegra(self) -> bool:
        return self.name == "aegra"


def _on_aegra(item: pytest.Item) -> bool:
    callspec = getattr(item, "callspec", None)
    return callspec is not None and callspec.params.get("server") == "aegra"


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The contract tests run last, and Aegra's virtualenv is built meanwhile: a machine's first
    build takes minutes of downloads the rest of the suite need not wait for."""
    here = Path(__file__).parent
    contract = [item for item in items if here in item.path.parents]
    if any(_on_aegra(item) for item in contract):
        prefetch()
    items[:] = [item for item in items if here not in item.path.parents] + contract


@pytest.fixture(scope="session")
def aegra_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Aegra 0.11 (Python 3.12 venv cached under var/, a PostgreSQL database of this run)."""
    log_dir = BASE_DIR / "var" / "log"
    log_dir.mkdir(parents=True, exist_ok=True)
    with aegra_server(
        tmp_path_factory.mktemp("aegra"),
        log_dir / f"aegra-test-{RUN_ID}.log",
        f"test_aegra_{RUN_ID}",
    ) as url:
        yield url


@pytest.fixture(scope="session", params=["langgraph dev", "aegra"])
def server(request: pytest.FixtureRequest) -> Server:
    if request.param == "aegra":
        return Server("aegra", request.getfixturevalue("aegra_url"))
    return Server("langgraph dev", request.getfixturevalue("langgraph_url"))


@pytest.fixture
def client(server: Server) -> Iterator[SyncClient]:
    """The console's client: the sync one, as Django views and Celery tasks use it."""
    with SyncClient(server.url, timeout=30.0) as sync_client:
        yield sync_client
