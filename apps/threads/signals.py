"""What the thread index tells higher layers, which connect to these in their
``AppConfig.ready()`` (the inbox keeps its records current from them).

- ``threads_seen(deployment, threads)``: thread dicts just read from a deployment (a page of the
  index sync, a relay's final read of its thread). Sent outside any obligation to listen: a
  receiver's failure propagates to the sender, which treats it as a failed cache refresh.
"""

from __future__ import annotations

from django.dispatch import Signal

threads_seen = Signal()
