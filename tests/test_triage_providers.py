"""Triage providers: the offline heuristic, and the OpenAI-compatible client against a real
local HTTP server (127.0.0.1, scripted answers; no mocking of httpx, no internet)."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from services.triage import (
    LOCAL_MODEL,
    OPENAI_SUMMARY_MAX,
    PROMPT_BODY_MAX,
    SUMMARY_MAX,
    LabelChoice,
    LocalHeuristicProvider,
    OpenAIProvider,
    ProviderAnswerError,
    TransientProviderError,
    TriageSubject,
    build_provider,
)
from services.types import IssuePriority
from tests.support.fakes import FakeOpenAI, Reply, completion

LABELS = [
    LabelChoice(1, "bug"),
    LabelChoice(2, "Performance"),
    LabelChoice(3, "security"),
    LabelChoice(4, "docs"),
    LabelChoice(5, "enhancement"),
    LabelChoice(6, "frontend"),
    LabelChoice(7, "good first issue"),
    LabelChoice(8, "type: Bug"),
]
ID_BY_NAME = {label.name: label.id for label in LABELS}
API_KEY = "sk-test-0123456789abcdef"


def ids(*names: str) -> list[int]:
    return [ID_BY_NAME[n] for n in names]


async def local(title: str, body: str = "", labels: list[LabelChoice] = LABELS) -> Any:
    return await LocalHeuristicProvider().triage(TriageSubject(title, body), labels)


# -- local heuristic ---------------------------------------------------------------------------


async def test_local_is_deterministic() -> None:
    subject = TriageSubject(
        "Export crashes on large projects",
        "Exporting a project with 10k issues crashes. The worker logs an exception. "
        "Small projects export fine.",
    )
    first = await LocalHeuristicProvider().triage(subject, LABELS)
    again = await LocalHeuristicProvider().triage(subject, LABELS)
    assert first == again
    assert LocalHeuristicProvider().suggest(subject, LABELS) == first
    assert first.model == LOCAL_MODEL == "local-heuristic"
    await LocalHeuristicProvider().aclose()


async def test_local_summary_is_title_plus_best_matching_sentences() -> None:
    body = (
        "Hello team. "
        "I use the app every day. "
        "The export button does nothing on Firefox. "
        "Weather is nice today. "
        "Clicking export on Firefox 128 shows a spinner forever."
    )
    result = await local("Export button broken on Firefox", body)
    # The two sentences sharing the most words with the title, in reading order.
    assert result.summary == (
        "Export button broken on Firefox. The export button does nothing on Firefox. "
        "Clicking export on Firefox 128 shows a spinner forever."
    )


async def test_local_summary_ties_go_to_the_earlier_sentence() -> None:
    body = "Alpha mentions login. Beta mentions login. Gamma mentions login."
    result = await local("Login", body)
    assert result.summary == "Login. Alpha mentions login. Beta mentions login."


async def test_local_summary_without_overlap_takes_the_first_sentence_only() -> None:
    result = await local("Dark mode", "Please consider it. Many users asked. Thanks!")
    assert result.summary == "Dark mode. Please consider it."


async def test_local_summary_is_extractive_and_bounded() -> None:
    first = "The importer ignores quota limits " + "for every workspace we tried " * 6 + "today."
    second = "Quota limits are ignored by the importer " + "on each retry of the job " * 6 + "too."
    body = f"Unrelated opening line. {first} Nothing else here. {second}"
    title = "Importer ignores quota limits"
    result = await local(title, body)
    full = f"{title}. {first} {second}"
    assert len(full) > SUMMARY_MAX
    assert len(result.summary) <= SUMMARY_MAX
    assert result.summary.endswith("\u2026")
    kept = result.summary.removesuffix("\u2026")
    # A prefix of title + the two best sentences, cut at a word boundary.
    assert full.startswith(kept)
    assert full[len(kept)] == " "
    assert len(kept) > SUMMARY_MAX // 2

    # Every sentence in an untrimmed summary is a piece of the body.
    short = await local("Importer quota", "Unrelated first line.\nThe importer skips the quota!")
    assert short.summary == "Importer quota. The importer skips the quota!"


async def test_local_summary_skips_code_blocks_markup_and_a_repeated_title() -> None:
    body = (
        "## Crash on save\n"
        "Crash on save\n"
        "```\nTraceback: crash on save in save_issue()\n```\n"
        "- Saving any issue crashes the page."
    )
    result = await local("Crash on save", body)
    assert result.summary == "Crash on save. Saving any issue crashes the page."


async def test_local_long_title_alone_is_trimmed() -> None:
    title = "word " * 100
    result = await local(title)
    assert len(result.summary) <= SUMMARY_MAX
    assert result.summary.endswith("word\u2026")


async def test_local_labels_by_word_overlap_with_stemming() -> None:
    labels = [
        LabelChoice(10, "Frontend"),
        LabelChoice(11, "database"),
        LabelChoice(12, "Notifications"),
        LabelChoice(13, "good first issue"),
        LabelChoice(14, "help wanted"),
    ]
    result = await local(
        "Notification badge misaligned in the frontend", "Seen on the issue page.", labels
    )
    # "Notifications" matches "notification" (plural stripped); generic words ("issue") and
    # label names of stopwords only never match.
    assert result.label_ids == [10, 12]
    assert (await local("Nothing relevant here", "", labels)).label_ids == []


@pytest.mark.parametrize(
    ("title", "body", "expected"),
    [
        ("App crashes on save", "", ["bug", "type: Bug"]),
        ("Weird error", "An exception is raised when I click.", ["bug", "type: Bug"]),
        ("Login is broken", "", ["bug", "type: Bug"]),
        ("Board view", "Rendering the board is slow and latency is bad.", ["Performance"]),
        ("Calls hit a timeout", "", ["Performance"]),
        ("Stored XSS in comments", "", ["security"]),
        ("SQL injection in search", "", ["security"]),
        ("Token leak in logs", "", ["security"]),
        ("Typo in the README", "", ["docs"]),
        ("Please add CSV export", "", ["enhancement"]),
        ("Support for SAML", "It would be nice to have.", ["enhancement"]),
        ("Docs for webhooks", "", ["docs"]),
    ],
)
async def test_local_labels_by_synonyms(title: str, body: str, expected: list[str]) -> None:
    assert (await local(title, body)).label_ids == ids(*expected)


async def test_local_label_ids_follow_the_given_order_and_only_given_ids() -> None:
    text = ("Slow page crashes", "Typo too.")
    forward = await local(*text, labels=LABELS)
    backward = await local(*text, labels=list(reversed(LABELS)))
    assert forward.label_ids == ids("bug", "Performance", "docs", "type: Bug")
    assert backward.label_ids == list(reversed(forward.label_ids))
    assert (await local(*text, labels=[])).label_ids == []
    duplicated = [LabelChoice(1, "bug"), LabelChoice(1, "bug")]
    assert (await local(*text, labels=duplicated)).label_ids == [1]


@pytest.mark.parametrize(
    ("title", "body", "priority"),
    [
        ("Outage in eu-west", "", IssuePriority.URGENT),
        ("Sync", "We had data loss after the migration.", IssuePriority.URGENT),
        ("Production down", "", IssuePriority.URGENT),
        ("Please fix ASAP", "", IssuePriority.URGENT),
        ("Critical: tokens never expire", "", IssuePriority.URGENT),
        ("Security hole in export", "", IssuePriority.URGENT),
        ("Urgent: typo on the pricing page", "", IssuePriority.URGENT),
        ("App crashed twice", "", IssuePriority.HIGH),
        ("Import fails for big files", "", IssuePriority.HIGH),
        ("I cannot log in", "", IssuePriority.HIGH),
        ("I can't log in", "", IssuePriority.HIGH),
        ("Release blocker", "", IssuePriority.HIGH),
        ("Search is broken", "Also a minor typo.", IssuePriority.HIGH),
        ("Typo in the footer", "", IssuePriority.LOW),
        ("Cosmetic: button colour", "", IssuePriority.LOW),
        ("Dark mode", "Nice to have, not needed.", IssuePriority.LOW),
        ("Add CSV export", "Teams want it.", IssuePriority.MEDIUM),
    ],
)
async def test_local_priority_cues(title: str, body: str, priority: IssuePriority) -> None:
    assert (await local(title, body)).priority is priority


async def test_local_empty_body() -> None:
    result = await local("Sidebar overlaps content", "")
    assert result.summary == "Sidebar overlaps content"
    assert result.label_ids == []
    assert result.priority is IssuePriority.MEDIUM
    whitespace = await local("Sidebar overlaps content", "  \n\n ```\n```\n")
    assert whitespace.summary == "Sidebar overlaps content"


async def test_local_unicode() -> None:
    labels = [LabelChoice(1, "Ошибка"), LabelChoice(2, "café"), LabelChoice(3, "bug")]
    result = await local(
        "Ошибка при сохранении 🙂",
        "Приложение падает при сохранении задачи. Le café est froid. Ich kann\u2019s nicht.",
        labels,
    )
    assert result.label_ids == [1, 2]
    assert result.summary == "Ошибка при сохранении 🙂. Приложение падает при сохранении задачи."
    # A typographic apostrophe reads like a plain one.
    assert (await local("I can\u2019t log in")).priority is IssuePriority.HIGH


async def test_local_is_fast_on_a_maximal_body() -> None:
    body = ("The importer crashes while the quota job runs slowly. " * 1300)[:65_536]
    started = time.perf_counter()
    result = await local("Importer crashes", body)
    assert time.perf_counter() - started < 0.5
    assert len(result.summary) <= SUMMARY_MAX


@pytest.fixture
async def server() -> AsyncIterator[FakeOpenAI]:
    fake = FakeOpenAI()
    await fake.start()
    yield fake
    await fake.close()


MakeProvider = Callable[..., OpenAIProvider]


@pytest.fixture
async def make_provider(server: FakeOpenAI) -> AsyncIterator[MakeProvider]:
    made: list[OpenAIProvider] = []

    def make(**overrides: Any) -> OpenAIProvider:
        options: dict[str, Any] = {
            "base_url": server.base_url,
            "api_key": API_KEY,
            "model": "gpt-4o-mini",
            "timeout": 2.0,
            "max_retries": 2,
            "backoff": 0,
        }
        options.update(overrides)
        provider = OpenAIProvider(**options)
        made.append(provider)
        return provider

    yield make
    for provider in made:
        await provider.aclose()


GOOD = completion(
    {"summary": "Saving crashes the editor.", "labels": ["type: bug", "BUG"], "priority": "HIGH"}
)
SUBJECT = TriageSubject("Editor crashes on save", "Saving any issue crashes the editor.")


# -- OpenAI provider ---------------------------------------------------------------------------


async def test_openai_good_answer(server: FakeOpenAI, make_provider: MakeProvider) -> None:
    server.replies = [Reply(200, GOOD)]
    result = await make_provider().triage(SUBJECT, LABELS)

    assert result.summary == "Saving crashes the editor."
    assert result.label_ids == ids("bug", "type: Bug")  # case-insensitive, in the given order
    assert result.priority is IssuePriority.HIGH
    assert result.model == "openai:gpt-4o-mini"

    [request] = server.requests
    assert request.method == "POST"
    assert request.path == "/v1/chat/completions"
    assert request.headers["authorization"] == f"Bearer {API_KEY}"
    assert request.headers["content-type"] == "application/json"
    body = request.json()
    assert body["model"] == "gpt-4o-mini"
    assert body["temperature"] == 0
    assert body["response_format"] == {"type": "json_object"}
    system, user = body["messages"]
    assert system["role"] == "system"
    assert all(word in system["content"] for word in ("summary", "labels", "priority", "URGENT"))
    assert user["role"] == "user"
    issue = json.loads(user["content"])
    assert issue["title"] == SUBJECT.title
    assert issue["body"] == SUBJECT.body
    assert issue["allowed_labels"] == [label.name for label in LABELS]


async def test_openai_without_key_sends_no_authorization(
    server: FakeOpenAI, make_provider: MakeProvider
) -> None:
    server.replies = [Reply(200, GOOD)]
    await make_provider(api_key=None).triage(SUBJECT, LABELS)
    assert "authorization" not in server.requests[0].headers


async def test_openai_prompt_body_is_bounded(
    server: FakeOpenAI, make_provider: MakeProvider
) -> None:
    server.replies = [Reply(200, GOOD)]
    await make_provider().triage(TriageSubject("Long", "x" * (PROMPT_BODY_MAX + 500)), [])
    issue = json.loads(server.requests[0].json()["messages"][1]["content"])
    assert len(issue["body"]) == PROMPT_BODY_MAX
    assert issue["allowed_labels"] == []


@pytest.mark.parametrize("status", [500, 429, 408])
async def test_openai_retries_a_transient_failure(
    server: FakeOpenAI, make_provider: MakeProvider, status: int
) -> None:
    server.replies = [Reply(status, {"error": {"message": "try again"}}), Reply(200, GOOD)]
    result = await make_provider().triage(SUBJECT, LABELS)
    assert result.priority is IssuePriority.HIGH
    assert len(server.requests) == 2
    assert server.requests[0].body == server.requests[1].body


async def test_openai_gives_up_after_repeated_503(
    server: FakeOpenAI, make_provider: MakeProvider
) -> None:
    server.replies = [Reply(503, "Service Unavailable")] * 5
    with pytest.raises(TransientProviderError, match=r"HTTP 503 \(3 attempts\)") as caught:
        await make_provider(max_retries=2).triage(SUBJECT, LABELS)
    assert len(server.requests) == 3
    assert API_KEY not in str(caught.value)


async def test_openai_backoff_is_exponential(
    server: FakeOpenAI, make_provider: MakeProvider
) -> None:
    server.replies = [Reply(503)] * 3
    started = time.perf_counter()
    with pytest.raises(TransientProviderError):
        await make_provider(max_retries=2, backoff=0.05).triage(SUBJECT, LABELS)
    assert time.perf_counter() - started >= 0.05 + 0.1


async def test_openai_timeout_is_transient(server: FakeOpenAI, make_provider: MakeProvider) -> None:
    server.replies = [Reply(200, GOOD, delay=2.0)] * 2
    started = time.perf_counter()
    with pytest.raises(TransientProviderError, match=r"no answer within 0\.2 s"):
        await make_provider(timeout=0.2, max_retries=1).triage(SUBJECT, LABELS)
    assert time.perf_counter() - started < 1.5
    assert len(server.requests) == 2


async def test_openai_connection_refused_is_transient(make_provider: MakeProvider) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # Nothing listens on the port any more.
    provider = make_provider(base_url=f"http://127.0.0.1:{port}/v1", max_retries=1)
    with pytest.raises(TransientProviderError, match=r"connection failed \(ConnectError\)"):
        await provider.triage(SUBJECT, LABELS)


async def test_openai_bad_request_is_permanent(
    server: FakeOpenAI, make_provider: MakeProvider
) -> None:
    server.replies = [Reply(400, {"error": {"message": "The model `gpt-x` does not exist"}})]
    with pytest.raises(ProviderAnswerError, match=r"HTTP 400\): The model `gpt-x` does not exist"):
        await make_provider().triage(SUBJECT, LABELS)
    assert len(server.requests) == 1  # not retried


async def test_openai_rejected_key_never_appears_in_the_error(
    server: FakeOpenAI, make_provider: MakeProvider
) -> None:
    server.replies = [
        Reply(401, {"error": {"message": f"Incorrect API key provided: {API_KEY}"}}),
        Reply(422, {"error": {"message": f"Echo {API_KEY} back"}}),
    ]
    provider = make_provider()
    with pytest.raises(ProviderAnswerError, match="check the API key") as unauthorized:
        await provider.triage(SUBJECT, LABELS)
    with pytest.raises(ProviderAnswerError, match="HTTP 422") as unprocessable:
        await provider.triage(SUBJECT, LABELS)
    for caught in (unauthorized, unprocessable):
        assert API_KEY not in str(caught.value)
        assert API_KEY not in repr(caught.value)
    assert API_KEY not in repr(provider)
    assert len(server.requests) == 2


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        (Reply(200, completion("this is {not json")), "not valid JSON"),
        (Reply(200, completion(["a", "list"])), "not a JSON object"),
        (
            Reply(200, completion({"summary": "S", "labels": [], "priority": "P1"})),
            'priority "P1", not one of NONE, LOW, MEDIUM, HIGH, URGENT',
        ),
        (Reply(200, completion({"summary": "S", "labels": []})), "priority null"),
        (Reply(200, completion({"labels": [], "priority": "LOW"})), "no string 'summary'"),
        (
            Reply(200, completion({"summary": 42, "labels": [], "priority": "LOW"})),
            "no string 'summary'",
        ),
        (
            Reply(200, completion({"summary": "  ", "labels": [], "priority": "LOW"})),
            "empty 'summary'",
        ),
        (
            Reply(200, completion({"summary": "S", "labels": "bug", "priority": "LOW"})),
            "'labels' list of strings",
        ),
        (
            Reply(200, completion({"summary": "S", "labels": ["bug", 3], "priority": "LOW"})),
            "'labels' list of strings",
        ),
        (Reply(200, completion({"summary": "S", "priority": "LOW"})), "'labels' list"),
        (Reply(200, completion("")), "answer is empty"),
        (Reply(200, {"choices": []}), r"no choices\[0\]\.message"),
        (Reply(200, {"object": "error"}), r"no choices\[0\]\.message"),
        (Reply(200, "<html>gateway</html>"), "response is not JSON"),
        (
            Reply(
                200,
                {"choices": [{"message": {"content": None, "refusal": "I can't help with that"}}]},
            ),
            "refused: I can't help with that",
        ),
    ],
)
async def test_openai_unusable_answers_are_permanent(
    server: FakeOpenAI, make_provider: MakeProvider, reply: Reply, reason: str
) -> None:
    server.replies = [reply]
    with pytest.raises(ProviderAnswerError, match=reason):
        await make_provider().triage(SUBJECT, LABELS)
    assert len(server.requests) == 1  # not retried


async def test_openai_unknown_label_names_are_ignored(
    server: FakeOpenAI, make_provider: MakeProvider
) -> None:
    answer = {
        "summary": "  Slow board.  ",
        "labels": ["wontfix", " performance ", "Frontend", "frontend", "bugs"],
        "priority": "low",
    }
    server.replies = [Reply(200, completion(answer))]
    result = await make_provider().triage(SUBJECT, LABELS)
    assert result.label_ids == ids("Performance", "frontend")
    assert result.priority is IssuePriority.LOW
    assert result.summary == "Slow board."


async def test_openai_long_summary_is_truncated_and_fences_are_tolerated(
    server: FakeOpenAI, make_provider: MakeProvider
) -> None:
    answer = {"summary": "s" * 5000, "labels": [], "priority": "NONE"}
    server.replies = [Reply(200, completion(f"```json\n{json.dumps(answer)}\n```"))]
    result = await make_provider().triage(SUBJECT, LABELS)
    assert result.summary == "s" * OPENAI_SUMMARY_MAX
    assert result.priority is IssuePriority.NONE
    assert result.label_ids == []


async def test_openai_client_ownership(server: FakeOpenAI) -> None:
    server.replies = [Reply(200, GOOD), Reply(200, GOOD)]
    async with httpx.AsyncClient() as client:
        borrowed = OpenAIProvider(
            base_url=server.base_url, api_key=None, model="m", backoff=0, client=client
        )
        await borrowed.triage(SUBJECT, LABELS)
        await borrowed.aclose()
        assert not client.is_closed  # not ours to close
        await borrowed.triage(SUBJECT, LABELS)

    owned = OpenAIProvider(base_url=server.base_url, api_key=None, model="m", backoff=0)
    await owned.aclose()
    with pytest.raises(RuntimeError, match="closed"):
        await owned.triage(SUBJECT, LABELS)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"base_url": "ftp://example.com/v1"}, "http"),
        ({"base_url": "not a url"}, "http"),
        ({"model": " "}, "model"),
        ({"timeout": 0}, "timeout"),
        ({"max_retries": -1}, "max_retries"),
    ],
)
async def test_openai_rejects_bad_settings(options: dict[str, Any], message: str) -> None:
    settings: dict[str, Any] = {
        "base_url": "https://api.openai.com/v1",
        "api_key": API_KEY,
        "model": "gpt-4o-mini",
    }
    with pytest.raises(ValueError, match=message) as caught:
        OpenAIProvider(**(settings | options))
    assert API_KEY not in str(caught.value)


# -- build_provider ----------------------------------------------------------------------------


async def test_build_provider() -> None:
    options: dict[str, Any] = {
        "openai_base_url": "https://api.openai.com/v1",
        "openai_api_key": API_KEY,
        "openai_model": "gpt-4o-mini",
    }
    assert isinstance(build_provider("local", **options), LocalHeuristicProvider)
    assert isinstance(build_provider(" Local ", **options), LocalHeuristicProvider)
    openai = build_provider("openai", **options, timeout=5.0, max_retries=0)
    try:
        assert isinstance(openai, OpenAIProvider)
        assert openai.model == "openai:gpt-4o-mini"
    finally:
        await openai.aclose()
    with pytest.raises(ValueError, match=r"Unknown triage provider 'anthropic'.*local, openai"):
        build_provider("anthropic", **options)
