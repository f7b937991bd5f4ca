"""The trusted-document store's SQL (table ``trusted_documents``): look a document up by its
SHA-256, register one. The transport rules around it are app/graphql/persisted.py's."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import TrustedDocument


async def find_trusted_document(
    session_factory: async_sessionmaker[AsyncSession], sha256: str
) -> str | None:
    """The registered document with this hash, or None (one read, in a session of its own)."""
    async with session_factory() as session:
        return await session.scalar(
            select(TrustedDocument.document).where(TrustedDocument.sha256 == sha256)
        )


async def add_trusted_document(
    session: AsyncSession, *, sha256: str, document: str, operation_name: str | None, source: str
) -> bool:
    """Register a document; False when one with this hash was there already. The caller
    commits."""
    result = await session.execute(
        insert(TrustedDocument)
        .values(sha256=sha256, document=document, operation_name=operation_name, source=source)
        .on_conflict_do_nothing(index_elements=["sha256"])
        .returning(TrustedDocument.sha256)
    )
    return len(result.all()) > 0
