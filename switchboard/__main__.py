"""``python -m switchboard`` and the ``switchboard`` command: see ``switchboard._cli``.

The terminal console draws with ``rich``, an optional dependency (the ``cli`` extra): without it
the command says how to get it instead of failing with a traceback.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

_main: Callable[[], int] | None
try:
    from switchboard._cli import main as _main
except ModuleNotFoundError as exc:
    if exc.name != "rich":
        raise
    _main = None

MISSING_RICH = (
    "the switchboard command needs rich: pip install 'switchboard-langgraph[cli]' "
    "(or pip install rich)"
)


def run() -> int:
    """The console-script entry point."""
    if _main is None:
        print(MISSING_RICH, file=sys.stderr)
        return 2
    return _main()


if __name__ == "__main__":
    sys.exit(run())
