"""The Graphene schema of the legacy layer.

Resolvers read the ORM objects directly and walk their relationships: resolving
``issues { reporter labels comments { author } }`` for 50 issues sends one query for the
page, then one per issue for its labels, one per issue for its comments, and one per user not
yet in the session (the N+1 the new service batches away). Authorization is checked in the
resolvers with ``check_member``, one membership query per check.

IDs are Relay global IDs, base64 of ``Type:pk`` -- the same format as the new service, so a
client can switch between the two.
"""

import graphene
from flask import g
from graphene import relay
from graphql import GraphQLError
from graphql_relay import cursor_to_offset, from_global_id, offset_to_cursor
from sqlalchemy import update

from . import models
from .db import db_session

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100


# -- authorization helpers -----------------------------------------------------------------------


def check_member(workspace_id, roles=None, action="do this"):
    """The viewer's membership of the workspace, or None if they are not a member.

    With ``roles``, a member whose role is not among them gets a GraphQL error.
    """
    membership = (
        db_session.query(models.Membership)
        .filter_by(workspace_id=workspace_id, user_id=g.current_user.id)
        .first()
    )
    if membership is None:
        return None
    if roles is not None and membership.role not in roles:
        raise GraphQLError(f"Your role ({membership.role.value}) does not allow you to {action}.")
    return membership


def shares_workspace_with(user):
    if user.id == g.current_user.id:
        return True
    mine = db_session.query(models.Membership.workspace_id).filter_by(user_id=g.current_user.id)
    return (
        db_session.query(models.Membership)
        .filter(
            models.Membership.user_id == user.id,
            models.Membership.workspace_id.in_(mine.scalar_subquery()),
        )
        .first()
        is not None
    )


def paginate(connection_type, query, first=None, after=None, last=None, before=None):
    """Offset pagination, the way graphql-relay's array connections count: cursors are
    ``arrayconnection:<offset>`` and a page is ``query.offset(...).limit(...)``."""
    if last is not None or before is not None:
        raise GraphQLError("Backward pagination (last/before) is not supported.")
    if first is None:
        first = DEFAULT_PAGE_SIZE
    if not 0 <= first <= MAX_PAGE_SIZE:
        raise GraphQLError(f"`first` must be between 0 and {MAX_PAGE_SIZE}; got {first}.")
    offset = 0
    if after:
        start = cursor_to_offset(after)
        if start is None:
            raise GraphQLError("`after` is not a valid cursor.")
        offset = start + 1
    rows = query.offset(offset).limit(first + 1).all()
    has_next_page = len(rows) > first
    rows = rows[:first]
    edges = [
        connection_type.Edge(node=row, cursor=offset_to_cursor(offset + i))
        for i, row in enumerate(rows)
    ]
    connection = connection_type(
        edges=edges,
        page_info=relay.PageInfo(
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
            has_previous_page=offset > 0,
            has_next_page=has_next_page,
        ),
    )
    connection.query = query  # for totalCount
    return connection


class CountedConnection(relay.Connection):
    class Meta:
        abstract = True

    total_count = graphene.Int(required=True)

    def resolve_total_count(root, info):
        return root.query.order_by(None).count()


# -- enums -----------------------------------------------------------------------------------------

Role = graphene.Enum.from_enum(models.Role)
IssueStatus = graphene.Enum.from_enum(models.IssueStatus)
IssuePriority = graphene.Enum.from_enum(models.IssuePriority)


class OrderDirection(graphene.Enum):
    ASC = "ASC"
    DESC = "DESC"


class IssueOrderField(graphene.Enum):
    CREATED_AT = "CREATED_AT"
    UPDATED_AT = "UPDATED_AT"
    PRIORITY = "PRIORITY"
    NUMBER = "NUMBER"


class IssueOrder(graphene.InputObjectType):
    field = IssueOrderField(required=True)
    direction = OrderDirection(required=True)


ORDER_COLUMNS = {
    "CREATED_AT": models.Issue.created_at,
    "UPDATED_AT": models.Issue.updated_at,
    "PRIORITY": models.Issue.priority,
    "NUMBER": models.Issue.number,
}


# -- object types ----------------------------------------------------------------------------------


