"""Per-token rate limiting in Redis: a points budget per hour, shared by all API replicas.

A request costs 1 + (its node estimate // 100) points, as GitHub's GraphQL API counts. The
window is the clock hour; a request that would overdraw the budget is refused and not
charged. Redis being down fails open (logged): an outage of the limiter must not take the
API down with it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

log = structlog.get_logger("issuegraph.rate_limit")

WINDOW_SECONDS = 3600

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
    def __init__(self, redis: Redis, points_per_hour: int, prefix: str = "issuegraph") -> None:
        self.redis = redis
        self.limit = points_per_hour
        self.prefix = prefix
        self._charge = redis.register_script(_CHARGE)

    async def charge(self, token_key: str, points: int) -> RateLimitState:
        window = int(time.time()) // WINDOW_SECONDS
        reset_at = datetime.fromtimestamp((window + 1) * WINDOW_SECONDS, UTC)
        key = f"{self.prefix}:ratelimit:{token_key}:{window}"
        try:
            used, allowed = await self._charge(
                keys=[key], args=[points, self.limit, WINDOW_SECONDS + 60]
            )
        except (RedisError, OSError) as error:
            log.warning("rate_limit.unavailable", error=str(error))
            return RateLimitState(self.limit, self.limit, reset_at, points, allowed=True)
        return RateLimitState(
            limit=self.limit,
            remaining=max(0, self.limit - int(used)),
            reset_at=reset_at,
            cost=points,
            allowed=bool(allowed),
        )
