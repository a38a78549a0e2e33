"""``client.store``: the deployment's long-term memory (LangGraph's Store), with
``langgraph_sdk``'s method and keyword names.

Items live under a namespace (a tuple of strings such as ``("users", "alice")``) and a key;
their value is a JSON object. Written once, async; ``SyncClient.store`` is its blocking twin.

Aegra 0.11 scopes the store per user: what is put under ``("a",)`` is stored, listed and
returned under ``("users", <user>, "a")`` (``"anonymous"`` without auth), while ``get_item``,
``delete_item`` and ``search_items`` keep taking the namespace as it was written.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, cast

from switchboard._client import QueryParams, Timeout, _compact, _merged
from switchboard.errors import InputError, NotFoundError

if TYPE_CHECKING:
    from switchboard._client import ClientCore

Item = dict[str, Any]


def _namespace(namespace: Sequence[str]) -> list[str]:
    if isinstance(namespace, str):
        raise InputError(f"a namespace is a sequence of strings, e.g. ({namespace!r},)")
    labels = list(namespace)
    for label in labels:
        # The GET endpoint joins labels with dots: a dot inside one would split it in two.
        if not isinstance(label, str) or not label or "." in label:
            raise InputError(f"namespace labels are non-empty strings without '.': {labels!r}")
    return labels


class StoreNamespace:
    """``client.store``: put, get, delete and search items; list namespaces."""

    def __init__(self, client: ClientCore) -> None:
        self._client = client

    async def put_item(
        self,
        namespace: Sequence[str],
        /,
        key: str,
        value: Mapping[str, Any],
        index: Literal[False] | Sequence[str] | None = None,
        ttl: int | None = None,
        *,
        params: QueryParams | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: Timeout = None,
    ) -> None:
        """Store ``value`` under ``namespace``/``key`` (replacing what was there). ``index``:
        which fields to embed for semantic search (``False``: none); ``ttl`` in minutes."""
        body = _compact(
            namespace=_namespace(namespace),
            key=key,
            value=dict(value),
            index=index if index is False or index is None else list(index),
            ttl=ttl,
        )
        # Writing the same item twice leaves the same store: safe to retry.
        await self._client._http.request(
            "PUT",
            "/store/items",
            json=body,
            params=params,
            headers=headers,
            timeout=timeout,
            idempotent=True,
        )

    async def get_item(
        self,
        namespace: Sequence[str],
        /,
        key: str,
        *,
        refresh_ttl: bool | None = None,
        params: QueryParams | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: Timeout = None,
    ) -> Item | None:
        """The item (``namespace``, ``key``, ``value``, ``created_at``, ``updated_at``), or
        ``None`` when there is none (`langgraph dev` answers null, Aegra 404: both are None)."""
        query = _compact(
            namespace=".".join(_namespace(namespace)), key=key, refresh_ttl=refresh_ttl
        )
        try:
            result = await self._client._http.request(
                "GET",
                "/store/items",
                params=_merged(query, params),
                headers=headers,
                timeout=timeout,
            )
        except NotFoundError:
            return None
        return cast("Item | None", result)

    async def delete_item(
        self,
        namespace: Sequence[str],
        /,
        key: str,
        *,
        params: QueryParams | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: Timeout = None,
    ) -> None:
        await self._client._http.request(
            "DELETE",
            "/store/items",
            json={"namespace": _namespace(namespace), "key": key},
            params=params,
            headers=headers,
            timeout=timeout,
            idempotent=True,
        )

    async def search_items(
        self,
        namespace_prefix: Sequence[str],
        /,
        filter: Mapping[str, Any] | None = None,
        limit: int = 10,
        offset: int = 0,
        query: str | None = None,
        refresh_ttl: bool | None = None,
        *,
        params: QueryParams | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: Timeout = None,
    ) -> dict[str, list[Item]]:
        """``{"items": [...]}``: items under ``namespace_prefix`` whose value contains
        ``filter``; ``query`` ranks them by meaning where the store has an index."""
        body = _compact(
            namespace_prefix=_namespace(namespace_prefix),
            filter=dict(filter) if filter is not None else None,
            limit=limit,
            offset=offset,
            query=query,
            refresh_ttl=refresh_ttl,
        )
        result = await self._client._http.request(
            "POST",
            "/store/items/search",
            json=body,
            params=params,
            headers=headers,
            timeout=timeout,
        )
        return cast("dict[str, list[Item]]", result)

    async def list_namespaces(
        self,
        prefix: Sequence[str] | None = None,
        suffix: Sequence[str] | None = None,
        max_depth: int | None = None,
        limit: int = 100,
        offset: int = 0,
        *,
        params: QueryParams | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: Timeout = None,
    ) -> dict[str, list[list[str]]]:
        """``{"namespaces": [[...], ...]}``: the namespaces that hold items, filtered by
        ``prefix``/``suffix`` and cut at ``max_depth`` labels."""
        body = _compact(
            prefix=_namespace(prefix) if prefix is not None else None,
            suffix=_namespace(suffix) if suffix is not None else None,
            max_depth=max_depth,
            limit=limit,
            offset=offset,
        )
        result = await self._client._http.request(
            "POST", "/store/namespaces", json=body, params=params, headers=headers, timeout=timeout
        )
        return cast("dict[str, list[list[str]]]", result)
