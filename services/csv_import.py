"""Parsing and row validation for the CSV issue import: pure, so the job only does the I/O.

The import is partial by contract: a bad row is reported as a ``RowError`` and the other rows are
imported. A file whose structure cannot be trusted (header problems, broken quoting, not text)
raises ``CsvHeaderError`` before any row is produced, so nothing is imported from a file that
would otherwise be read wrongly.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from services import validation
from services.errors import Invalid
from services.types import IssuePriority, IssueStatus

if TYPE_CHECKING:
    from _csv import Reader

COLUMNS = ("title", "body", "status", "priority", "assignee_email", "labels")
LABEL_SEPARATOR = ";"

# NUL is what binary (or UTF-16) content looks like once decoded; lone surrogates are what
# undecodable bytes become under ``errors="surrogateescape"``. PostgreSQL stores neither.
_NOT_TEXT = re.compile("[\x00\ud800-\udfff]")
_SEPARATORS = re.compile(r"[\s_-]+")
_ECHO_MAX = 40

_Enum = TypeVar("_Enum", IssueStatus, IssuePriority)


@dataclass(frozen=True, slots=True)
class ImportRow:
    line: int  # 1-based physical line where the record starts (the header is line 1)
    title: str  # stripped, 1..NAME_MAX characters
    body: str  # as written with line endings made "\n"; "" when blank; at most BODY_MAX
    status: IssueStatus | None  # None when empty: the importer applies the default
    priority: IssuePriority | None  # None when empty (IssuePriority.NONE only if written)
    assignee_email: str | None  # stripped, lower-cased; None when empty
    label_names: tuple[str, ...]  # stripped, non-empty, case-insensitively unique, in order


@dataclass(frozen=True, slots=True)
class RowError:
    line: int
    message: str


class CsvHeaderError(ValueError):
    """The file cannot be imported at all; ``line`` is where the problem was found."""

    def __init__(self, message: str, line: int = 1) -> None:
        # Both in ``args`` so the exception survives pickling (arq stores job exceptions).
        super().__init__(message, line)
        self.message = message
        self.line = line

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


def parse_issue_csv(text: str) -> Iterator[ImportRow | RowError]:
    """Check the header and the CSV structure now, then yield one result per non-blank record.

    Raises ``CsvHeaderError`` at call time, before any row is yielded. The whole text is
    scanned once up front (without keeping rows) so that broken quoting, which would shift every
    later record, rejects the file instead of importing garbage after a partial import.
    """
    if text.startswith("\ufeff"):
        text = text[1:]
    reader = _reader(text)
    header_line, header = _first_record(reader)
    columns = _columns(header, header_line)
    _check_structure(text)
    return _rows(reader, columns, len(header), check_text=_NOT_TEXT.search(text) is not None)


def _reader(text: str) -> Reader:
    # newline="" hands line endings to csv untranslated, so quoted CR/LF survive and
    # ``line_num`` counts physical lines. strict=True turns a missing closing quote or text
    # after a closing quote into an error instead of silently merging records.
    return csv.reader(io.StringIO(text, newline=""), strict=True, skipinitialspace=True)


def _is_blank(record: Sequence[str]) -> bool:
    return not "".join(record).strip()


def _first_record(reader: Reader) -> tuple[int, list[str]]:
    """The first non-blank record and its line; leading blank lines are tolerated."""
    consumed = 0
    try:
        for record in reader:
            line = consumed + 1
            consumed = reader.line_num
            if not _is_blank(record):
                return line, record
    except csv.Error as exc:
        raise CsvHeaderError(_structure_message(exc), consumed + 1) from None
    raise CsvHeaderError("the file is empty; expected a header row such as " + ",".join(COLUMNS), 1)


def _columns(header: Sequence[str], line: int) -> dict[str, int]:
    """Map each known column to its index; every problem is reported at once."""
    if any(_NOT_TEXT.search(cell) for cell in header):
        raise CsvHeaderError(
            "the file is not UTF-8 text (NUL bytes or undecodable characters in the header)",
            line,
        )
    columns: dict[str, int] = {}
    problems: list[str] = []
    unknown: list[str] = []
    for index, cell in enumerate(header):
        # "Assignee Email" from a spreadsheet means assignee_email.
        name = _SEPARATORS.sub("_", cell.strip()).lower()
        if not name:
            problems.append(f"column {index + 1} has no name")
        elif name not in COLUMNS:
            unknown.append(_echo(cell.strip()))
        elif name in columns:
            problems.append(f"duplicate column {name!r}")
        else:
            columns[name] = index
    if unknown:
        # Rejected rather than ignored: a typo like "priorty" would otherwise drop data silently.
        noun = "column" if len(unknown) == 1 else "columns"
        problems.append(
            f"unknown {noun} {', '.join(unknown)} (expected any of {', '.join(COLUMNS)})"
        )
    if "title" not in columns:
        problems.insert(0, "missing required column 'title'")
    if problems:
        raise CsvHeaderError("; ".join(problems), line)
    return columns


def _check_structure(text: str) -> None:
    """Read every record once, keeping none, to find quoting errors before importing anything."""
    reader = _reader(text)
    consumed = 0
    try:
        for _ in reader:
            consumed = reader.line_num
    except csv.Error as exc:
        raise CsvHeaderError(_structure_message(exc), consumed + 1) from None


def _structure_message(exc: csv.Error) -> str:
    detail = str(exc)
    if detail == "unexpected end of data":
        return "a quoted field starting in this record is never closed (missing '\"'?)"
    if detail.startswith("field larger than field limit"):
        return f"a field is too long to be a CSV cell ({detail})"
    return f"malformed CSV record ({detail}); quote fields that contain commas or quotes"


def _rows(
    reader: Reader, columns: dict[str, int], width: int, *, check_text: bool
) -> Iterator[ImportRow | RowError]:
    consumed = reader.line_num
    for record in reader:
        line = consumed + 1
        consumed = reader.line_num
        if _is_blank(record):
            continue
        yield _row(record, line, columns, width, check_text=check_text)


def _row(
    record: list[str], line: int, columns: dict[str, int], width: int, *, check_text: bool
) -> ImportRow | RowError:
    if len(record) > width:
        # Usually an unquoted comma: the cells are shifted, so checking them would be noise.
        return RowError(line, f"row has {len(record)} cells but the header has {width} columns")
    if check_text and any(_NOT_TEXT.search(cell) for cell in record):
        return RowError(line, "row contains NUL bytes or characters that are not valid UTF-8")

    def cell(name: str) -> str:
        index = columns.get(name)
        return record[index] if index is not None and index < len(record) else ""

    problems: list[str] = []

    title = cell("title").strip()
    if not title:
        problems.append("title is required")
    elif len(title) > validation.NAME_MAX:
        problems.append(
            f"title is {len(title)} characters long (at most {validation.NAME_MAX} allowed)"
        )

    # Kept as written apart from line endings, which depend on the exporting OS.
    body = cell("body")
    body = body.replace("\r\n", "\n").replace("\r", "\n") if body.strip() else ""
    if len(body) > validation.BODY_MAX:
        problems.append(
            f"body is {len(body)} characters long (at most {validation.BODY_MAX} allowed)"
        )

    status = _enum_value(IssueStatus, cell("status"), "status", problems)
    priority = _enum_value(IssuePriority, cell("priority"), "priority", problems)

    assignee_email: str | None = None
    raw_email = cell("assignee_email").strip()
    if raw_email:
        try:
            assignee_email = validation.email(raw_email, ["assignee_email"]).lower()
        except Invalid:
            problems.append(f"invalid assignee email {_echo(raw_email)}")

    label_names = _label_names(cell("labels"), problems)

    if problems:
        return RowError(line, "; ".join(problems))
    return ImportRow(
        line=line,
        title=title,
        body=body,
        status=status,
        priority=priority,
        assignee_email=assignee_email,
        label_names=label_names,
    )


def _enum_value(enum: type[_Enum], raw: str, what: str, problems: list[str]) -> _Enum | None:
    """Case-insensitive, and "in progress" or "in-progress" mean IN_PROGRESS."""
    value = raw.strip()
    if not value:
        return None
    key = _SEPARATORS.sub("_", value).upper()
    try:
        return enum[key]
    except KeyError:
        expected = ", ".join(member.name for member in enum)
        problems.append(f"unknown {what} {_echo(value)} (expected one of {expected})")
        return None


def _label_names(raw: str, problems: list[str]) -> tuple[str, ...]:
    """Split on ';', dropping empty items and case-insensitive repeats (first spelling wins)."""
    names: dict[str, str] = {}
    for item in raw.split(LABEL_SEPARATOR):
        name = item.strip()
        if not name:
            continue
        if len(name) > validation.NAME_MAX:
            problems.append(f"label {_echo(name)} is longer than {validation.NAME_MAX} characters")
            continue
        names.setdefault(name.casefold(), name)
    return tuple(names.values())


def _echo(value: str) -> str:
    """Quote a user's value in a message, shortened so one bad cell cannot bloat the result."""
    if len(value) > _ECHO_MAX:
        value = value[:_ECHO_MAX] + "…"
    return repr(value)
