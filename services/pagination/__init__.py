"""Keyset (cursor) pagination, batched per parent, on statements compiled once per shape.

Strawberry's ``ListConnection`` slices in Python with offset cursors; we need keyset pages
computed in PostgreSQL, one query for many parents (docs/architecture.md, rule 3), so this
is our own: page arguments, orderings and cursors (``cursors``), what a list is made of
(``listing``), the statements built once per shape (``statements``) and the pages fetched with
them (``pages``). The names the rest of the code uses are importable from here.
"""

from services.pagination.cursors import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    PageArgs,
    SortKey,
    decode_bigint,
    decode_cursor,
    decode_datetime,
    decode_enum,
    decode_float,
    decode_int,
    decode_str,
    encode_cursor,
)
from services.pagination.listing import NO_FILTERS, Filters, Joined, Listing, NoFilters, ids_param
from services.pagination.pages import (
    Page,
    count_per_parent,
    fetch_page,
    fetch_pages,
    fetch_parent_with_page,
    page_rows,
    page_shape,
    page_values,
)
from services.pagination.statements import page_names, page_select

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "MAX_PAGE_SIZE",
    "NO_FILTERS",
    "Filters",
    "Joined",
    "Listing",
    "NoFilters",
    "Page",
    "PageArgs",
    "SortKey",
    "count_per_parent",
    "decode_bigint",
    "decode_cursor",
    "decode_datetime",
    "decode_enum",
    "decode_float",
    "decode_int",
    "decode_str",
    "encode_cursor",
    "fetch_page",
    "fetch_pages",
    "fetch_parent_with_page",
    "ids_param",
    # The same shapes, statements, values and pages, for a page nested in its parent's row
    # (services/nested_pages.py).
    "page_names",
    "page_rows",
    "page_select",
    "page_shape",
    "page_values",
]
