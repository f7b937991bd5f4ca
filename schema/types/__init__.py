"""Object types of the contract, one module per part of the domain; imported from here.

Scalar fields are plain attributes filled from the row once; fields that cross a table
reach a per-request dataloader through ``info.context.loaders`` (never by importing
``resolvers``), so a nested query costs one batched query per level.
"""

from schema.inputs import issue_query
from schema.types.base import Node, deferred
from schema.types.insights import IssueInsight
from schema.types.jobs import Job
from schema.types.labels import Label
from schema.types.tracker import Comment, Issue, Project, Workspace
from schema.types.users import Membership, User, joined_user

__all__ = [
    "Comment",
    "Issue",
    "IssueInsight",
    "Job",
    "Label",
    "Membership",
    "Node",
    "Project",
    "User",
    "Workspace",
    "deferred",
    "issue_query",
    "joined_user",
]
