"""Per-token rate limiting in Redis: a points budget per hour, shared by all API replicas.

A request costs 1 + (its node estimate // 100) points, as GitHub's GraphQL API counts. The
window is the clock hour; a request that would overdraw the budget is refused and not
charged. Redis being down fails open: an outage of the limiter must not take the API down with
it. A short circuit breaker keeps that cheap: once Redis failed, requests skip it for
``retry_seconds`` and then one asks again, so an outage costs neither a connection attempt
(or a hung one's timeout) per request nor a warning per request: one
``rate_limit.unavailable`` when it starts, one ``rate_limit.recovered`` when it ends.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

log = structlog.get_logger("issuegraph.rate_limit")

WINDOW_SECONDS = 3600
# While Redis is known to be down, how long requests skip it before one tries it again.
RETRY_SECONDS = 1.0
# The longest a charge may wait for Redis (a hung server, a dropped network) before failing
# open; a healthy charge takes well under a millisecond.
CHARGE_TIMEOUT_SECONDS = 0.5

# Charge only if the budget allows: [used after, allowed (1/0)].
_CHARGE = """
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
local points = tonumber(ARGV[1])
if used + points > tonumber(ARGV[2]) then
  return {used, 0}
end
used = redis.call('INCRBY', KEYS[1], points)
redis.call('EXPIRE', KEYS[1], ARGV[3])
return {used, 1}
"""


def request_points(nodes: int) -> int:
    return 1 + nodes // 100


@dataclass(frozen=True)
class RateLimitState:
    limit: int
    remaining: int
    reset_at: datetime
    cost: int
    allowed: bool

    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(int(self.reset_at.timestamp())),
        }


class RateLimiter:
    def __init__(
        self,
        redis: Redis,
        points_per_hour: int,
        prefix: str = "issuegraph",
        *,
        retry_seconds: float = RETRY_SECONDS,
    ) -> None:
        self.redis = redis
        self.limit = points_per_hour
        self.prefix = prefix
        self.retry_seconds = retry_seconds
        self._charge = redis.register_script(_CHARGE)
        self._down = False
        self._skip_until = 0.0  # time.monotonic() before which Redis is not asked

    async def charge(self, token_key: str, points: int) -> RateLimitState:
        window = int(time.time()) // WINDOW_SECONDS
        reset_at = datetime.fromtimestamp((window + 1) * WINDOW_SECONDS, UTC)
        key = f"{self.prefix}:ratelimit:{token_key}:{window}"
        unlimited = RateLimitState(self.limit, self.limit, reset_at, points, allowed=True)
        if self._down and time.monotonic() < self._skip_until:
            return unlimited
        try:
            async with asyncio.timeout(CHARGE_TIMEOUT_SECONDS):
                used, allowed = await self._charge(
                    keys=[key], args=[points, self.limit, WINDOW_SECONDS + 60]
                )
        except (RedisError, OSError, TimeoutError) as error:
            self._skip_until = time.monotonic() + self.retry_seconds
            if not self._down:
                self._down = True
                log.warning(
                    "rate_limit.unavailable",
                    error=f"{type(error).__name__}: {error}",
                    retry_seconds=self.retry_seconds,
                )
            return unlimited
        if self._down:
            self._down = False
            log.info("rate_limit.recovered")
        return RateLimitState(
            limit=self.limit,
            remaining=max(0, self.limit - int(used)),
            reset_at=reset_at,
            cost=points,
            allowed=bool(allowed),
        )
