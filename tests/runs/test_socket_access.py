"""Open websockets close once their session would no longer let a request in (issue 14, row 6).

Both sockets the console serves, the run page's and the inbox badge's, through the real Daphne and
Redis: opened with a real session, then the user's password changes, the user is deactivated, or
the user leaves the team. Each socket must close with 4403 within a few re-check intervals,
and must stay open (and quiet) while nothing changed.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.contrib.auth.models import User
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from apps.accounts.models import Membership, Team
from apps.deployments.models import Deployment
from apps.runs.socket_access import RECHECK_SECONDS
from tests.fixtures.runs import create_run

pytestmark = pytest.mark.django_db(transaction=True)

CLOSE_NO_ACCESS = 4403
# A few re-check intervals: the check runs beside the stream on a loaded machine.
CLOSE_WITHIN = 10 * RECHECK_SECONDS


def change_password(user: User, team: Team) -> None:
    user.set_password("a-brand-new-passphrase")
    user.save()


def deactivate(user: User, team: Team) -> None:
    user.is_active = False
    user.save()


def remove_from_team(user: User, team: Team) -> None:
    Membership.objects.filter(user=user, team=team).delete()


CHANGES = [change_password, deactivate, remove_from_team]


@pytest.fixture
def open_socket(
    daphne_url: str, ws_login: Callable[..., dict[str, str]]
) -> Iterator[Callable[[str, User], ClientConnection]]:
    with contextlib.ExitStack() as opened:

        def open_(path: str, user: User) -> ClientConnection:
            return opened.enter_context(
                connect(
                    daphne_url.replace("http://", "ws://") + path,
                    additional_headers=ws_login(user, origin=daphne_url),
                    open_timeout=10,
                )
            )

        yield open_


def assert_stays_open(socket: ClientConnection) -> None:
    with pytest.raises(TimeoutError):
        socket.recv(timeout=RECHECK_SECONDS * 1.5)


def read_until_closed(socket: ClientConnection) -> ConnectionClosed:
    """Read (frames sent before the close are fine) until the server closes the socket."""
    while True:
        try:
            socket.recv(timeout=CLOSE_WITHIN)
        except ConnectionClosed as closed:
            return closed


def assert_closed_for_access(socket: ClientConnection) -> None:
    closed = read_until_closed(socket)
    assert closed.rcvd is not None, "the server never closed the socket"
    assert closed.rcvd.code == CLOSE_NO_ACCESS


@pytest.mark.parametrize("change", CHANGES, ids=lambda change: change.__name__)
def test_an_open_run_socket_closes_when_the_session_is_no_longer_valid(
    change: Callable[[User, Team], None],
    open_socket: Callable[[str, User], ClientConnection],
    bob: User,
    team_a: Team,
    deployment_a: Deployment,
) -> Any:
    run = create_run(deployment_a, [("custom", {"n": 1})])
    socket = open_socket(f"/ws/runs/{run.pk}/?after=1", bob)
    assert 'data-kind="hello"' in str(socket.recv(timeout=10))
    assert_stays_open(socket)

    change(bob, team_a)

    assert_closed_for_access(socket)


@pytest.mark.parametrize("change", CHANGES, ids=lambda change: change.__name__)
def test_an_open_inbox_socket_closes_when_the_session_is_no_longer_valid(
    change: Callable[[User, Team], None],
    open_socket: Callable[[str, User], ClientConnection],
    bob: User,
    team_a: Team,
) -> Any:
    socket = open_socket("/ws/inbox/", bob)
    assert 'id="inbox-count"' in str(socket.recv(timeout=10))
    assert_stays_open(socket)

    change(bob, team_a)

    assert_closed_for_access(socket)
