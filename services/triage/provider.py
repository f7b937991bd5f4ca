"""The triage provider interface: what goes in, what comes out, and the two failures a job tells
apart (``TransientProviderError``: retry later; ``ProviderAnswerError``: permanent, its message
may be shown to users, so neither ever carries the API key)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from services.types import IssuePriority

LOCAL_MODEL = "local-heuristic"


@dataclass(frozen=True)
class TriageSubject:
    """What is triaged: the issue's text, nothing that identifies it."""

    title: str
    body: str


@dataclass(frozen=True)
class LabelChoice:
    """A label of the issue's workspace that the provider may suggest."""

    id: int
    name: str


@dataclass(frozen=True)
class TriageSuggestion:
    summary: str
    # Only ids of the LabelChoice list given to the provider, in that list's order.
    label_ids: list[int]
    priority: IssuePriority
    # Which provider and model produced it, e.g. "local-heuristic" or "openai:gpt-4o-mini".
    model: str


class TriageProvider(Protocol):
    async def triage(
        self, subject: TriageSubject, labels: Sequence[LabelChoice]
    ) -> TriageSuggestion: ...

    async def aclose(self) -> None: ...


class TransientProviderError(Exception):
    """Worth retrying later: timeouts, connection errors, HTTP 408, 429 and 5xx."""


class ProviderAnswerError(Exception):
    """Permanent: a rejected request or an answer we cannot use; the message says which."""


def ordered_ids(labels: Sequence[LabelChoice], chosen: set[int]) -> list[int]:
    """The chosen ids in the order of the given labels, once each, so output is stable."""
    return list(dict.fromkeys(label.id for label in labels if label.id in chosen))
