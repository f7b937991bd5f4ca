"""Input rules shared by the services; each returns the cleaned value or raises ``Invalid``."""

from __future__ import annotations

import re
from collections.abc import Sequence

from services.errors import Invalid

NAME_MAX = 200
BODY_MAX = 65_536
SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$")
KEY_RE = re.compile(r"^[A-Z][A-Z0-9]{1,9}$")
COLOR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def name(value: str, field: Sequence[str], what: str = "Name", max_length: int = NAME_MAX) -> str:
    cleaned = value.strip()
    if not cleaned:
        raise Invalid(f"{what} must not be blank.", field)
    if len(cleaned) > max_length:
        raise Invalid(f"{what} must be at most {max_length} characters.", field)
    return cleaned


def body(value: str, field: Sequence[str], what: str = "Body", *, required: bool = False) -> str:
    if required and not value.strip():
        raise Invalid(f"{what} must not be blank.", field)
    if len(value) > BODY_MAX:
        raise Invalid(f"{what} must be at most {BODY_MAX} characters.", field)
    return value


def slug(value: str, field: Sequence[str]) -> str:
    if not SLUG_RE.fullmatch(value):
        raise Invalid(
            "Slug must be 1-40 lowercase letters, digits or hyphens, "
            "starting and ending with a letter or digit.",
            field,
        )
    return value


def project_key(value: str, field: Sequence[str]) -> str:
    if not KEY_RE.fullmatch(value):
        raise Invalid(
            "Key must be 2-10 characters: an uppercase letter, then uppercase letters or digits.",
            field,
        )
    return value


def color(value: str, field: Sequence[str]) -> str:
    if not COLOR_RE.fullmatch(value):
        raise Invalid("Color must be a hex colour like #d73a4a.", field)
    return value.lower()


def email(value: str, field: Sequence[str]) -> str:
    cleaned = value.strip()
    if len(cleaned) > 320 or not EMAIL_RE.fullmatch(cleaned):
        raise Invalid("Email must be a valid email address.", field)
    return cleaned
