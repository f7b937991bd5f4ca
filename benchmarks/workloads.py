"""The workloads: request bodies per server, and checks that every server returns the same rows."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from benchmarks.common import (
    QUERIES,
    READ_PROJECT,
    W2_NUMBER,
    W2_NUMBERS,
    WORKSPACE_SLUG,
    WRITE_PROJECT,
)

# In a W2 body template: replaced by a random issue number on every request (wrk/graphql.lua).
ISSUE_NUMBER_PLACEHOLDER = "__ISSUE_NUMBER__"


@dataclass(frozen=True)
class Workload:
    name: str
    operation: str
    description: str
    writes: bool = False


W1 = Workload("W1", "W1", "project P0, issues(first: 50), each with 2 users, 3 labels, 5 comments")
W1_SMALL = Workload("W1-small", "W1", "the same with issues(first: 5)")
W2 = Workload(
    "W2",
    "W2",
    f"one issue by identifier, same nested fields; a random one of {READ_PROJECT}-"
    f"{W2_NUMBERS[0]}..{READ_PROJECT}-{W2_NUMBERS[1]} on every request",
)
W3 = Workload("W3", "W3", f"createIssue in {WRITE_PROJECT}", writes=True)
HTTP_WORKLOADS = (W1, W1_SMALL, W2, W3)
PAGE_SIZES = {"W1": 50, "W1-small": 5}
# Servers without W3 (see queries/README.md).
NO_W3 = ("postgraphile", "minimal")


def _query(*parts: str) -> str:
    return (QUERIES.joinpath(*parts)).read_text()


def query_file(dialect: str, workload: Workload) -> str | None:
    """Where the query text of ``workload`` on a server of ``dialect`` lives (repo-relative)."""
    if dialect == "floor":
        return "benchmarks/queries/floor/queries.sql"
    if workload.writes and dialect in NO_W3:
        return None
    if dialect == "postgraphile":
        return f"benchmarks/queries/postgraphile/{workload.operation}.graphql"
    if dialect == "legacy" and workload.writes:
        return "benchmarks/queries/legacy/W3.graphql"
    return f"benchmarks/queries/contract/{workload.operation}.graphql"


def body(
    dialect: str,
    workload: Workload,
    write_project_id: str | None = None,
    number: int = W2_NUMBER,
) -> dict[str, Any] | None:
    """The JSON body to POST to /graphql, or None when the server has no such workload.

    W2 asks for issue ``number`` of the read project (W2_NUMBER unless said otherwise)."""
    if workload.name in PAGE_SIZES:
        variables: dict[str, Any] = {
            "slug": WORKSPACE_SLUG,
            "key": READ_PROJECT,
            "first": PAGE_SIZES[workload.name],
        }
    elif workload is W2:
        if dialect == "postgraphile":
            variables = {"slug": WORKSPACE_SLUG, "key": READ_PROJECT, "number": number}
        else:
            variables = {"slug": WORKSPACE_SLUG, "identifier": f"{READ_PROJECT}-{number}"}
    else:
        if dialect in NO_W3 or write_project_id is None:
            return None
        variables = {
            "input": {
                "projectId": write_project_id,
                "title": "Benchmark issue",
                "body": "Created by the W3 workload of benchmarks/run.py.",
            }
        }
    if dialect == "floor":
        query = "# floor: dispatches on operationName, see queries/floor/queries.sql"
    else:
        path = query_file(dialect, workload)
        assert path is not None
        query = (QUERIES.parent.parent / path).read_text()
    return {"query": query, "variables": variables, "operationName": workload.operation}


def skip_reason(dialect: str, workload: Workload) -> str:
    if workload.writes and dialect == "postgraphile":
        return "no W3: --disable-default-mutations (see queries/README.md)"
    if workload.writes and dialect == "minimal":
        return "no W3: the minimal server serves W1 and W2 only"
    return "no project ID for W3"


def load_body(
    dialect: str, workload: Workload, write_project_id: str | None = None
) -> tuple[str, tuple[int, int] | None] | None:
    """What wrk sends: (JSON text, issue-number range) or None when the server has no such
    workload. W2's text is a template: wrk/graphql.lua puts a random number of the range in
    place of ISSUE_NUMBER_PLACEHOLDER on every request. The other workloads send one body."""
    if workload is not W2:
        fixed = body(dialect, workload, write_project_id)
        return None if fixed is None else (json.dumps(fixed), None)
    template = body(dialect, workload)
    assert template is not None
    if dialect == "postgraphile":
        template["variables"]["number"] = ISSUE_NUMBER_PLACEHOLDER
        # an Int: the placeholder stands unquoted in the template, e.g. "number": 1234
        text = json.dumps(template).replace(
            f'"{ISSUE_NUMBER_PLACEHOLDER}"', ISSUE_NUMBER_PLACEHOLDER
        )
    else:
        template["variables"]["identifier"] = f"{READ_PROJECT}-{ISSUE_NUMBER_PLACEHOLDER}"
        text = json.dumps(template)
    # The template is the fixed body with another number: make sure of it.
    for number in (W2_NUMBERS[0], W2_NUMBER, W2_NUMBERS[1]):
        filled = json.loads(text.replace(ISSUE_NUMBER_PLACEHOLDER, str(number)))
        assert filled == body(dialect, workload, number=number), (dialect, number)
    return text, W2_NUMBERS


def project_id_body(dialect: str) -> dict[str, Any] | None:
    if dialect in NO_W3:
        return None
    query = "# floor" if dialect == "floor" else _query("contract", "project_id.graphql")
    return {
        "query": query,
        "variables": {"slug": WORKSPACE_SLUG, "key": WRITE_PROJECT},
        "operationName": "ProjectId",
    }


# -- answers -----------------------------------------------------------------------------------


def _issue_rows(dialect: str, data: dict[str, Any], workload: Workload) -> list[dict[str, Any]]:
    """Normalise the issues of a W1/W2 answer: title, sorted label names, comment bodies."""
    if dialect == "postgraphile":
        projects = data["workspaceBySlug"]["projectsByWorkspaceId"]["nodes"]
        issues_field = projects[0]["issuesByProjectId"]
        nodes = (
            [edge["node"] for edge in issues_field["edges"]]
            if "edges" in issues_field
            else issues_field["nodes"]
        )
        return [
            {
                "title": n["title"],
                "status": n["status"],
                "assignee": n["assignee"]["name"] if n["assignee"] else None,
                "reporter": n["reporter"]["name"],
                "labels": sorted(x["label"]["name"] for x in n["issueLabelsByIssueId"]["nodes"]),
                "comments": [
                    (e["node"]["body"], e["node"]["author"]["name"])
                    for e in n["commentsByIssueId"]["edges"]
                ],
            }
            for n in nodes
        ]
    if workload is W2:
        nodes = [data["issue"]] if data.get("issue") else []
    else:
        nodes = [edge["node"] for edge in data["project"]["issues"]["edges"]]
    return [
        {
            "title": n["title"],
            "status": n["status"],
            "assignee": n["assignee"]["name"] if n["assignee"] else None,
            "reporter": n["reporter"]["name"],
            "labels": sorted(label["name"] for label in n["labels"]),
            "comments": [
                (e["node"]["body"], e["node"]["author"]["name"]) for e in n["comments"]["edges"]
            ],
        }
        for n in nodes
    ]


def check_answer(dialect: str, workload: Workload, answer: Any) -> tuple[bool, str, Any]:
    """(ok, problem, normalised rows) for one answer of ``workload``."""
    if not isinstance(answer, dict) or answer.get("errors") or not answer.get("data"):
        return False, f"errors or no data: {str(answer)[:400]}", None
    data = answer["data"]
    if workload.writes:
        payload = data.get("createIssue") or {}
        if not payload.get("issue") or payload.get("userErrors"):
            return False, f"createIssue failed: {str(answer)[:400]}", None
        return True, "", None
    try:
        rows = _issue_rows(dialect, data, workload)
    except (KeyError, IndexError, TypeError) as error:
        return False, f"unexpected shape ({error!r}): {str(answer)[:400]}", None
    expected = PAGE_SIZES.get(workload.name, 1)
    if len(rows) != expected:
        return False, f"{len(rows)} issues, expected {expected}", rows
    for row in rows:
        if len(row["labels"]) != 3 or len(row["comments"]) != 5:
            return (
                False,
                f"issue {row['title']!r}: {len(row['labels'])} labels, "
                f"{len(row['comments'])} comments",
                rows,
            )
    return True, "", rows


def extract_project_id(answer: Any) -> str | None:
    try:
        return str(answer["data"]["project"]["id"])
    except (KeyError, TypeError):
        return None
