"""CSV issue import parsing: header rules, row validation, and line numbers a user can find."""

from __future__ import annotations

import pickle
import time

import pytest

from services.csv_import import CsvHeaderError, ImportRow, RowError, parse_issue_csv
from services.types import IssuePriority, IssueStatus
from services.validation import BODY_MAX, NAME_MAX

HEADER = "title,body,status,priority,assignee_email,labels\n"


def parse(text: str) -> list[ImportRow | RowError]:
    return list(parse_issue_csv(text))


def only_row(text: str) -> ImportRow:
    [result] = parse(text)
    assert isinstance(result, ImportRow), result
    return result


def only_error(text: str) -> RowError:
    [result] = parse(text)
    assert isinstance(result, RowError), result
    return result


def header_error(text: str) -> CsvHeaderError:
    with pytest.raises(CsvHeaderError) as info:
        parse_issue_csv(text)
    return info.value


# --- the happy path ---------------------------------------------------------------------------


def test_full_row() -> None:
    row = only_row(HEADER + "Fix login,Steps to reproduce,TODO,HIGH,Ann@Example.COM,bug;ui\n")
    assert row == ImportRow(
        line=2,
        title="Fix login",
        body="Steps to reproduce",
        status=IssueStatus.TODO,
        priority=IssuePriority.HIGH,
        assignee_email="ann@example.com",
        label_names=("bug", "ui"),
    )


def test_title_only_column_and_empty_cells_give_defaults() -> None:
    row = only_row("title\n  Just a title  \n")
    assert row == ImportRow(2, "Just a title", "", None, None, None, ())
    row = only_row(HEADER + "T,,,,,\n")
    assert row == ImportRow(2, "T", "", None, None, None, ())


def test_columns_in_any_order_matched_case_insensitively_after_stripping() -> None:
    text = " Labels ,PRIORITY,Title, status \nx;y,low,Reorder,done\n"
    row = only_row(text)
    assert (row.title, row.status, row.priority, row.label_names) == (
        "Reorder",
        IssueStatus.DONE,
        IssuePriority.LOW,
        ("x", "y"),
    )


def test_spreadsheet_style_header_names() -> None:
    row = only_row("Title,Assignee Email\nT,A@B.co\n")
    assert row.assignee_email == "a@b.co"


def test_yields_rows_lazily_and_returns_an_iterator() -> None:
    results = parse_issue_csv(HEADER + "a\nb\n")
    assert iter(results) is results
    first = next(results)
    assert isinstance(first, ImportRow)
    assert first.title == "a"


# --- status and priority spellings ------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("BACKLOG", IssueStatus.BACKLOG),
        ("backlog", IssueStatus.BACKLOG),
        ("Todo", IssueStatus.TODO),
        ("TODO", IssueStatus.TODO),
        ("IN_PROGRESS", IssueStatus.IN_PROGRESS),
        ("in_progress", IssueStatus.IN_PROGRESS),
        ("in progress", IssueStatus.IN_PROGRESS),
        ("In Progress", IssueStatus.IN_PROGRESS),
        ("in-progress", IssueStatus.IN_PROGRESS),
        ("  IN-PROGRESS  ", IssueStatus.IN_PROGRESS),
        ("done", IssueStatus.DONE),
        ("Canceled", IssueStatus.CANCELED),
        ("", None),
        ("   ", None),
    ],
)
def test_status_spellings(cell: str, expected: IssueStatus | None) -> None:
    assert only_row(f"title,status\nT,{cell}\n").status is expected


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("NONE", IssuePriority.NONE),
        ("none", IssuePriority.NONE),
        ("low", IssuePriority.LOW),
        ("Medium", IssuePriority.MEDIUM),
        ("HIGH", IssuePriority.HIGH),
        (" urgent ", IssuePriority.URGENT),
        ("", None),
    ],
)
def test_priority_spellings(cell: str, expected: IssuePriority | None) -> None:
    assert only_row(f"title,priority\nT,{cell}\n").priority is expected


