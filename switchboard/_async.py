"""``Client``: the async SDK as it is held. Its calls are ``ClientCore``'s; on top of them, the
official client's layout (``client.threads.create(...)``, ``client.runs.stream(...)``, ``client.crons``,
``client.store``), whose namespaces are written over those calls and so live a module above them."""

from __future__ import annotations

import functools

from switchboard._client import ClientCore
from switchboard._crons import CronsNamespace
from switchboard._namespaces import AssistantsNamespace, RunsNamespace, ThreadsNamespace
from switchboard._store import StoreNamespace


class Client(ClientCore):
    __doc__ = ClientCore.__doc__

    @functools.cached_property
    def threads(self) -> ThreadsNamespace:
        return ThreadsNamespace(self)

    @functools.cached_property
    def runs(self) -> RunsNamespace:
        return RunsNamespace(self)

    @functools.cached_property
    def assistants(self) -> AssistantsNamespace:
        return AssistantsNamespace(self)

    @functools.cached_property
    def crons(self) -> CronsNamespace:
        return CronsNamespace(self)

    @functools.cached_property
    def store(self) -> StoreNamespace:
        return StoreNamespace(self)
