"""A request budget per deployment, shared by every worker: a token bucket in Redis.

The bucket holds at most ``burst`` tokens and gains ``rate`` a second. ``take`` spends tokens
only if there are enough (the poller skips a cycle otherwise); ``charge`` spends them whatever
the balance, down into debt, for requests already decided on (the inbox reading the state of
each interrupted thread a poll found), so that over any stretch of time the requests sent stay
within ``burst + rate * seconds``. One Lua script per call: atomic across processes, and timed
by Redis's clock, so workers with skewed clocks share one budget.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import redis
from django.conf import settings
from redis.commands.core import Script

# KEYS[1]: the bucket. ARGV: rate per second, burst, tokens wanted, 1 to spend into debt.
# Returns 1 when the tokens were spent. The key expires once a full bucket would have refilled.
_SCRIPT = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local wanted = tonumber(ARGV[3])
local force = ARGV[4] == '1'
local now = redis.call('TIME')
local t = tonumber(now[1]) + tonumber(now[2]) / 1000000
local saved = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(saved[1]) or burst
local at = tonumber(saved[2]) or t
tokens = math.min(burst, tokens + math.max(0, t - at) * rate)
local spent = 0
if force or tokens >= wanted then
  tokens = tokens - wanted
  spent = 1
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(t))
redis.call('EXPIRE', KEYS[1], math.ceil((burst - math.min(tokens, 0) + burst) / rate) + 1)
return spent
"""


@dataclass(frozen=True)
class Bucket:
    """The budget of one deployment: ``rate`` requests a second, ``burst`` at once."""

    key: str
    rate: float
    burst: float

    def take(self, tokens: float = 1.0) -> bool:
        return bool(_script()(keys=[self.key], args=[self.rate, self.burst, tokens, 0]))

    def charge(self, tokens: float) -> None:
        if tokens > 0:
            _script()(keys=[self.key], args=[self.rate, self.burst, tokens, 1])


@functools.cache
def _script() -> Script:
    # Built on first use in each process; redis-py's pool reconnects after a fork by itself.
    client = redis.Redis.from_url(
        settings.REDIS_URL, socket_timeout=2.0, socket_connect_timeout=2.0
    )
    return client.register_script(_SCRIPT)


def deployment_bucket(deployment_id: int) -> Bucket:
    return Bucket(
        key=f"{settings.REDIS_PREFIX}:pace:deployment:{deployment_id}",
        rate=settings.THREADS_POLL_RATE,
        burst=settings.THREADS_POLL_BURST,
    )