class User(graphene.ObjectType):
    class Meta:
        interfaces = (relay.Node,)
        possible_types = (models.User,)

    name = graphene.String(required=True)
    email = graphene.String(description="Visible to the user themself and to co-members.")

    def resolve_email(user, info):
        return user.email if shares_workspace_with(user) else None

    @classmethod
    def get_node(cls, info, id):
        user = db_session.get(models.User, int(id))
        return user if user is not None and shares_workspace_with(user) else None


class Label(graphene.ObjectType):
    class Meta:
        interfaces = (relay.Node,)
        possible_types = (models.Label,)

    name = graphene.String(required=True)
    color = graphene.String(required=True)

    @classmethod
    def get_node(cls, info, id):
        label = db_session.get(models.Label, int(id))
        return label if label is not None and check_member(label.workspace_id) else None


class Comment(graphene.ObjectType):
    class Meta:
        interfaces = (relay.Node,)
        possible_types = (models.Comment,)

    body = graphene.String(required=True)
    author = graphene.Field(User, required=True)
    issue = graphene.Field(lambda: Issue, required=True)
    created_at = graphene.DateTime(required=True)

    @classmethod
    def get_node(cls, info, id):
        comment = db_session.get(models.Comment, int(id))
        return comment if comment is not None and check_member(comment.workspace_id) else None


class CommentConnection(CountedConnection):
    class Meta:
        node = Comment


class Issue(graphene.ObjectType):
    class Meta:
        interfaces = (relay.Node,)
        possible_types = (models.Issue,)

    number = graphene.Int(required=True)
    identifier = graphene.String(required=True)
    title = graphene.String(required=True)
    body = graphene.String(required=True)
    status = IssueStatus(required=True)
    priority = IssuePriority(required=True)
    project = graphene.Field(lambda: Project, required=True)
    reporter = graphene.Field(User, required=True)
    assignee = graphene.Field(User)
    labels = graphene.List(graphene.NonNull(Label), required=True)
    comments = relay.ConnectionField(CommentConnection, required=True)
    created_at = graphene.DateTime(required=True)
    updated_at = graphene.DateTime(required=True)
    closed_at = graphene.DateTime()

    # number, identifier, title, body, status, priority, project, reporter, assignee, labels
    # and the timestamps are read straight off the ORM object (lazy loads where needed).

    def resolve_comments(issue, info, **args):
        # issue.comments is a dynamic relationship: a query ordered oldest first.
        return paginate(CommentConnection, issue.comments, **args)

    @classmethod
    def get_node(cls, info, id):
        issue = db_session.get(models.Issue, int(id))
        return issue if issue is not None and check_member(issue.workspace_id) else None


class IssueConnection(CountedConnection):
    class Meta:
        node = Issue


class Project(graphene.ObjectType):
    class Meta:
        interfaces = (relay.Node,)
        possible_types = (models.Project,)

    key = graphene.String(required=True)
    name = graphene.String(required=True)
    description = graphene.String(required=True)
    workspace = graphene.Field(lambda: Workspace, required=True)
    issues = relay.ConnectionField(
        IssueConnection, required=True, order_by=IssueOrder(description="Newest first by default.")
    )

    def resolve_issues(project, info, order_by=None, **args):
        field, direction = "CREATED_AT", "DESC"
        if order_by is not None:
            field, direction = order_by.field, order_by.direction
            # Graphene may hand over enum members or their values.
            field = getattr(field, "value", field)
            direction = getattr(direction, "value", direction)
        column = ORDER_COLUMNS[field]
        if direction == "DESC":
            ordering = (column.desc(), models.Issue.id.desc())
        else:
            ordering = (column.asc(), models.Issue.id.asc())
        return paginate(IssueConnection, project.issues.order_by(*ordering), **args)

    @classmethod
    def get_node(cls, info, id):
        project = db_session.get(models.Project, int(id))
        return project if project is not None and check_member(project.workspace_id) else None


class ProjectConnection(CountedConnection):
    class Meta:
        node = Project


