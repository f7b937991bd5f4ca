"""Mutation fields: workspaces, their members, projects and labels."""

from __future__ import annotations

import strawberry

from resolvers.mutation_support import Written, given, input_pk, mutation
from resolvers.services import Services
from schema import inputs, payloads
from schema.ids import to_global_id
from schema.types import Label, Membership, Project, Workspace
from services import types as domain
from services.types import Role


def _workspace_created(
    written: Written[inputs.CreateWorkspaceInput, domain.Workspace],
) -> Workspace:
    """Its creator owns it from now on, for the rest of the request too."""
    written.context.grant(written.result.id, Role.OWNER)
    return Workspace.from_model(written.result)


async def _remove_member(services: Services, i: inputs.RemoveMemberInput) -> int:
    workspace_id = input_pk(i.workspace_id, "Workspace", "workspaceId")
    user_id = input_pk(i.user_id, "User", "userId")
    await services.workspaces.remove_member(workspace_id=workspace_id, user_id=user_id)
    return user_id


@strawberry.type
class WorkspaceMutations:
    create_workspace = mutation(
        inputs.CreateWorkspaceInput,
        payloads.CreateWorkspacePayload,
        lambda services, i: services.workspaces.create(slug=i.slug, name=i.name),
        _workspace_created,
    )
    add_member = mutation(
        inputs.AddMemberInput,
        payloads.AddMemberPayload,
        lambda services, i: services.workspaces.add_member(
            workspace_id=input_pk(i.workspace_id, "Workspace", "workspaceId"),
            email=i.email,
            role=i.role,
        ),
        lambda written: Membership.from_model(written.result),
        memberships=True,
    )
    update_member = mutation(
        inputs.UpdateMemberInput,
        payloads.UpdateMemberPayload,
        lambda services, i: services.workspaces.update_member(
            workspace_id=input_pk(i.workspace_id, "Workspace", "workspaceId"),
            user_id=input_pk(i.user_id, "User", "userId"),
            role=i.role,
        ),
        lambda written: Membership.from_model(written.result),
        memberships=True,
    )
    remove_member = mutation(
        inputs.RemoveMemberInput,
        payloads.RemoveMemberPayload,
        _remove_member,
        lambda written: to_global_id("User", written.result),
        memberships=True,
        description="Removing a member ends their access at once.",
    )
    create_project = mutation(
        inputs.CreateProjectInput,
        payloads.CreateProjectPayload,
        lambda services, i: services.projects.create(
            workspace_id=input_pk(i.workspace_id, "Workspace", "workspaceId"),
            key=i.key,
            name=i.name,
            description=i.description,
        ),
        lambda written: Project.from_model(written.result),
    )
    update_project = mutation(
        inputs.UpdateProjectInput,
        payloads.UpdateProjectPayload,
        lambda services, i: services.projects.update(
            project_id=input_pk(i.id, "Project", "id"),
            name=given(i.name),
            description=given(i.description),
        ),
        lambda written: Project.from_model(written.result),
    )
    create_label = mutation(
        inputs.CreateLabelInput,
        payloads.CreateLabelPayload,
        lambda services, i: services.labels.create(
            workspace_id=input_pk(i.workspace_id, "Workspace", "workspaceId"),
            name=i.name,
            color=i.color,
        ),
        lambda written: Label.from_model(written.result),
    )
    update_label = mutation(
        inputs.UpdateLabelInput,
        payloads.UpdateLabelPayload,
        lambda services, i: services.labels.update(
            label_id=input_pk(i.id, "Label", "id"), name=given(i.name), color=given(i.color)
        ),
        lambda written: Label.from_model(written.result),
    )
    delete_label = mutation(
        inputs.DeleteLabelInput,
        payloads.DeleteLabelPayload,
        lambda services, i: services.labels.delete(label_id=input_pk(i.id, "Label", "id")),
        lambda written: written.input.id,
    )
