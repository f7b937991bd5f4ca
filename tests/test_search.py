"""Full-text search: searchIssues (ranked, paged, per workspace) and IssueFilter.search."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from tests.support.client import GraphQLClient, Person, data_of
from tests.support.walks import PAGE_INFO, walk
from tests.support.world import add_member, create_project, create_workspace

CREATE_ISSUE = """mutation($p: ID!, $title: String!, $body: String, $status: IssueStatus) {
  createIssue(input: {projectId: $p, title: $title, body: $body, status: $status}) {
    issue { identifier } userErrors { message }
  }
}"""

SEARCH = f"""query($ws: String!, $q: String!, $first: Int, $after: String) {{
  searchIssues(workspaceSlug: $ws, query: $q, first: $first, after: $after) {{
    totalCount {PAGE_INFO} edges {{ cursor node {{ identifier title }} }}
  }}
}}"""

# Titles that mention a crash (in some inflection), bodies that do, and bystanders.
TITLE_MATCHES = [
    ("App crashes on startup", "Seen on every launch since 2.3."),
    ("Crash when saving a draft", "Happens with long drafts."),
    ("Editor crashing after paste", "Paste a large table into the editor."),
    ("Crashed uploader", "The uploader stops."),
]
BODY_MATCHES = [
    ("Startup is slow", "Sometimes it even crashes the whole window."),
    ("Export fails", "The exporter crash leaves a half-written file."),
    ("Odd behaviour in settings", "Toggling dark mode made the app crash once."),
]
OTHERS = [
    ("Login button misaligned", "The button sits two pixels too low."),
    ("Add dark mode", "Users keep asking for it."),
    ("Typo on pricing page", "Recieve should be receive."),
]


@dataclass
class SearchData:
    alice: Person
    bob: Person
    identifiers: dict[str, str]  # title -> identifier


async def _issue(
    gql: GraphQLClient, person: Person, project_id: str, title: str, body: str, status: str = "TODO"
) -> str:
    result = await gql(
        CREATE_ISSUE, {"p": project_id, "title": title, "body": body, "status": status}, as_=person
    )
    payload = data_of(result)["createIssue"]
    assert payload["userErrors"] == [], payload
    identifier: str = payload["issue"]["identifier"]
    return identifier


@pytest.fixture
async def search_data(gql: GraphQLClient, make_person: Any) -> SearchData:
    alice: Person = await make_person("Alice")
    bob: Person = await make_person("Bob")
    acme = await create_workspace(gql, alice, "acme")
    await add_member(gql, alice, acme, bob, "VIEWER")
    eng = await create_project(gql, alice, acme, "ENG")
    web = await create_project(gql, alice, acme, "WEB")
    identifiers: dict[str, str] = {}
    # Interleave so creation order says nothing about rank; spread over two projects.
    rows = [*BODY_MATCHES, *OTHERS, *TITLE_MATCHES]
    for i, (title, body) in enumerate(rows):
        status = "DONE" if i % 3 == 0 else "TODO"
        identifiers[title] = await _issue(gql, alice, eng if i % 2 else web, title, body, status)
    # Another workspace, not Alice's, with a crash of its own.
    other = await create_workspace(gql, bob, "other")
    ops = await create_project(gql, bob, other, "OPS")
    identifiers["Server crash at midnight"] = await _issue(
        gql, bob, ops, "Server crash at midnight", "The cron job crashes."
    )
    return SearchData(alice=alice, bob=bob, identifiers=identifiers)


async def _search(
    gql: GraphQLClient, person: Person, slug: str, q: str, **args: Any
) -> dict[str, Any]:
    body = await gql(SEARCH, {"ws": slug, "q": q, **args}, as_=person)
    connection: dict[str, Any] = data_of(body)["searchIssues"]
    return connection


def _titles(connection: dict[str, Any]) -> list[str]:
    return [e["node"]["title"] for e in connection["edges"]]


@pytest.mark.parametrize("query", ["crash", "crashes", "CRASHING", "crashed"])
async def test_search_matches_title_and_body_with_stemming(
    gql: GraphQLClient, search_data: SearchData, query: str
) -> None:
    result = await _search(gql, search_data.alice, "acme", query, first=50)
    titles = _titles(result)
    expected = {t for t, _ in TITLE_MATCHES + BODY_MATCHES}
    assert set(titles) == expected
    assert len(titles) == len(expected)
    assert result["totalCount"] == len(expected)
    assert result["pageInfo"]["hasNextPage"] is False


async def test_title_matches_rank_above_body_only_matches(
    gql: GraphQLClient, search_data: SearchData
) -> None:
    titles = _titles(await _search(gql, search_data.alice, "acme", "crashes", first=50))
    n = len(TITLE_MATCHES)
    assert set(titles[:n]) == {t for t, _ in TITLE_MATCHES}, titles
    assert set(titles[n:]) == {t for t, _ in BODY_MATCHES}, titles


async def test_search_matches_several_words_and_body_words(
    gql: GraphQLClient, search_data: SearchData
) -> None:
    titles = _titles(await _search(gql, search_data.alice, "acme", "saving drafts", first=50))
    assert titles == ["Crash when saving a draft"]
    titles = _titles(await _search(gql, search_data.alice, "acme", "pixels", first=50))
    assert titles == ["Login button misaligned"]  # a body-only word
    result = await _search(gql, search_data.alice, "acme", "kangaroo", first=50)
    assert result["edges"] == []
    assert result["totalCount"] == 0


async def test_search_pages_with_first_and_after(
    gql: GraphQLClient, search_data: SearchData
) -> None:
    full = _titles(await _search(gql, search_data.alice, "acme", "crash", first=50))
    for size in (1, 2, 3, 7):
        # searchIssues has no last/before: forward only.
        result = await walk(
            gql,
            search_data.alice,
            SEARCH,
            ["searchIssues"],
            size=size,
            variables={"ws": "acme", "q": "crash"},
        )
        titles = [n["title"] for n in result.nodes]
        assert titles == full, size  # same order, each match once
        assert result.total_counts == {len(full)}
        assert result.pages == -(-len(full) // size)


async def test_search_is_scoped_to_the_viewers_workspace(
    gql: GraphQLClient, search_data: SearchData
) -> None:
    alice, bob = search_data.alice, search_data.bob
    # Alice is not a member of "other": nothing, not an error.
    result = await _search(gql, alice, "other", "crash", first=50)
    assert result["edges"] == []
    assert result["totalCount"] == 0
    assert result["pageInfo"]["hasNextPage"] is False
    # An unknown slug reads the same.
    result = await _search(gql, alice, "nope", "crash", first=50)
    assert result["edges"] == []
    assert result["totalCount"] == 0
    # Alice's results never include the other workspace's issue.
    assert _titles(await _search(gql, alice, "acme", "midnight", first=50)) == []
    assert "Server crash at midnight" not in _titles(
        await _search(gql, alice, "acme", "crash", first=50)
    )
    # Bob sees his own workspace's issue there, and Acme's as a viewer.
    assert _titles(await _search(gql, bob, "other", "crash", first=50)) == [
        "Server crash at midnight"
    ]
    assert len(_titles(await _search(gql, bob, "acme", "crash", first=50))) == 7


ISSUES_WITH_SEARCH = f"""query($key: String!, $filter: IssueFilter, $first: Int, $after: String,
    $last: Int, $before: String) {{
  project(workspaceSlug: "acme", key: $key) {{
    issues(filter: $filter, first: $first, after: $after, last: $last, before: $before) {{
      totalCount {PAGE_INFO} edges {{ cursor node {{ identifier title status }} }}
    }}
  }}
}}"""


async def test_issue_filter_search_inside_project_issues(
    gql: GraphQLClient, search_data: SearchData
) -> None:
    alice = search_data.alice
    ids = search_data.identifiers
    matching = {t for t, _ in TITLE_MATCHES + BODY_MATCHES}
    for key in ("ENG", "WEB"):
        expected = sorted(
            (ids[t] for t in matching if ids[t].startswith(f"{key}-")),
            key=lambda i: -int(i.split("-")[1]),  # newest first: the default order
        )
        assert expected, key
        for backward in (False, True):
            result = await walk(
                gql,
                alice,
                ISSUES_WITH_SEARCH,
                ["project", "issues"],
                size=2,
                backward=backward,
                variables={"key": key, "filter": {"search": "crashes"}},
            )
            assert [n["identifier"] for n in result.nodes] == expected, (key, backward)
            assert result.total_counts == {len(expected)}
    # Combined with another filter.
    body = await gql(
        ISSUES_WITH_SEARCH,
        {"key": "ENG", "filter": {"search": "crash", "status": ["DONE"]}, "first": 50},
        as_=alice,
    )
    connection = data_of(body)["project"]["issues"]
    assert all(e["node"]["status"] == "DONE" for e in connection["edges"])
    assert {e["node"]["title"] for e in connection["edges"]} <= matching
    assert connection["totalCount"] == len(connection["edges"])
    # A search that matches nothing, and a blank one that filters nothing.
    body = await gql(
        ISSUES_WITH_SEARCH, {"key": "ENG", "filter": {"search": "kangaroo"}}, as_=alice
    )
    assert data_of(body)["project"]["issues"]["totalCount"] == 0
    body = await gql(ISSUES_WITH_SEARCH, {"key": "ENG", "filter": {"search": "  "}}, as_=alice)
    eng_total = sum(1 for i in ids.values() if i.startswith("ENG-"))
    assert data_of(body)["project"]["issues"]["totalCount"] == eng_total
