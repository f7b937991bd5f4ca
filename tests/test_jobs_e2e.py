"""Each job kind end to end through the GraphQL API and a real arq worker."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from app.settings import Settings
from tests.support.jobs import JOB_FIELDS, wait_for_job
from tests.support.workers import running_worker
from tests.support.world import create_label, create_project, create_workspace


async def _setup(gql: Any, owner: Any, make_person: Any) -> dict[str, Any]:
    ws = await create_workspace(gql, owner, "acme", "Acme")
    project = await create_project(gql, owner, ws, "ENG", "Eng")
    labels = {
        name: await create_label(gql, owner, ws, name, color)
        for name, color in (("bug", "#d73a4a"), ("performance", "#fbca04"))
    }
    return {"ws": ws, "project": project, "labels": labels}


IMPORT = f"""mutation($p: ID!, $csv: String!, $key: String) {{
  importIssues(input: {{projectId: $p, csv: $csv, idempotencyKey: $key}}) {{
    job {{ {JOB_FIELDS} }} userErrors {{ field message code }} }} }}"""


async def test_import_creates_good_rows_and_reports_bad_ones(
    gql: Any, make_person: Any, settings: Settings
) -> None:
    owner = await make_person("Owner")
    ids = await _setup(gql, owner, make_person)
    csv_text = (
        "title,body,status,priority,assignee_email,labels\n"
        f"Crash on login,It crashes,TODO,HIGH,{owner.email},bug\n"
        "Bad status,,DOING,,,\n"
        "Slow list,,in progress,low,,performance;bug\n"
        "Unknown assignee,,,,nobody@example.com,\n"
        ",missing title,,,,\n"
        "Unknown label,,,,,nope\n"
    )
    body = await gql(IMPORT, {"p": ids["project"], "csv": csv_text}, as_=owner)
    payload = body["data"]["importIssues"]
    assert payload["userErrors"] == [], payload
    assert payload["job"]["status"] == "QUEUED"
    async with running_worker(settings):
        job = await wait_for_job(gql, owner, payload["job"]["id"])
    assert job["status"] == "SUCCEEDED", job
    assert job["progress"] == 1.0
    result = job["result"]
    assert result["created"] == 2
    assert result["failed"] == 4
    assert [e["line"] for e in result["errors"]] == [3, 5, 6, 7]
    assert "DOING" in result["errors"][0]["message"]
    body = await gql(
        """{ project(workspaceSlug: "acme", key: "ENG") { issues(orderBy: {field: NUMBER,
            direction: ASC}) { totalCount edges { node { identifier title status priority
            assignee { email } labels { name } } } } } }""",
        as_=owner,
    )
    issues = [e["node"] for e in body["data"]["project"]["issues"]["edges"]]
    assert [i["identifier"] for i in issues] == ["ENG-1", "ENG-2"]
    assert issues[0]["assignee"]["email"] == owner.email
    assert issues[0]["labels"] == [{"name": "bug"}]
    assert issues[1]["status"] == "IN_PROGRESS"
    assert {label["name"] for label in issues[1]["labels"]} == {"bug", "performance"}


async def test_export_is_downloadable_by_members_only(
    gql: Any, make_person: Any, settings: Settings, client: Any
) -> None:
    owner = await make_person("Owner")
    outsider = await make_person("Outsider")
    ids = await _setup(gql, owner, make_person)
    for n in range(3):
        await gql(
            "mutation($p: ID!, $t: String!, $l: [ID!]) { createIssue(input: "
            "{projectId: $p, title: $t, labelIds: $l}) { issue { id } } }",
            {"p": ids["project"], "t": f"Issue {n}", "l": [ids["labels"]["bug"]]},
            as_=owner,
        )
    jobs = {}
    for fmt in ("CSV", "JSON"):
        body = await gql(
            f"mutation($p: ID!) {{ exportProject(input: {{projectId: $p, format: {fmt}}}) "
            f"{{ job {{ id }} userErrors {{ message }} }} }}",
            {"p": ids["project"]},
            as_=owner,
        )
        jobs[fmt] = body["data"]["exportProject"]["job"]["id"]
    async with running_worker(settings):
        done = {fmt: await wait_for_job(gql, owner, job_id) for fmt, job_id in jobs.items()}
    for fmt, job in done.items():
        assert job["status"] == "SUCCEEDED", job
        assert job["result"]["rows"] == 3
        assert job["result"]["format"] == fmt
        url = job["downloadUrl"]
        assert url.endswith("/download")
        response = await client.get(url, headers=owner.headers)
        assert response.status_code == 200, response.text
        assert len(response.content) == job["result"]["bytes"]
        if fmt == "CSV":
            rows = list(csv.DictReader(io.StringIO(response.text)))
        else:
            rows = json.loads(response.text)
        assert sorted(r["identifier"] for r in rows) == ["ENG-1", "ENG-2", "ENG-3"]
        assert all(r["labels"] in ("bug", ["bug"]) for r in rows)
        assert all(r["reporter_email"] == owner.email for r in rows)
        assert (await client.get(url)).status_code == 401
        assert (await client.get(url, headers=outsider.headers)).status_code == 404


async def test_triage_stores_an_insight(gql: Any, make_person: Any, settings: Settings) -> None:
    owner = await make_person("Owner")
    ids = await _setup(gql, owner, make_person)
    body = await gql(
        'mutation($p: ID!) { createIssue(input: {projectId: $p, title: "App crashes on start",'
        ' body: "Production is down: the app crashes with an exception."}) { issue { id } } }',
        {"p": ids["project"]},
        as_=owner,
    )
    issue_id = body["data"]["createIssue"]["issue"]["id"]
    body = await gql(
        f"mutation($i: ID!) {{ triageIssue(input: {{issueId: $i}}) {{ job {{ {JOB_FIELDS} }} }} }}",
        {"i": issue_id},
        as_=owner,
    )
    job_id = body["data"]["triageIssue"]["job"]["id"]
    async with running_worker(settings):
        job = await wait_for_job(gql, owner, job_id)
    assert job["status"] == "SUCCEEDED", job
    assert job["result"]["model"] == "local-heuristic"
    assert job["result"]["suggestedLabelIds"] == [ids["labels"]["bug"]]
    assert job["result"]["suggestedPriority"] == "URGENT"
    body = await gql(
        "query($i: ID!) { node(id: $i) { ... on Issue { insight { summary suggestedPriority "
        "model suggestedLabels { id name } } } } }",
        {"i": issue_id},
        as_=owner,
    )
    insight = body["data"]["node"]["insight"]
    assert insight["suggestedLabels"] == [{"id": ids["labels"]["bug"], "name": "bug"}]
    assert insight["summary"].startswith("App crashes on start")