class Workspace(graphene.ObjectType):
    class Meta:
        interfaces = (relay.Node,)
        possible_types = (models.Workspace,)

    slug = graphene.String(required=True)
    name = graphene.String(required=True)
    viewer_role = graphene.Field(Role, required=True)
    projects = relay.ConnectionField(ProjectConnection, required=True)

    def resolve_viewer_role(workspace, info):
        return check_member(workspace.id).role

    def resolve_projects(workspace, info, **args):
        query = db_session.query(models.Project).filter_by(workspace_id=workspace.id)
        return paginate(ProjectConnection, query.order_by(models.Project.id), **args)

    @classmethod
    def get_node(cls, info, id):
        workspace = db_session.get(models.Workspace, int(id))
        return workspace if workspace is not None and check_member(workspace.id) else None


# -- queries ---------------------------------------------------------------------------------------


def find_workspace(slug):
    """The workspace with this slug if the viewer is a member of it, else None."""
    workspace = db_session.query(models.Workspace).filter_by(slug=slug).first()
    if workspace is None or check_member(workspace.id) is None:
        return None
    return workspace


class Query(graphene.ObjectType):
    node = relay.Node.Field()
    viewer = graphene.Field(User, required=True)
    workspace = graphene.Field(Workspace, slug=graphene.String(required=True))
    project = graphene.Field(
        Project, workspace_slug=graphene.String(required=True), key=graphene.String(required=True)
    )
    issue = graphene.Field(
        Issue,
        workspace_slug=graphene.String(required=True),
        identifier=graphene.String(required=True, description="e.g. ENG-42"),
    )

    def resolve_viewer(root, info):
        return g.current_user

    def resolve_workspace(root, info, slug):
        return find_workspace(slug)

    def resolve_project(root, info, workspace_slug, key):
        workspace = find_workspace(workspace_slug)
        if workspace is None:
            return None
        return (
            db_session.query(models.Project).filter_by(workspace_id=workspace.id, key=key).first()
        )

    def resolve_issue(root, info, workspace_slug, identifier):
        key, _, number = identifier.strip().rpartition("-")
        if not key or not number.isdigit() or len(number) > 9:
            return None
        workspace = find_workspace(workspace_slug)
        if workspace is None:
            return None
        project = (
            db_session.query(models.Project)
            .filter_by(workspace_id=workspace.id, key=key.upper())
            .first()
        )
        if project is None:
            return None
        return project.issues.filter_by(number=int(number)).first()


# -- mutations -------------------------------------------------------------------------------------


class CreateIssue(relay.ClientIDMutation):
    class Input:
        project_id = graphene.ID(required=True)
        title = graphene.String(required=True)
        body = graphene.String()

    issue = graphene.Field(Issue)

    @classmethod
    def mutate_and_get_payload(cls, root, info, project_id, title, body=None, **kwargs):
        type_name, pk = from_global_id(project_id)
        project = None
        if type_name == "Project" and pk.isdigit():
            project = db_session.get(models.Project, int(pk))
        if project is None or check_member(project.workspace_id) is None:
            raise GraphQLError("Project not found.")
        check_member(
            project.workspace_id,
            roles=(models.Role.OWNER, models.Role.MEMBER),
            action="create issues",
        )
        title = title.strip()
        if not title:
            raise GraphQLError("Title must not be blank.")
        if len(title) > 200:
            raise GraphQLError("Title must be at most 200 characters.")

        # The row lock taken by this UPDATE serializes concurrent creators on the project, so
        # numbers are consecutive and never repeat -- the same statement the new service runs.
        number = db_session.execute(
            update(models.Project)
            .where(models.Project.id == project.id)
            .values(issue_counter=models.Project.issue_counter + 1)
            .returning(models.Project.issue_counter)
        ).scalar_one()
        issue = models.Issue(
            workspace_id=project.workspace_id,
            project_id=project.id,
            number=number,
            title=title,
            body=body or "",
            status=models.IssueStatus.BACKLOG,
            priority=models.IssuePriority.NONE,
            reporter_id=g.current_user.id,
        )
        db_session.add(issue)
        db_session.commit()
        return CreateIssue(issue=issue)


class Mutation(graphene.ObjectType):
    create_issue = CreateIssue.Field()


schema = graphene.Schema(query=Query, mutation=Mutation)