def test_unknown_status_lists_the_choices() -> None:
    error = only_error("title,status\nT,DOING\n")
    assert error == RowError(
        2, "unknown status 'DOING' (expected one of BACKLOG, TODO, IN_PROGRESS, DONE, CANCELED)"
    )


def test_unknown_priority_lists_the_choices() -> None:
    error = only_error("title,priority\nT,p1\n")
    assert error == RowError(
        2, "unknown priority 'p1' (expected one of NONE, LOW, MEDIUM, HIGH, URGENT)"
    )


def test_long_bad_value_is_shortened_in_the_message() -> None:
    error = only_error(f"title,status\nT,{'x' * 500}\n")
    assert "x" * 40 + "…" in error.message
    assert len(error.message) < 200


# --- row validation ---------------------------------------------------------------------------


@pytest.mark.parametrize("title", ["", "   "])
def test_empty_title_is_a_row_error(title: str) -> None:
    assert only_error(f"title,body\n{title},has a body\n") == RowError(2, "title is required")


def test_title_length_limit() -> None:
    assert only_row(f"title\n{'t' * NAME_MAX}\n").title == "t" * NAME_MAX
    error = only_error(f"title\n{'t' * (NAME_MAX + 1)}\n")
    assert error.line == 2
    assert f"title is {NAME_MAX + 1} characters long (at most {NAME_MAX} allowed)" in error.message


def test_body_length_limit() -> None:
    assert len(only_row(f'title,body\nT,"{"b" * BODY_MAX}"\n').body) == BODY_MAX
    error = only_error(f'title,body\nT,"{"b" * (BODY_MAX + 1)}"\n')
    assert error.message == f"body is {BODY_MAX + 1} characters long (at most {BODY_MAX} allowed)"


def test_body_keeps_its_text_but_normalises_line_endings() -> None:
    row = only_row('title,body\nT,"  line one\r\n\r\n  line two\rthree "\n')
    assert row.body == "  line one\n\n  line two\nthree "
    assert only_row('title,body\nT,"  \r\n  "\n').body == ""


@pytest.mark.parametrize("email", ["bob", "bob@", "@example.com", "bob@example", "a b@c.de"])
def test_malformed_email_is_a_row_error(email: str) -> None:
    error = only_error(f"title,assignee_email\nT,{email}\n")
    assert error.message == f"invalid assignee email {email!r}"


def test_email_is_stripped_and_lower_cased() -> None:
    assert only_row("title,assignee_email\nT,  Bob.Smith@Example.ORG \n").assignee_email == (
        "bob.smith@example.org"
    )


def test_labels_are_stripped_deduplicated_case_insensitively_keeping_first_spelling() -> None:
    row = only_row('title,labels\nT," Bug ; ui;;bug;UI; ; Backend;backend "\n')
    assert row.label_names == ("Bug", "ui", "Backend")


def test_overlong_label_is_a_row_error() -> None:
    error = only_error(f"title,labels\nT,ok;{'l' * (NAME_MAX + 1)}\n")
    assert f"is longer than {NAME_MAX} characters" in error.message


def test_all_problems_of_a_row_are_reported_together() -> None:
    error = only_error(HEADER + ",,doing,p9,nope,\n")
    assert error.line == 2
    assert error.message.split("; ")[0] == "title is required"
    assert "unknown status 'doing'" in error.message
    assert "unknown priority 'p9'" in error.message
    assert "invalid assignee email 'nope'" in error.message


def test_bad_rows_do_not_stop_the_good_ones() -> None:
    results = parse(HEADER + "ok 1\n,no title\nok 2,,weird\nok 3\n")
    assert [(type(r).__name__, r.line) for r in results] == [
        ("ImportRow", 2),
        ("RowError", 3),
        ("RowError", 4),
        ("ImportRow", 5),
    ]


# --- cell counts and blank lines --------------------------------------------------------------


def test_more_cells_than_the_header_is_a_row_error() -> None:
    error = only_error("title,body\nFix it, now,please\n")
    assert error == RowError(2, "row has 3 cells but the header has 2 columns")


