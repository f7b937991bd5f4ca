"""Relay connections with ``totalCount``, over keyset pages computed in the services, and
the page arguments of the fields that return them.

``totalCount`` costs its own batched COUNT query, so it runs only when selected.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
from collections.abc import Awaitable, Callable
from typing import Any, Concatenate, Generic, ParamSpec, TypeVar, cast

import strawberry

from schema.selection import selection
from services.pagination import Page, PageArgs

NodeT = TypeVar("NodeT")
P = ParamSpec("P")
R = TypeVar("R")


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


# Relay's page arguments, in the SDL's order, ahead of a connection field's own.
_PAGE_PARAMETERS = [
    inspect.Parameter(
        name, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None, annotation=kind | None
    )
    for name, kind in (("first", int), ("after", str), ("last", int), ("before", str))
]


def _page_args(info: Any, arguments: dict[str, Any]) -> PageArgs:
    """Take the page arguments out of a call's ``arguments``, checked."""
    first, after = arguments.pop("first", None), arguments.pop("after", None)
    last, before = arguments.pop("last", None), arguments.pop("before", None)
    return cast(PageArgs, info.context.page_args(first, after, last, before))


def paged(resolve: Callable[Concatenate[Any, Any, PageArgs, P], R]) -> Callable[..., R]:
    """A connection field's resolver from ``resolve(self, info, args, ...)``: the field takes
    ``first``/``after``/``last``/``before`` and ``resolve`` gets them checked against the
    request's paging policy as one ``PageArgs``, so no connection field spells them out.

    Strawberry reads a resolver's arguments from ``inspect.signature``, which honours
    ``__signature__``, and passes them by keyword; the wrapper keeps ``resolve``'s module
    (string annotations resolve there) and whether it is a coroutine function (strawberry and
    the compiled executor both ask: an async field's argument errors surface when awaited).
    """
    call: Callable[..., Any] = resolve
    resolver: Any
    if inspect.iscoroutinefunction(resolve):

        async def paged_async(self: object, info: Any, **arguments: Any) -> Any:
            return await call(self, info, _page_args(info, arguments), **arguments)

        resolver = paged_async
    else:

        def paged_sync(self: object, info: Any, **arguments: Any) -> Any:
            return call(self, info, _page_args(info, arguments), **arguments)

        resolver = paged_sync
    functools.update_wrapper(resolver, resolve)
    signature = inspect.signature(resolve)
    self_parameter, info_parameter, _args, *own = signature.parameters.values()
    parameters = [self_parameter, info_parameter, *_PAGE_PARAMETERS, *own]
    resolver.__signature__ = signature.replace(parameters=parameters)
    resolver.__annotations__ = {
        **{p.name: p.annotation for p in parameters if p.annotation is not p.empty},
        "return": signature.return_annotation,
    }
    return cast(Callable[..., R], resolver)
