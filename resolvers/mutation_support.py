"""What every mutation shares: decoding input IDs, and ``mutation``, which declares a mutation
field in one expression: its input, its payload, the service call it makes and how its payload
is built from what that call returned.

Every expected failure arrives as a ``DomainError`` (a malformed input ID too: ``require_pk``
raises ``NotFound``) and leaves as a ``userErrors`` entry; the unit of work rolls back, so a
failed mutation changes nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

import strawberry

from resolvers.context import Context, ResolverInfo
from resolvers.services import Services
from schema import payloads
from schema.ids import pk_of
from schema.payloads import Payload, UserError
from schema.types import Job
from services import types as domain
from services.errors import DomainError, NotFound
from services.job_kind import JobStart
from services.unset import UNSET, Maybe

T = TypeVar("T")
R = TypeVar("R")
V = TypeVar("V")
InputT = TypeVar("InputT")
JobInputT = TypeVar("JobInputT", bound="KeyedInput")


class KeyedInput(Protocol):
    """The input of a mutation that starts a job."""

    @property
    def idempotency_key(self) -> str | None: ...


def require_pk(global_id: str, type_name: str, field: Sequence[str]) -> int:
    """The primary key behind an input ID; anything else is simply not found."""
    pk = pk_of(global_id, type_name)
    if pk is None:
        raise NotFound(f"{type_name} not found.", field)
    return pk


def input_pk(global_id: str, type_name: str, input_field: str) -> int:
    """``require_pk`` for a field of the mutation's ``input`` (named as in the schema)."""
    return require_pk(global_id, type_name, ["input", input_field])


def optional_pk(global_id: str | None, type_name: str, input_field: str) -> Maybe[int]:
    if global_id is strawberry.UNSET:
        return UNSET
    return None if global_id is None else input_pk(global_id, type_name, input_field)


def label_pks(ids: list[strawberry.ID] | None) -> Maybe[list[int]]:
    if ids is strawberry.UNSET:
        return UNSET
    if ids is None:
        return None
    return [require_pk(i, "Label", ["input", "labelIds", str(n)]) for n, i in enumerate(ids)]


def given(value: T | None) -> Maybe[T]:
    """Strawberry's UNSET (field absent) as the services' UNSET."""
    return UNSET if value is strawberry.UNSET else value


async def run(
    context: Context,
    work: Callable[[Services], Awaitable[T]],
    *,
    memberships: bool = False,
) -> T:
    """Run ``work`` with the request's services bound to the mutation's own session and commit
    once, before the payload is built; then the rest of the request reads what it wrote
    (``Context.after_write``)."""
    async with context.unit_of_work() as services:
        result = await work(services)
        await services.session.commit()
    await context.after_write(memberships=memberships)
    return result


@dataclass(frozen=True, slots=True)
class Written(Generic[InputT, R]):
    """A mutation's committed write: what its payload and after-commit effects are made from."""

    context: Context
    input: InputT
    result: R


def mutation(
    input_type: type[InputT],
    payload: Payload[V],
    work: Callable[[Services, InputT], Awaitable[R]],
    done: Callable[[Written[InputT, R]], V],
    *,
    then: Callable[[Written[InputT, R]], Awaitable[None]] | None = None,
    memberships: bool = False,
    description: str | None = None,
) -> Any:
    """A mutation field: ``work`` (which decodes its input IDs, then calls the service) in a
    unit of work committed once (``run``), then ``then``, the after-commit effects, and
    ``done``, the payload's result from the committed write."""

    async def write(context: Context, input: InputT) -> V:
        result = await run(context, lambda services: work(services, input), memberships=memberships)
        written = Written(context, input, result)
        if then is not None:
            await then(written)
        return done(written)

    return custom_mutation(input_type, payload, write, description=description)


Started = tuple[domain.Job, bool]


def job_mutation(
    input_type: type[JobInputT],
    start: Callable[[JobStart, JobInputT], Awaitable[Started]],
    *,
    description: str | None = None,
) -> Any:
    """A mutation that starts a job: ``start`` writes the job row, committed, and then it is
    enqueued (docs/architecture.md, rule 4: the row is the outbox).

    If Redis is unreachable the job stays QUEUED and the worker's sweeper enqueues it later;
    a repeated idempotency key returns the first job without enqueueing anything.
    """

    async def write(context: Context, input: JobInputT) -> Job:
        def starting(services: Services) -> Awaitable[Started]:
            jobs = context.jobs
            origin = JobStart(
                services.session,
                services.viewer,
                jobs.limits,
                idempotency_key=input.idempotency_key,
                request_id=context.request_id,
                trace_context=jobs.trace_context(),
            )
            return start(origin, input)

        job, created = await run(context, starting)
        if created:
            await context.jobs.queue.enqueue(job)
        return Job.from_model(job)

    return custom_mutation(input_type, payloads.JobPayload, write, description=description)


def custom_mutation(
    input_type: type[InputT],
    payload: Payload[V],
    write: Callable[[Context, InputT], Awaitable[V]],
    *,
    description: str | None = None,
) -> Any:
    """A mutation field whose ``write`` returns the payload's result; a ``DomainError`` from
    it is the payload's ``userErrors``. Returned as strawberry returns a field: for a class
    attribute of a ``strawberry.type``."""

    async def resolve(info: ResolverInfo, input: InputT) -> Any:
        try:
            return payload.of(await write(info.context, input))
        except DomainError as error:
            return payload.failed([UserError.of(error)])

    # What strawberry reads the argument and the field's type from (this module's own
    # annotations are strings naming type variables).
    resolve.__annotations__ = {"info": ResolverInfo, "input": input_type, "return": payload.type}
    return strawberry.mutation(resolver=resolve, description=description)
