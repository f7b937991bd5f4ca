"""Relation fields: a value loaded ahead, or loaded through the request's dataloaders when read.

An issue's reporter, assignee, labels and project, a comment's author: a look-ahead
(``resolvers/prefetch.py``) usually loads them for a whole page before they are read, and then
reading one must cost no more than reading a plain attribute. As resolver methods each read
cost a resolver call (an ``Info``, a response path, the call: ~500 per 50-issue page). Here
they are data descriptors: the executor reads them like any attribute; a value set on the
object (the look-ahead's) is returned as it is, and an object nobody loaded ahead answers an
awaitable that loads the value through the request's dataloader, batched with its siblings.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Generator
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar, overload

if TYPE_CHECKING:
    from schema.types.users import User

T = TypeVar("T")
O = TypeVar("O")  # noqa: E741 - the owner object


class Loader(Protocol):
    def load(self, key: Any) -> Awaitable[Any]: ...


class RelationLoaders(Protocol):
    """The request's dataloaders the relations load through (``resolvers.loaders.Loaders``)."""

    @property
    def user(self) -> Loader: ...

    @property
    def project(self) -> Loader: ...

    @property
    def issue_labels(self) -> Loader: ...

    @property
    def people(self) -> dict[int, User]:
        """The users built from rows' joined columns in this request, by id: one object per
        person however many rows name them (a W1 page names 50 people ~350 times)."""
        ...


_UNSET: Any = object()


class Relation(Generic[O]):
    """The descriptor; ``load(obj)`` gives the value (or an awaitable of it) when none was set.

    Declared as a strawberry field's default: dataclass ``__init__`` assigns the default (this
    descriptor) once, which ``__set__`` ignores.
    """

    def __init__(self, name: str, load: Callable[[O], Any]) -> None:
        # The field's name (dataclasses set a field's default on the class after creation,
        # so ``__set_name__`` would not run).
        self._slot = f"_{name}_loaded"
        self._load = load

    @overload
    def __get__(self, obj: None, owner: type[O] | None = None) -> Relation[O]: ...

    @overload
    def __get__(self, obj: O, owner: type[O] | None = None) -> Any: ...

    def __get__(self, obj: O | None, owner: type[O] | None = None) -> Any:
        if obj is None:
            return self
        value = obj.__dict__.get(self._slot, _UNSET)
        if value is _UNSET:
            return self._load(obj)
        return value

    def __set__(self, obj: O, value: Any) -> None:
        if value is not self:
            obj.__dict__[self._slot] = value


class Then(Generic[T]):
    """``awaitable``'s value passed through ``shape``, as an awaitable (no coroutine: one that
    is never awaited, because a sibling failed first, leaves no warning behind)."""

    __slots__ = ("_awaitable", "_shape")

    def __init__(self, awaitable: Awaitable[Any], shape: Callable[[Any], T]) -> None:
        self._awaitable = awaitable
        self._shape = shape

    def __await__(self) -> Generator[Any, None, T]:
        value = yield from self._awaitable.__await__()
        return self._shape(value)
