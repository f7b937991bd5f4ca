"""AI triage providers behind one interface: an offline heuristic and an OpenAI-compatible API.

A provider turns an issue's title and body into a summary, suggested labels (only ids of the
workspace labels it was given) and a suggested priority. The triage job picks one with
``build_provider`` and treats ``TransientProviderError`` as "retry later" and
``ProviderAnswerError`` as a permanent failure whose message may be shown to users, so neither
ever carries the API key.
"""

from __future__ import annotations

from services.triage.heuristic import SUMMARY_MAX, LocalHeuristicProvider
from services.triage.openai_compatible import (
    OPENAI_SUMMARY_MAX,
    PROMPT_BODY_MAX,
    SYSTEM_PROMPT,
    OpenAIProvider,
)
from services.triage.provider import (
    LOCAL_MODEL,
    LabelChoice,
    ProviderAnswerError,
    TransientProviderError,
    TriageProvider,
    TriageSubject,
    TriageSuggestion,
)

__all__ = [
    "LOCAL_MODEL",
    "OPENAI_SUMMARY_MAX",
    "PROMPT_BODY_MAX",
    "PROVIDER_NAMES",
    "SUMMARY_MAX",
    "SYSTEM_PROMPT",
    "LabelChoice",
    "LocalHeuristicProvider",
    "OpenAIProvider",
    "ProviderAnswerError",
    "TransientProviderError",
    "TriageProvider",
    "TriageSubject",
    "TriageSuggestion",
    "build_provider",
]

PROVIDER_NAMES = ("local", "openai")


def build_provider(
    name: str,
    *,
    openai_base_url: str,
    openai_api_key: str | None,
    openai_model: str,
    timeout: float = 20.0,
    max_retries: int = 2,
) -> TriageProvider:
    """The provider a setting names: "local" (the default) or "openai"."""
    key = name.strip().lower()
    if key == "local":
        return LocalHeuristicProvider()
    if key == "openai":
        return OpenAIProvider(
            base_url=openai_base_url,
            api_key=openai_api_key,
            model=openai_model,
            timeout=timeout,
            max_retries=max_retries,
        )
    raise ValueError(
        f"Unknown triage provider {name!r}; expected one of: {', '.join(PROVIDER_NAMES)}."
    )
