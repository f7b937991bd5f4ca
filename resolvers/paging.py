"""The request limits on arguments: page sizes, input list lengths, search string lengths.

Out-of-range values are GraphQL errors (``BAD_USER_INPUT``) with a clear message
(docs/architecture.md, "Domain rules the contract leaves implicit").
"""

from __future__ import annotations

from collections.abc import Sized
from dataclasses import dataclass

from graphql import GraphQLError

from services.errors import Invalid
from services.pagination import PageArgs


def bad_input(message: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": "BAD_USER_INPUT"})


@dataclass(frozen=True, slots=True)
class PagingPolicy:
    """The limits from settings, built once per process."""

    default_page_size: int = 20
    max_page_size: int = 100
    max_input_list: int = 100
    max_search_length: int = 200

    def page_args(
        self, first: int | None, after: str | None, last: int | None, before: str | None
    ) -> PageArgs:
        try:
            return PageArgs.checked(
                first,
                after,
                last,
                before,
                default_size=self.default_page_size,
                max_size=self.max_page_size,
            )
        except Invalid as error:
            raise bad_input(error.message) from None

    def check_list_size(self, values: Sized, argument: str) -> None:
        if len(values) > self.max_input_list:
            raise bad_input(
                f"`{argument}` may hold at most {self.max_input_list} items; got {len(values)}."
            )

    def check_string_length(self, value: str | None, argument: str) -> None:
        if value is not None and len(value) > self.max_search_length:
            raise bad_input(f"`{argument}` may be at most {self.max_search_length} characters.")