def test_fewer_cells_than_the_header_leaves_the_rest_empty() -> None:
    row = only_row(HEADER + "Only a title,and a body\n")
    assert (row.title, row.body, row.status, row.label_names) == (
        "Only a title",
        "and a body",
        None,
        (),
    )


def test_blank_lines_are_skipped_but_still_counted() -> None:
    results = parse("\n\ntitle\n\na\n   \n,\n\nb\n\n")
    assert [(r.line, r.title) for r in results if isinstance(r, ImportRow)] == [(5, "a"), (9, "b")]
    assert len(results) == 2


def test_header_only_gives_no_rows() -> None:
    assert parse(HEADER) == []
    assert parse(HEADER.strip()) == []


# --- encodings, line endings, quoting, line numbers -------------------------------------------


def test_utf8_bom_is_ignored() -> None:
    row = only_row("\ufefftitle,status\nT,todo\n")
    assert (row.line, row.title, row.status) == (2, "T", IssueStatus.TODO)
    assert only_row('\ufeff"title"\nT\n').title == "T"


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_line_endings(newline: str) -> None:
    text = newline.join(["title,body", "a,x", "", 'b,"multi' + newline + 'line"', "c"]) + newline
    results = parse(text)
    assert [(r.line, r.title) for r in results if isinstance(r, ImportRow)] == [
        (2, "a"),
        (4, "b"),
        (6, "c"),
    ]
    multi = results[1]
    assert isinstance(multi, ImportRow)
    assert multi.body == "multi\nline"


def test_mixed_line_endings_in_one_file() -> None:
    results = parse("title\r\na\nb\r\nc")
    assert [(r.line, r.title) for r in results if isinstance(r, ImportRow)] == [
        (2, "a"),
        (3, "b"),
        (4, "c"),
    ]


def test_quoted_fields_with_commas_quotes_and_newlines() -> None:
    row = only_row('title,body,labels\n"Crash, on save","He said ""no""\nthen left","a,b;c"\n')
    assert row.title == "Crash, on save"
    assert row.body == 'He said "no"\nthen left'
    assert row.label_names == ("a,b", "c")


def test_line_numbers_are_where_each_record_starts() -> None:
    text = (
        "title,body\n"  # 1
        'first,"one\n'  # 2
        "two\n"  # 3
        'three"\n'  # 4
        "second,plain\n"  # 5
        "\n"  # 6
        '"third\n'  # 7
        'title",""\n'  # 8
        ',"no title\n'  # 9
        'spans"\n'  # 10
        "fourth\n"  # 11
    )
    results = parse(text)
    assert [(type(r).__name__, r.line) for r in results] == [
        ("ImportRow", 2),
        ("ImportRow", 5),
        ("ImportRow", 7),
        ("RowError", 9),
        ("ImportRow", 11),
    ]
    third = results[2]
    assert isinstance(third, ImportRow)
    assert third.title == "third\ntitle"


def test_space_after_comma_before_a_quoted_field() -> None:
    assert only_row('title,body\nT, "a, b"\n').body == "a, b"


def test_nul_byte_in_a_row_is_a_row_error() -> None:
    results = parse("title,body\nok\nbad,x\x00y\nalso ok\n")
    assert results[1] == RowError(
        3, "row contains NUL bytes or characters that are not valid UTF-8"
    )
    assert [r.line for r in results if isinstance(r, ImportRow)] == [2, 4]


def test_undecodable_bytes_in_a_row_are_a_row_error() -> None:
    # What ``bytes.decode("utf-8", "surrogateescape")`` makes of a Latin-1 "é".
    text = b"title\nok\ncaf\xe9\n".decode("utf-8", "surrogateescape")
    results = parse(text)
    assert results[1] == RowError(
        3, "row contains NUL bytes or characters that are not valid UTF-8"
    )


