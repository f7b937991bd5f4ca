"""This request's standing against its token's hourly budget, set by the query budget
extension before execution and read by ``Query.rateLimit``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class RateLimitInfo:
    limit: int
    remaining: int
    reset_at: datetime
    cost: int
