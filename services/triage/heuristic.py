"""The offline triage provider: deterministic heuristics over the issue's words, no I/O."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from services.triage.provider import (
    LOCAL_MODEL,
    LabelChoice,
    TriageSubject,
    TriageSuggestion,
    ordered_ids,
)
from services.types import IssuePriority

SUMMARY_MAX = 280

_WORD_RE = re.compile(r"[^\W_]+(?:'[^\W_]+)*")
_SENTENCE_SPLIT_RE = re.compile(r"(?<=[.!?])\s+|\n+")
_CODE_BLOCK_RE = re.compile(r"```.*?(?:```|\Z)", re.DOTALL)
_LEADING_MARKUP = "#>*-+ \t"


def _word_set(words: str) -> frozenset[str]:
    return frozenset(words.split())


# Too common to say anything about a topic: ignored when scoring overlap with the title and when
# matching label names (cues and phrases below still see every word).
_STOPWORDS = _word_set(
    """a an the and or but if then else of to in on at by for with from as into onto out up down
    about than too very is are was were be been being am it its it's this that these those there
    here i me my we us our you your he him his she her they them their not no do does did done
    have has had when what which who whom how why so can will would should could may might must
    just also all any some each after before while again only own same such get got"""
)

# Label-name words that say nothing about the issue ("type: bug", "good first issue"): a label
# is never suggested because one of these words occurs in the text.
_GENERIC_LABEL_WORDS = _word_set(
    "type kind area status priority good first issue issues help wanted need needs"
)


def _normalize(text: str) -> str:
    return text.lower().replace("\u2019", "'").replace("\u2018", "'")


@functools.lru_cache(maxsize=16_384)
def _stem(word: str) -> str:
    """Crude suffix stripping, applied alike to the text, label names and cue words.

    "crashes"/"crashed"/"crashing" -> "crash", "issues"/"issue" -> "issu", "docs" -> "doc":
    strip "'s", then one of "ing", "ed", "s" (not "ss"), then a trailing "e", each only while at
    least three characters remain. Covers the "es" plural too. Cached: words repeat a lot.
    """
    if word.endswith("'s"):
        word = word[:-2]
    for suffix in ("ing", "ed", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            if suffix == "s" and word.endswith("ss"):
                break
            word = word[: -len(suffix)]
            break
    if word.endswith("e") and len(word) > 3:
        word = word[:-1]
    return word


def _stems(text: str) -> list[str]:
    return [_stem(w) for w in _WORD_RE.findall(_normalize(text))]


_STOP_STEMS = frozenset(_stem(w) for w in _STOPWORDS)
_GENERIC_LABEL_STEMS = frozenset(_stem(w) for w in _GENERIC_LABEL_WORDS)


def _significant(stems: Iterable[str]) -> set[str]:
    return {s for s in stems if s not in _STOP_STEMS}


@dataclass(frozen=True)
class _Cues:
    """Single words and multi-word phrases, stemmed once at import."""

    words: frozenset[str]
    phrases: tuple[str, ...]

    @classmethod
    def of(cls, *cues: str) -> _Cues:
        words = {_stem(_normalize(c)) for c in cues if len(_WORD_RE.findall(_normalize(c))) == 1}
        phrases = tuple(
            " ".join(_stems(c)) for c in cues if len(_WORD_RE.findall(_normalize(c))) > 1
        )
        return cls(frozenset(words), phrases)

    def found_in(self, stem_set: set[str], joined: str) -> bool:
        return not self.words.isdisjoint(stem_set) or any(
            f" {phrase} " in joined for phrase in self.phrases
        )


# Synonym table: a workspace label whose name contains one of the name words is suggested when
# the text contains one of the cues (or, as for every label, one of its own name words).
#
#   topic          label name words                         cues in the title or body
#   bug            bug, defect, bugfix                      bug, crash, error, exception, broken,
#                                                           fails, failure, regression, traceback,
#                                                           stack trace, not working, doesn't work
#   performance    performance, perf, speed, slow           slow, latency, timeout, timed out, lag,
#                                                           sluggish, high cpu, memory usage
#   security       security, vulnerability, vuln            security, vulnerability, xss,
#                                                           injection, leak, csrf, cve, exploit
#   documentation  doc, docs, documentation                 typo, readme, documentation, docs,
#                                                           docstring, tutorial
#   feature        feature, enhancement, improvement        add, support, request, would be nice,
#                                                           feature request, proposal, suggestion
_SYNONYMS: tuple[tuple[frozenset[str], _Cues], ...] = tuple(
    (frozenset(_stem(n) for n in names.split()), _Cues.of(*cues))
    for names, cues in (
        (
            "bug defect bugfix",
            (
                "bug",
                "crash",
                "error",
                "exception",
                "broken",
                "fails",
                "failure",
                "regression",
                "traceback",
                "stack trace",
                "not working",
                "doesn't work",
            ),
        ),
        (
            "performance perf speed slow",
            (
                "slow",
                "latency",
                "timeout",
                "timed out",
                "lag",
                "sluggish",
                "high cpu",
                "memory usage",
            ),
        ),
        (
            "security vulnerability vuln",
            ("security", "vulnerability", "xss", "injection", "leak", "csrf", "cve", "exploit"),
        ),
        (
            "doc docs documentation",
            ("typo", "readme", "documentation", "docs", "docstring", "tutorial"),
        ),
        (
            "feature enhancement improvement",
            (
                "add",
                "support",
                "request",
                "would be nice",
                "feature request",
                "proposal",
                "suggestion",
            ),
        ),
    )
)

# Priority from urgency cues: the highest level with a cue in the title or body wins.
#
#   URGENT  outage, data loss, data corruption, security, vulnerability, xss, sql injection,
#           cve, exploit, production down, prod down, production is down, site down, urgent,
#           asap, critical
#   HIGH    crash, broken, cannot, can't, blocker, fails
#   LOW     typo, cosmetic, minor, nice to have
#   MEDIUM  none of the above
#
# Words are stemmed like the text, so "crashes", "crashed" and "failing" count too. Negations
# ("not urgent") are not understood: it is a heuristic, and a human has the last word.
_PRIORITY_CUES: tuple[tuple[IssuePriority, _Cues], ...] = (
    (
        IssuePriority.URGENT,
        _Cues.of(
            "outage",
            "data loss",
            "data corruption",
            "security",
            "vulnerability",
            "xss",
            "sql injection",
            "cve",
            "exploit",
            "production down",
            "prod down",
            "production is down",
            "site down",
            "urgent",
            "asap",
            "critical",
        ),
    ),
    (IssuePriority.HIGH, _Cues.of("crash", "broken", "cannot", "can't", "blocker", "fails")),
    (IssuePriority.LOW, _Cues.of("typo", "cosmetic", "minor", "nice to have")),
)


def _sentences(body: str) -> list[str]:
    """Candidate summary sentences: prose only (no fenced code), with markup and runs of
    whitespace removed, so each is still a piece of the input."""
    prose = _CODE_BLOCK_RE.sub("\n", body)
    found: list[str] = []
    for piece in _SENTENCE_SPLIT_RE.split(prose):
        sentence = " ".join(piece.strip().lstrip(_LEADING_MARKUP).split())
        if _WORD_RE.search(sentence):
            found.append(sentence)
    return found


def _trim(text: str, limit: int = SUMMARY_MAX) -> str:
    """At most ``limit`` characters, cut at a word boundary and marked with an ellipsis."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:-\u2014") + "\u2026"


