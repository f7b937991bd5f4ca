"""A person with a token, the GraphQL client the ``gql`` fixture returns, and running
operations and mutations as a person (the payload selections every mutation test shares)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx


@dataclass
class Person:
    email: str
    name: str
    token: str
    user_id: int

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


class GraphQLClient:
    """Posts GraphQL operations the way a client would; returns the decoded body."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def __call__(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        as_: Person | None = None,
        expect_status: int = 200,
    ) -> dict[str, Any]:
        response = await self.http.post(
            "/graphql",
            json={"query": query, "variables": variables or {}},
            headers=as_.headers if as_ else {},
        )
        assert response.status_code == expect_status, response.text
        body: dict[str, Any] = response.json()
        return body


def data_of(body: dict[str, Any]) -> dict[str, Any]:
    """The ``data`` of a response that must have no GraphQL errors."""
    assert "errors" not in body, body
    data: dict[str, Any] = body["data"]
    return data


async def query(gql: Any, person: Any, document: str, **variables: Any) -> dict[str, Any]:
    return data_of(await gql(document, variables, as_=person))


# -- mutations ----------------------------------------------------------------------------------

USER_ERRORS = "userErrors { field message code }"
MEMBERSHIP = "membership { role user { id name email } }"
PROJECT = "project { id key name description workspace { id slug } }"
LABEL = "label { id name color }"
ISSUE = """issue { id number identifier title body status priority closedAt createdAt updatedAt
    project { id } reporter { id } assignee { id } labels { id name } }"""
COMMENT = "comment { id body createdAt author { id name } issue { id } }"

# What each mutation's payload selects besides userErrors; the first word is its result field.
PAYLOAD_FIELDS: dict[str, str] = {
    "createWorkspace": "workspace { id slug name viewerRole }",
    "addMember": MEMBERSHIP,
    "updateMember": MEMBERSHIP,
    "removeMember": "removedUserId",
    "createProject": PROJECT,
    "updateProject": PROJECT,
    "createLabel": LABEL,
    "updateLabel": LABEL,
    "deleteLabel": "deletedLabelId",
    "createIssue": ISSUE,
    "updateIssue": ISSUE,
    "deleteIssue": "deletedIssueId",
    "addComment": COMMENT,
    "updateComment": COMMENT,
    "deleteComment": "deletedCommentId",
}


def result_key(mutation: str) -> str:
    return PAYLOAD_FIELDS[mutation].split()[0]


def input_type(mutation: str) -> str:
    return mutation[0].upper() + mutation[1:] + "Input"


async def mutate_raw(
    gql: Any, person: Any, mutation: str, input: dict[str, Any], fields: str | None = None
) -> dict[str, Any]:
    """Run one mutation as ``person``, selecting ``fields`` (else its PAYLOAD_FIELDS) and its
    userErrors; the whole response body."""
    body: dict[str, Any] = await gql(
        f"mutation($input: {input_type(mutation)}!) {{ {mutation}(input: $input) "
        f"{{ {fields or PAYLOAD_FIELDS[mutation]} {USER_ERRORS} }} }}",
        {"input": input},
        as_=person,
    )
    return body


async def mutate(
    gql: Any, person: Any, mutation: str, input: dict[str, Any], fields: str | None = None
) -> dict[str, Any]:
    """Run one mutation as ``person``; its payload (no GraphQL-level error allowed)."""
    payload: dict[str, Any] = data_of(await mutate_raw(gql, person, mutation, input, fields))[
        mutation
    ]
    return payload


async def ok_payload(
    gql: Any, person: Any, mutation: str, input: dict[str, Any], fields: str
) -> Any:
    """Run ``mutation(input: $input) { <fields> userErrors {...} }``, insisting on no user
    errors; its payload."""
    payload = await mutate(gql, person, mutation, input, fields)
    assert payload["userErrors"] == [], payload
    return payload


async def ok(gql: Any, person: Any, mutation: str, input: dict[str, Any]) -> Any:
    """Run a mutation that must succeed; its result field."""
    payload = await ok_payload(gql, person, mutation, input, PAYLOAD_FIELDS[mutation])
    result = payload[result_key(mutation)]
    assert result is not None, payload
    return result


async def ok_many(gql: Any, person: Any, calls: list[tuple[str, dict[str, Any]]]) -> list[Any]:
    """Run several mutations that must succeed in one document (executed in order); their
    result fields."""
    variables = ", ".join(
        f"$i{n}: {input_type(mutation)}!" for n, (mutation, _) in enumerate(calls)
    )
    fields = " ".join(
        f"m{n}: {mutation}(input: $i{n}) {{ {PAYLOAD_FIELDS[mutation]} {USER_ERRORS} }}"
        for n, (mutation, _) in enumerate(calls)
    )
    body = await gql(
        f"mutation({variables}) {{ {fields} }}",
        {f"i{n}": input_ for n, (_, input_) in enumerate(calls)},
        as_=person,
    )
    data = data_of(body)
    results = []
    for n, (mutation, _) in enumerate(calls):
        payload = data[f"m{n}"]
        assert payload["userErrors"] == [], payload
        assert payload[result_key(mutation)] is not None, payload
        results.append(payload[result_key(mutation)])
    return results


async def fails(
    gql: Any,
    person: Any,
    mutation: str,
    input: dict[str, Any],
    code: str,
    field: list[str] | None = None,
) -> dict[str, Any]:
    """Run a mutation that must fail with exactly one user error of ``code`` (and ``field``)."""
    payload = await mutate(gql, person, mutation, input)
    assert payload[result_key(mutation)] is None, payload
    assert len(payload["userErrors"]) == 1, payload
    error: dict[str, Any] = payload["userErrors"][0]
    assert error["code"] == code, payload
    assert error["message"], payload
    if field is not None:
        assert error["field"] == field, payload
    return error
