"""`GET /jobs/{id}/download`: streams an export file to a member of its workspace.

A bearer token is required (no signed links: a leaked URL must not leak the data); the
file is read chunk by chunk, each in a short session, so a slow client holds no connection.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import StreamingResponse

from app.policy.auth import authenticate_connection
from db.statements import EngineStatements
from schema.ids import pk_of
from services.errors import NotFound
from services.exports import ExportExpired, find_download, read_chunk

router = APIRouter()
# Also where `Job.downloadUrl` points (app/main.py, job_wiring).
DOWNLOAD_PATH = "/jobs/{job_id}/download"


@router.get(DOWNLOAD_PATH, include_in_schema=False)
async def download_export(job_id: str, request: Request) -> StreamingResponse:
    state = request.app.state.issuegraph
    db = EngineStatements(state.engine, state.settings.request_max_connections)
    viewer = await authenticate_connection(request, db, state.session_factory)
    if viewer is None:
        raise HTTPException(
            401, "Send `Authorization: Bearer <token>`.", {"WWW-Authenticate": "Bearer"}
        )
    async with state.session_factory() as session:
        pk = pk_of(job_id, "Job")
        try:
            if pk is None:
                raise NotFound("No such export.")
            download = await find_download(session, viewer, pk)
        except ExportExpired as error:
            raise HTTPException(410, error.message) from None
        except NotFound as error:
            raise HTTPException(404, error.message) from None

    async def chunks() -> AsyncIterator[bytes]:
        for seq in range(download.chunks):
            async with state.session_factory() as session:
                yield await read_chunk(session, download.file_id, seq)

    return StreamingResponse(
        chunks(),
        media_type=download.content_type,
        headers={
            "Content-Length": str(download.size_bytes),
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(download.filename)}",
            "Cache-Control": "private, no-store",
        },
    )
