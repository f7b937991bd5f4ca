"""Relay connections with ``totalCount``, over keyset pages computed in the services.

``totalCount`` costs its own batched COUNT query, so it runs only when selected.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

import strawberry

from schema.selection import selection
from services.pagination import Page

NodeT = TypeVar("NodeT")


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    _page: strawberry.Private[Page[Any]]

    @strawberry.field
    def start_cursor(self) -> str | None:
        return self._page.cursor(0) if self._page.items else None

    @strawberry.field
    def end_cursor(self) -> str | None:
        items = self._page.items
        return self._page.cursor(len(items) - 1) if items else None


def _edge_cursor(root: Edge[Any]) -> str:
    """Encoded when selected: most clients page with ``pageInfo`` or not at all."""
    return root._page.cursor(root._index)


@strawberry.type
class Edge(Generic[NodeT]):
    cursor: str = strawberry.field(resolver=_edge_cursor)
    node: NodeT
    _page: strawberry.Private[Page[Any]]
    _index: strawberry.Private[int]


def _edge(node: Any, page: Page[Any], index: int) -> Edge[Any]:
    """An edge without the dataclass ``__init__`` (one per node of every page)."""
    edge: Edge[Any] = object.__new__(Edge)
    edge.__dict__.update({"node": node, "_page": page, "_index": index})
    return edge


@strawberry.type
class Connection(Generic[NodeT]):
    edges: list[Edge[NodeT]]
    page_info: PageInfo
    _count: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field
    async def total_count(self) -> int:
        return await self._count()

    @classmethod
    def of(
        cls,
        page: Page[NodeT],
        count: Callable[[], Awaitable[int]],
    ) -> Connection[NodeT]:
        """A connection over a page whose items are already GraphQL objects."""
        return cls(
            edges=[_edge(n, page, i) for i, n in enumerate(page.items)],
            page_info=PageInfo(
                has_next_page=page.has_next_page,
                has_previous_page=page.has_previous_page,
                _page=page,
            ),
            _count=count,
        )


async def constant(value: int) -> int:
    return value


def counter(info: Any, load: Callable[[], Awaitable[int]]) -> Callable[[], Awaitable[int]]:
    """Start the count together with the page when ``totalCount`` is selected.

    Loaded lazily, the counts of sibling connections would be requested whenever each
    connection's page happens to finish, and could land in separate loader batches.
    """
    found = selection(info)
    counted = found.memo.get("totalCount")
    if counted is None:
        counted = found.memo["totalCount"] = any(f.name == "totalCount" for f in found.fields)
    if counted:
        started = asyncio.ensure_future(load())
        # If the page fails, nobody awaits the count: retrieve its error so it is not
        # reported as "never retrieved" (and does not trip CPython's gh-106905 at GC).
        started.add_done_callback(lambda f: f.cancelled() or f.exception())
        return lambda: started
    return load
