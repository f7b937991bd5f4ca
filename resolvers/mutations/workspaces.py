"""Mutation fields: workspaces, their members, projects and labels."""

from __future__ import annotations

import strawberry

from resolvers.mutation_support import (
    ContextInfo,
    given,
    mutate,
    require_pk,
)
from resolvers.services import Services
from schema import inputs, payloads
from schema.ids import to_global_id
from schema.types import Label, Membership, Project, Workspace
from services import types as domain
from services.types import Role


@strawberry.type
class WorkspaceMutations:
    @strawberry.mutation
    async def create_workspace(
        self,
        info: ContextInfo,
        input: inputs.CreateWorkspaceInput,
    ) -> payloads.CreateWorkspacePayload:
        def done(row: domain.Workspace) -> payloads.CreateWorkspacePayload:
            info.context.grant(row.id, Role.OWNER)
            return payloads.CreateWorkspacePayload(workspace=Workspace.from_model(row))

        return await mutate(
            info.context,
            payloads.CreateWorkspacePayload,
            lambda services: services.workspaces.create(slug=input.slug, name=input.name),
            done=done,
        )

    @strawberry.mutation
    async def add_member(
        self,
        info: ContextInfo,
        input: inputs.AddMemberInput,
    ) -> payloads.AddMemberPayload:
        return await mutate(
            info.context,
            payloads.AddMemberPayload,
            lambda services: services.workspaces.add_member(
                workspace_id=require_pk(input.workspace_id, "Workspace", ["input", "workspaceId"]),
                email=input.email,
                role=input.role,
            ),
            done=lambda row: payloads.AddMemberPayload(membership=Membership.from_model(row)),
            memberships=True,
        )

    @strawberry.mutation
    async def update_member(
        self,
        info: ContextInfo,
        input: inputs.UpdateMemberInput,
    ) -> payloads.UpdateMemberPayload:
        return await mutate(
            info.context,
            payloads.UpdateMemberPayload,
            lambda services: services.workspaces.update_member(
                workspace_id=require_pk(input.workspace_id, "Workspace", ["input", "workspaceId"]),
                user_id=require_pk(input.user_id, "User", ["input", "userId"]),
                role=input.role,
            ),
            done=lambda row: payloads.UpdateMemberPayload(membership=Membership.from_model(row)),
            memberships=True,
        )

    @strawberry.mutation(description="Removing a member ends their access at once.")
    async def remove_member(
        self,
        info: ContextInfo,
        input: inputs.RemoveMemberInput,
    ) -> payloads.RemoveMemberPayload:
        async def work(services: Services) -> int:
            workspace_id = require_pk(input.workspace_id, "Workspace", ["input", "workspaceId"])
            user_id = require_pk(input.user_id, "User", ["input", "userId"])
            await services.workspaces.remove_member(workspace_id=workspace_id, user_id=user_id)
            return user_id

        return await mutate(
            info.context,
            payloads.RemoveMemberPayload,
            work,
            done=lambda user_id: payloads.RemoveMemberPayload(
                removed_user_id=to_global_id("User", user_id)
            ),
            memberships=True,
        )

    @strawberry.mutation
    async def create_project(
        self,
        info: ContextInfo,
        input: inputs.CreateProjectInput,
    ) -> payloads.CreateProjectPayload:
        return await mutate(
            info.context,
            payloads.CreateProjectPayload,
            lambda services: services.projects.create(
                workspace_id=require_pk(input.workspace_id, "Workspace", ["input", "workspaceId"]),
                key=input.key,
                name=input.name,
                description=input.description,
            ),
            done=lambda row: payloads.CreateProjectPayload(project=Project.from_model(row)),
        )

    @strawberry.mutation
    async def update_project(
        self,
        info: ContextInfo,
        input: inputs.UpdateProjectInput,
    ) -> payloads.UpdateProjectPayload:
        return await mutate(
            info.context,
            payloads.UpdateProjectPayload,
            lambda services: services.projects.update(
                project_id=require_pk(input.id, "Project", ["input", "id"]),
                name=given(input.name),
                description=given(input.description),
            ),
            done=lambda row: payloads.UpdateProjectPayload(project=Project.from_model(row)),
        )

    @strawberry.mutation
    async def create_label(
        self,
        info: ContextInfo,
        input: inputs.CreateLabelInput,
    ) -> payloads.CreateLabelPayload:
        return await mutate(
            info.context,
            payloads.CreateLabelPayload,
            lambda services: services.labels.create(
                workspace_id=require_pk(input.workspace_id, "Workspace", ["input", "workspaceId"]),
                name=input.name,
                color=input.color,
            ),
            done=lambda row: payloads.CreateLabelPayload(label=Label.from_model(row)),
        )

    @strawberry.mutation
    async def update_label(
        self,
        info: ContextInfo,
        input: inputs.UpdateLabelInput,
    ) -> payloads.UpdateLabelPayload:
        return await mutate(
            info.context,
            payloads.UpdateLabelPayload,
            lambda services: services.labels.update(
                label_id=require_pk(input.id, "Label", ["input", "id"]),
                name=given(input.name),
                color=given(input.color),
            ),
            done=lambda row: payloads.UpdateLabelPayload(label=Label.from_model(row)),
        )

    @strawberry.mutation
    async def delete_label(
        self,
        info: ContextInfo,
        input: inputs.DeleteLabelInput,
    ) -> payloads.DeleteLabelPayload:
        return await mutate(
            info.context,
            payloads.DeleteLabelPayload,
            lambda services: services.labels.delete(
                label_id=require_pk(input.id, "Label", ["input", "id"])
            ),
            done=lambda _: payloads.DeleteLabelPayload(deleted_label_id=input.id),
        )
