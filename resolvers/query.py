"""The Query root."""

from __future__ import annotations

import asyncio
from datetime import datetime
from functools import partial

import strawberry

from resolvers import prefetch
from resolvers.context import Context, ResolverInfo
from schema.connections import Connection, constant, paged
from schema.entities import ENTITIES
from schema.ids import from_global_id, pk_of
from schema.issue_lookahead import issue_relations, project_issue_page
from schema.types import Issue, Job, Node, Project, User, Workspace
from schema.types.tracker import IssueBatch
from services.errors import DomainError
from services.issues import PROJECT_PREFIX
from services.pagination import PageArgs

ContextInfo = ResolverInfo


async def load_node(context: Context, global_id: str) -> Node | None:
    """Any object by global ID; a foreign, missing or malformed ID reads as null."""
    parsed = from_global_id(global_id)
    entity = ENTITIES.get(parsed[0]) if parsed is not None else None
    if parsed is None or entity is None:
        return None
    node: Node | None = await context.loaders.by_id(entity).load(parsed[1])
    if isinstance(node, User) and not node.visible_to_viewer:
        return None  # a user who shares no workspace with the viewer is foreign
    return node


@strawberry.type(description="The viewer's API rate limit, as of this request.")
class RateLimit:
    limit: int = strawberry.field(description="Points per hour for this token.")
    remaining: int = strawberry.field(description="Points left in the current window.")
    reset_at: datetime = strawberry.field(description="When the window resets.")
    cost: int = strawberry.field(description="Points this request cost: 1 + nodes / 100.")


@strawberry.type
class Query:
    @strawberry.field(description="Null when rate limiting is switched off.")
    def rate_limit(self, info: ContextInfo) -> RateLimit | None:
        state = info.context.rate_limit
        if state is None:
            return None
        return RateLimit(
            limit=state.limit, remaining=state.remaining, reset_at=state.reset_at, cost=state.cost
        )

    @strawberry.field
    async def node(self, info: ContextInfo, id: strawberry.ID) -> Node | None:
        return await load_node(info.context, id)

    @strawberry.field
    async def nodes(self, info: ContextInfo, ids: list[strawberry.ID]) -> list[Node | None]:
        info.context.check_list_size(ids, "ids")
        return list(await asyncio.gather(*(load_node(info.context, i) for i in ids)))

    @strawberry.field(description="The user the request's token belongs to.")
    def viewer(self, info: ContextInfo) -> User:
        viewer = info.context.require_viewer()
        return User.from_view_of_self(viewer.user_id, viewer.name, viewer.email)

    @strawberry.field(description="Workspaces the viewer is a member of.")
    @paged
    async def workspaces(self, info: ContextInfo, args: PageArgs) -> Connection[Workspace]:
        context = info.context
        reads = context.services.workspace_reads
        page = (await reads.page_for_viewer(args)).map(Workspace.from_row)
        total = reads.count_for_viewer()
        for workspace in page.items:
            context.loaders.workspace.prime(workspace.pk, workspace)
        return Connection.of(page, lambda: constant(total))

    @strawberry.field
    async def workspace(self, info: ContextInfo, slug: str) -> Workspace | None:
        context = info.context
        row = await context.services.workspace_reads.get_by_slug(slug)
        if row is None:
            return None
        workspace = Workspace.from_row(row)
        context.loaders.workspace.prime(workspace.pk, workspace)
        return workspace

    @strawberry.field
    async def project(self, info: ContextInfo, workspace_slug: str, key: str) -> Project | None:
        context = info.context
        ahead = project_issue_page(info)
        if ahead is not None:
            # The issues it selects come in the project's own statement, then wait in their
            # loader for the issues field, which finds them there.
            try:
                return await prefetch.project_with_issues(
                    context.services.issue_reads, context.loaders, workspace_slug, key, ahead
                )
            except DomainError:
                pass  # a cursor that does not decode: the issues field reports it
        row = await context.services.project_reads.get_by_key(workspace_slug, key)
        if row is None:
            return None
        project = Project.from_row(row)
        context.loaders.project.prime(project.pk, project)
        return project

    @strawberry.field(description="By identifier, e.g. ENG-42.")
    async def issue(self, info: ContextInfo, workspace_slug: str, identifier: str) -> Issue | None:
        context = info.context
        reads = context.services.issue_reads
        # The labels and the comment page it selects come in the issue's own row (one
        # statement); the prefetch below loads only what did not.
        relations = issue_relations(info, connection=False)
        found = await reads.get_by_identifier(workspace_slug, identifier, relations)
        if found is None:
            return None
        issue = prefetch.issue_with_relations(context.loaders, found, relations)
        project = Project.from_row(found.row, prefix=PROJECT_PREFIX)  # joined to the issue's row
        context.loaders.issue.prime(issue.pk, issue)
        context.loaders.project.prime(project.pk, project)
        await context.prefetch_issues(info, IssueBatch([issue], connection=False, nested=relations))
        return issue

    @strawberry.field
    async def search_issues(
        self,
        info: ContextInfo,
        workspace_slug: str,
        query: str,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Issue]:
        context = info.context
        args = context.page_args(first, after, None, None)
        context.check_string_length(query, "query")
        reads = context.services.issue_reads
        page, total = await reads.search(workspace_slug, query, args)
        issues = page.map(partial(Issue.from_row, loaders=context.loaders))
        await context.prefetch_issues(info, IssueBatch(issues.items, connection=True))
        return Connection.of(issues, lambda: constant(total))

    @strawberry.field
    async def job(self, info: ContextInfo, id: strawberry.ID) -> Job | None:
        pk = pk_of(id, "Job")
        if pk is None:
            return None
        job: Job | None = await info.context.loaders.job.load(pk)
        return job