def _summary(title: str, body: str) -> str:
    """The title plus the one or two body sentences sharing the most words with it."""
    title = " ".join(title.split())
    title_words = _significant(_stems(title))
    title_key = _normalize(title).rstrip(".!?")
    scored: list[tuple[int, int, str]] = []
    for position, sentence in enumerate(_sentences(body)):
        if _normalize(sentence).rstrip(".!?") == title_key:
            continue  # the body repeating the title adds nothing
        overlap = len(title_words & _significant(_stems(sentence)))
        scored.append((-overlap, position, sentence))
    scored.sort()
    picked = scored[:1] + [s for s in scored[1:2] if s[0] < 0]
    extract = " ".join(sentence for _, _, sentence in sorted(picked, key=lambda s: s[1]))
    if not title:
        return _trim(extract)
    if not extract:
        return _trim(title)
    separator = " " if title[-1] in ".!?:" else ". "
    return _trim(title + separator + extract)


def _suggest_labels(stem_set: set[str], joined: str, labels: Sequence[LabelChoice]) -> list[int]:
    words = _significant(stem_set)
    topics = [names for names, cues in _SYNONYMS if cues.found_in(stem_set, joined)]
    chosen: set[int] = set()
    for label in labels:
        name_words = _significant(_stems(label.name)) - _GENERIC_LABEL_STEMS
        if not name_words.isdisjoint(words) or any(
            not name_words.isdisjoint(names) for names in topics
        ):
            chosen.add(label.id)
    return ordered_ids(labels, chosen)


def _priority(stem_set: set[str], joined: str) -> IssuePriority:
    for priority, cues in _PRIORITY_CUES:
        if cues.found_in(stem_set, joined):
            return priority
    return IssuePriority.MEDIUM


class LocalHeuristicProvider:
    """The default: offline, deterministic (same input, same output) and cheap.

    Pure CPU, linear in the text, no I/O: about 10 ms for the largest body an issue may have
    (64 KiB), so it is safe to await on the event loop.
    """

    model = LOCAL_MODEL

    def suggest(self, subject: TriageSubject, labels: Sequence[LabelChoice]) -> TriageSuggestion:
        stems = _stems(f"{subject.title}\n{subject.body}")
        stem_set = set(stems)
        joined = f" {' '.join(stems)} "
        return TriageSuggestion(
            summary=_summary(subject.title, subject.body),
            label_ids=_suggest_labels(stem_set, joined, labels),
            priority=_priority(stem_set, joined),
            model=self.model,
        )

    async def triage(
        self, subject: TriageSubject, labels: Sequence[LabelChoice]
    ) -> TriageSuggestion:
        return self.suggest(subject, labels)

    async def aclose(self) -> None:
        return None