def test_non_ascii_text_is_fine() -> None:
    row = only_row("title,labels\nÜberprüfung 🚀,日本語;Ünicode;ünicode\n")
    assert row.title == "Überprüfung 🚀"
    assert row.label_names == ("日本語", "Ünicode")


# --- header errors ----------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "\ufeff", "\n\n", "  \n , \n"])
def test_empty_file_is_a_header_error(text: str) -> None:
    error = header_error(text)
    assert error.line == 1
    assert "empty" in error.message


def test_missing_title_column() -> None:
    error = header_error("body,status\nx,todo\n")
    assert (error.line, error.message) == (1, "missing required column 'title'")
    assert str(error) == "line 1: missing required column 'title'"


def test_unknown_column_is_rejected_rather_than_ignored() -> None:
    error = header_error("title,priorty\nT,high\n")
    assert error.message == (
        "unknown column 'priorty' "
        "(expected any of title, body, status, priority, assignee_email, labels)"
    )


def test_duplicate_column() -> None:
    assert header_error("title,Title \na,b\n").message == "duplicate column 'title'"
    assert (
        header_error("title,assignee email,assignee_email\n").message
        == "duplicate column 'assignee_email'"
    )


def test_unnamed_column() -> None:
    assert header_error("title,,body\n").message == "column 2 has no name"


def test_all_header_problems_are_reported_together() -> None:
    error = header_error("body,bdy,body,colour\n")
    assert error.message.startswith("missing required column 'title'; duplicate column 'body'")
    assert "unknown columns 'bdy', 'colour'" in error.message


def test_header_error_reports_the_header_line_after_leading_blank_lines() -> None:
    assert header_error("\n\nname\n").line == 3


@pytest.mark.parametrize(
    "text",
    [
        "t\x00i\x00t\x00l\x00e\x00\n\x00",  # UTF-16 read as if it were UTF-8
        "title\x00,body\n",
        b"\xff\xfet\x00i\x00t\x00l\x00e\x00".decode("utf-8", "surrogateescape"),
    ],
)
def test_binary_or_undecodable_header_is_not_text(text: str) -> None:
    assert "not UTF-8 text" in header_error(text).message


def test_unclosed_quote_rejects_the_file_instead_of_swallowing_the_rest() -> None:
    error = header_error('title,body\nok,fine\nbad,"never closed\nnext,row\nlast,row\n')
    assert error.line == 3
    assert "never closed" in error.message


def test_text_after_a_closing_quote_rejects_the_file() -> None:
    error = header_error('title,body\nok\n"Fix" the bug,x\nlater\n')
    assert error.line == 3
    assert "malformed CSV record" in error.message


def test_header_errors_are_raised_at_call_time_before_any_row() -> None:
    # The structure check covers the whole file, so nothing is half-imported.
    with pytest.raises(CsvHeaderError):
        parse_issue_csv(HEADER + "good row\n" * 100 + '"unclosed\n')


def test_header_error_survives_pickling() -> None:
    error = header_error("\nbody\n")
    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own object
    assert isinstance(copy, CsvHeaderError)
    assert (copy.line, copy.message, str(copy)) == (error.line, error.message, str(error))


# --- volume -----------------------------------------------------------------------------------


def test_ten_thousand_rows_quickly() -> None:
    lines = [
        f'Issue {i},"Body {i}, with comma\nand a second line",in progress,high,'
        f"user{i % 50}@example.com,bug;area-{i % 7}"
        for i in range(10_000)
    ]
    text = "\ufeff" + HEADER.replace("\n", "\r\n") + "\r\n".join(lines) + "\r\n"
    started = time.perf_counter()
    results = parse(text)
    elapsed = time.perf_counter() - started
    assert len(results) == 10_000
    assert all(isinstance(r, ImportRow) for r in results)
    last = results[-1]
    assert isinstance(last, ImportRow)
    assert (last.line, last.title) == (2 + 2 * 9_999, "Issue 9999")
    assert last.label_names == ("bug", "area-3")
    assert elapsed < 1.0, f"took {elapsed:.2f}s"
