"""``python -m switchboard``: see ``switchboard._cli``."""

from __future__ import annotations

import sys

from switchboard._cli import main

sys.exit(main())
