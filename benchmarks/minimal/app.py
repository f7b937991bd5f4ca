"""The minimal server: the least a synchronous Python GraphQL service does for W1 and W2.

    MINIMAL_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/issuegraph_bench_run \
    .venv-legacy/bin/gunicorn -c benchmarks/minimal/gunicorn.conf.py

Flask, Graphene 3 and synchronous SQLAlchemy 2 over psycopg 3 (the legacy layer's
environment, `.venv-legacy`), served by gunicorn sync workers. No authentication, no
authorization, no logging, no limits: `POST /graphql` runs the schema and answers. Resolvers
are plain N+1: an attribute read is a lazy load (reporter, assignee, labels, each comment
author not yet in the session), a connection is one LIMIT query. The ORM models are the legacy
layer's (`benchmarks/legacy/models.py`, mapped onto issuegraph's tables).

It serves the fields of `queries/contract/W1.graphql` and `W2.graphql` (W1, W1-small, W2) with
the same rows, order and global IDs as issuegraph: issues newest first, comments oldest first,
labels by name. No W3. It is the "how fast is the simplest thing" reference of issue 12.
"""

from __future__ import annotations

import os

import graphene
from flask import Flask, jsonify, request
from graphql_relay import to_global_id
from sqlalchemy import create_engine
from sqlalchemy.orm import scoped_session, sessionmaker

from benchmarks.legacy import models

DATABASE_URL = os.environ.get(
    "MINIMAL_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/issuegraph_bench_run"
)
if DATABASE_URL.startswith("postgresql://"):
    DATABASE_URL = "postgresql+psycopg://" + DATABASE_URL[len("postgresql://") :]

engine = create_engine(DATABASE_URL, pool_size=2)
session = scoped_session(sessionmaker(bind=engine, autoflush=False))


def global_id(type_name):
    """A resolver for ``id``: issuegraph's Relay global ID, base64 of ``Type:pk``."""
    return lambda obj, info: to_global_id(type_name, obj.id)


IssueStatus = graphene.Enum.from_enum(models.IssueStatus)
IssuePriority = graphene.Enum.from_enum(models.IssuePriority)


class User(graphene.ObjectType):
    id = graphene.ID(required=True, resolver=global_id("User"))
    name = graphene.String(required=True)


class Label(graphene.ObjectType):
    id = graphene.ID(required=True, resolver=global_id("Label"))
    name = graphene.String(required=True)
    color = graphene.String(required=True)


class Comment(graphene.ObjectType):
    id = graphene.ID(required=True, resolver=global_id("Comment"))
    body = graphene.String(required=True)
    created_at = graphene.DateTime(required=True)
    author = graphene.Field(User, required=True)


class CommentEdge(graphene.ObjectType):
    node = graphene.Field(Comment, required=True)


class CommentConnection(graphene.ObjectType):
    edges = graphene.List(graphene.NonNull(CommentEdge), required=True)


class Issue(graphene.ObjectType):
    id = graphene.ID(required=True, resolver=global_id("Issue"))
    identifier = graphene.String(required=True)
    title = graphene.String(required=True)
    body = graphene.String(required=True)
    status = IssueStatus(required=True)
    priority = IssuePriority(required=True)
    created_at = graphene.DateTime(required=True)
    assignee = graphene.Field(User)
    reporter = graphene.Field(User, required=True)
    labels = graphene.List(graphene.NonNull(Label), required=True)
    comments = graphene.Field(CommentConnection, required=True, first=graphene.Int())

    def resolve_comments(issue, info, first=20):
        # issue.comments is a dynamic relationship, ordered oldest first (created_at, id).
        return {"edges": [{"node": c} for c in issue.comments.limit(first)]}


class IssueEdge(graphene.ObjectType):
    node = graphene.Field(Issue, required=True)


class IssueConnection(graphene.ObjectType):
    edges = graphene.List(graphene.NonNull(IssueEdge), required=True)


class Project(graphene.ObjectType):
    id = graphene.ID(required=True, resolver=global_id("Project"))
    key = graphene.String(required=True)
    issues = graphene.Field(IssueConnection, required=True, first=graphene.Int())

    def resolve_issues(project, info, first=20):
        page = project.issues.order_by(models.Issue.created_at.desc(), models.Issue.id.desc())
        return {"edges": [{"node": issue} for issue in page.limit(first)]}


def find_project(workspace_slug, key):
    return (
        session.query(models.Project)
        .join(models.Workspace)
        .filter(models.Workspace.slug == workspace_slug, models.Project.key == key)
        .first()
    )


class Query(graphene.ObjectType):
    project = graphene.Field(
        Project, workspace_slug=graphene.String(required=True), key=graphene.String(required=True)
    )
    issue = graphene.Field(
        Issue,
        workspace_slug=graphene.String(required=True),
        identifier=graphene.String(required=True),
    )

    def resolve_project(root, info, workspace_slug, key):
        return find_project(workspace_slug, key)

    def resolve_issue(root, info, workspace_slug, identifier):
        key, _, number = identifier.rpartition("-")
        if not number.isdigit():
            return None
        project = find_project(workspace_slug, key)
        return project and project.issues.filter_by(number=int(number)).first()


schema = graphene.Schema(query=Query)
app = Flask(__name__)
app.json.sort_keys = False  # GraphQL answers keep the field order of the query


@app.post("/graphql")
def graphql():
    payload = request.get_json()
    try:
        result = schema.execute(
            payload["query"],
            variable_values=payload.get("variables"),
            operation_name=payload.get("operationName"),
        )
    finally:
        session.remove()
    return jsonify(result.formatted)
