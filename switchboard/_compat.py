"""``langgraph_sdk``'s keyword names on our methods: ``thread_id=`` for ``thread=``,
``run_id=`` for ``run=``, ``assistant_id=`` for ``assistant=``, ``values=`` for
``state_update=``. Code written for ``langgraph_sdk`` calls ours unchanged; our own names stay.

``accepts(thread_id="thread")`` renames the keyword before the call and adds it, keyword-only,
to the method's signature (what ``help()``, IDEs and the parity test read).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, TypeVar, cast

from switchboard.errors import InputError

F = TypeVar("F", bound=Callable[..., Any])


def _renamed(fn_name: str, aliases: dict[str, str], kwargs: dict[str, Any]) -> dict[str, Any]:
    for alias, name in aliases.items():
        if alias in kwargs:
            if name in kwargs:
                raise InputError(f"{fn_name}() got both {name}= and {alias}=; pass one")
            kwargs[name] = kwargs.pop(alias)
    return kwargs


def accepts(**aliases: str) -> Callable[[F], F]:
    """Let ``fn`` also take each ``alias=`` keyword for the parameter it names."""

    def decorate(fn: F) -> F:
        name = fn.__name__
        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def coroutine(*args: Any, **kwargs: Any) -> Any:
                return await fn(*args, **_renamed(name, aliases, kwargs))

            wrapper: Callable[..., Any] = coroutine
        else:

            @functools.wraps(fn)
            def function(*args: Any, **kwargs: Any) -> Any:
                return fn(*args, **_renamed(name, aliases, kwargs))

            wrapper = function
        signature = inspect.signature(fn)
        params = list(signature.parameters.values())
        variadic = [p for p in params if p.kind is inspect.Parameter.VAR_KEYWORD]
        params = [p for p in params if p.kind is not inspect.Parameter.VAR_KEYWORD]
        for alias, target in aliases.items():
            annotation = signature.parameters[target].annotation
            params.append(
                inspect.Parameter(
                    alias, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=annotation
                )
            )
        signature = signature.replace(parameters=params + variadic)
        wrapper.__signature__ = signature  # type: ignore[attr-defined]
        return cast("F", wrapper)

    return decorate
