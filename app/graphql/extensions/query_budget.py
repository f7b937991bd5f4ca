"""``QueryBudget``: the query's cost against its limit and the token's hourly budget."""

from __future__ import annotations

import time
from typing import Any

from graphql import ExecutionResult, GraphQLError
from strawberry.types import ExecutionContext

from app.graphql.document_facts import OperationFacts
from app.policy.cost import CostRules, estimate_nodes
from app.policy.rate_limit import RateLimiter, request_points
from resolvers.context import RateLimitInfo
from schema.framework_compat import graphql_core_schema


def _later(new: dict[str, str], current: Any) -> bool:
    """Does ``new`` describe a later point of the budget than the headers already set?"""
    if "X-RateLimit-Remaining" not in current:
        return True
    if current["X-RateLimit-Reset"] != new["X-RateLimit-Reset"]:
        return int(new["X-RateLimit-Reset"]) > int(current["X-RateLimit-Reset"])
    return int(new["X-RateLimit-Remaining"]) <= int(current["X-RateLimit-Remaining"])


class QueryBudget:
    """Refuse queries that could return too many nodes; charge the token's hourly budget."""

    def __init__(self, *, max_cost: int, rules: CostRules, limiter: RateLimiter | None) -> None:
        self.max_cost = max_cost
        self.rules = rules
        self.limiter = limiter

    async def after_operation(self, ctx: ExecutionContext) -> None:
        """A request refused before execution (syntax, validation, cost) still costs the base
        point and still gets the headers: refusals are not a free way to hammer."""
        if getattr(ctx.context, "rate_limit", None) is None:
            await self._charge(ctx, 0)

    async def _charge(self, ctx: ExecutionContext, nodes: int) -> bool:
        """Charge the viewer's token; False when the budget would be overdrawn."""
        context = ctx.context
        viewer = getattr(context, "viewer", None)
        if self.limiter is None or viewer is None or viewer.token_key is None:
            return True
        state = await self.limiter.charge(viewer.token_key, request_points(nodes))
        context.rate_limit = RateLimitInfo(state.limit, state.remaining, state.reset_at, state.cost)
        response = getattr(context, "response", None)
        if response is not None and _later(state.headers(), response.headers):
            # The operations of a batch charge concurrently and their answers from Redis
            # may come back in any order: the headers keep the latest standing.
            response.headers.update(state.headers())
            if not state.allowed:
                response.status_code = 429
                seconds = max(1, int(state.reset_at.timestamp() - time.time()))
                response.headers["Retry-After"] = str(seconds)
        if not state.allowed:
            ctx.result = ExecutionResult(
                data=None,
                errors=[
                    GraphQLError(
                        f"Rate limit of {state.limit} points per hour spent; it resets at "
                        f"{state.reset_at.isoformat()}.",
                        extensions={
                            "code": "RATE_LIMITED",
                            "cost": state.cost,
                            "remaining": state.remaining,
                            "resetAt": state.reset_at.isoformat(),
                        },
                    )
                ],
            )
        return state.allowed

    async def before_execution(self, ctx: ExecutionContext, found: OperationFacts) -> None:
        """Runs after validation and the authentication gate, before any resolver."""
        if found.operation is None:
            return
        nodes = estimate_nodes(
            graphql_core_schema(ctx.schema),
            found.operation,
            found.fragments,
            ctx.variables or {},
            self.rules,
        )
        context = ctx.context
        # Operations of one batch share the context: the budget holds for the whole request.
        spent = getattr(context, "nodes_estimated", None)
        if isinstance(spent, int):
            context.nodes_estimated = spent + nodes
            nodes = spent + nodes
        if nodes > self.max_cost:
            ctx.result = ExecutionResult(
                data=None,
                errors=[
                    GraphQLError(
                        f"This query could return up to {nodes:,} nodes; the limit is "
                        f"{self.max_cost:,}. Ask for smaller pages (first/last).",
                        extensions={
                            "code": "QUERY_TOO_COSTLY",
                            "cost": nodes,
                            "limit": self.max_cost,
                        },
                    )
                ],
            )
            return
        await self._charge(ctx, nodes)
