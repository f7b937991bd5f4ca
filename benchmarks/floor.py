"""The floor: a minimal asyncpg + orjson ASGI endpoint serving the benchmark reads and writes.

    FLOOR_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/issuegraph_bench_run \\
    python -m uvicorn benchmarks.floor:app --port 18004 --no-access-log

No GraphQL: it takes the same ``POST /graphql`` bodies as the GraphQL servers, dispatches on
``operationName`` (W1, W2, W3, ProjectId), reads only the variables, and answers with the JSON
issuegraph would (same shape, same global IDs), after the same bearer-token lookup. Its SQL is
in ``queries/floor/queries.sql``: 4 statements for W1 and W2 whatever the page size, 3 for W3.
The gap between this and a GraphQL server is what the GraphQL layer costs.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg
import orjson

SQL_FILE = Path(__file__).resolve().parent / "queries" / "floor" / "queries.sql"
Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


def load_sql(path: Path = SQL_FILE) -> dict[str, str]:
    statements: dict[str, str] = {}
    for block in re.split(r"^-- name: ", path.read_text(), flags=re.MULTILINE)[1:]:
        name, _, body = block.partition("\n")
        lines = [line for line in body.splitlines() if not line.lstrip().startswith("--")]
        statements[name.strip()] = "\n".join(lines).strip().rstrip(";")
    return statements


SQL = load_sql()


def gid(type_name: str, pk: int) -> str:
    return base64.b64encode(f"{type_name}:{pk}".encode()).decode()


def from_gid(value: str, type_name: str) -> int | None:
    try:
        kind, _, pk = base64.b64decode(value.encode(), validate=True).decode().partition(":")
        return int(pk) if kind == type_name else None
    except ValueError:
        return None


class Unauthenticated(Exception):
    pass


class Floor:
    def __init__(self) -> None:
        self.pool: asyncpg.Pool | None = None

    async def startup(self) -> None:
        async def no_reset(_: asyncpg.Connection) -> None:
            # The default reset (advisory unlock, CLOSE ALL, RESET ALL) is a round trip per
            # request; nothing here leaves session state behind.
            return None

        self.pool = await asyncpg.create_pool(
            os.environ["FLOOR_DATABASE_URL"],
            min_size=2,
            max_size=int(os.environ.get("FLOOR_POOL_SIZE", "20")),
            reset=no_reset,
        )

    async def shutdown(self) -> None:
        if self.pool is not None:
            await self.pool.close()

    async def _viewer(self, conn: asyncpg.Connection, authorization: str) -> asyncpg.Record:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise Unauthenticated
        row = await conn.fetchrow(SQL["auth"], hashlib.sha256(token.strip().encode()).hexdigest())
        if row is None:
            raise Unauthenticated
        if row["stale"]:
            await conn.execute(SQL["touch"], row["token_id"])
        return row

    async def _labels_and_comments(
        self, conn: asyncpg.Connection, issue_ids: list[int], comments: int
    ) -> tuple[dict[int, list[dict[str, Any]]], dict[int, list[dict[str, Any]]]]:
        labels: dict[int, list[dict[str, Any]]] = {i: [] for i in issue_ids}
        for row in await conn.fetch(SQL["labels"], issue_ids):
            labels[row["issue_id"]].append(
                {"id": gid("Label", row["id"]), "name": row["name"], "color": row["color"]}
            )
        edges: dict[int, list[dict[str, Any]]] = {i: [] for i in issue_ids}
        for row in await conn.fetch(SQL["comments"], issue_ids, comments):
            edges[row["issue_id"]].append(
                {
                    "node": {
                        "id": gid("Comment", row["id"]),
                        "body": row["body"],
                        "createdAt": row["created_at"],
                        "author": {"id": gid("User", row["author_id"]), "name": row["author_name"]},
                    }
                }
            )
        return labels, edges

    @staticmethod
    def _people(row: asyncpg.Record) -> tuple[dict[str, Any] | None, dict[str, Any]]:
        assignee = (
            {"id": gid("User", row["assignee_id"]), "name": row["assignee_name"]}
            if row["assignee_id"] is not None
            else None
        )
        return assignee, {"id": gid("User", row["reporter_id"]), "name": row["reporter_name"]}

    async def w1(self, conn: asyncpg.Connection, viewer: asyncpg.Record, v: dict[str, Any]) -> Any:
        rows = await conn.fetch(
            SQL["issue_page"], v["slug"], v["key"], viewer["readable"], int(v["first"])
        )
        ids = [row["id"] for row in rows]
        labels, comments = await self._labels_and_comments(conn, ids, 5)
        edges = []
        for row in rows:
            assignee, reporter = self._people(row)
            edges.append(
                {
                    "node": {
                        "id": gid("Issue", row["id"]),
                        "identifier": f"{row['key']}-{row['number']}",
                        "title": row["title"],
                        "status": row["status"],
                        "priority": row["priority"],
                        "assignee": assignee,
                        "reporter": reporter,
                        "labels": labels[row["id"]],
                        "comments": {"edges": comments[row["id"]]},
                    }
                }
            )
        return {"project": {"issues": {"edges": edges}}}

    async def w2(self, conn: asyncpg.Connection, viewer: asyncpg.Record, v: dict[str, Any]) -> Any:
        key, _, number = str(v["identifier"]).rpartition("-")
        row = await conn.fetchrow(SQL["issue_one"], v["slug"], key, int(number), viewer["readable"])
        if row is None:
            return {"issue": None}
        labels, comments = await self._labels_and_comments(conn, [row["id"]], 5)
        assignee, reporter = self._people(row)
        return {
            "issue": {
                "id": gid("Issue", row["id"]),
                "identifier": f"{row['key']}-{row['number']}",
                "title": row["title"],
                "body": row["body"],
                "status": row["status"],
                "priority": row["priority"],
                "createdAt": row["created_at"],
                "assignee": assignee,
                "reporter": reporter,
                "labels": labels[row["id"]],
                "comments": {"edges": comments[row["id"]]},
            }
        }

    async def project_id(
        self, conn: asyncpg.Connection, viewer: asyncpg.Record, v: dict[str, Any]
    ) -> Any:
        pk = await conn.fetchval(SQL["project_id"], v["slug"], v["key"], viewer["readable"])
        return {"project": {"id": gid("Project", pk)} if pk else None}

    async def w3(self, conn: asyncpg.Connection, viewer: asyncpg.Record, v: dict[str, Any]) -> Any:
        data = v["input"]
        project_id = from_gid(str(data.get("projectId", "")), "Project")
        errors = [
            {"field": ["input", "projectId"], "message": "Project not found.", "code": "NOT_FOUND"}
        ]
        if project_id is None:
            return {"createIssue": {"issue": None, "userErrors": errors}}
        status = data.get("status") or "BACKLOG"
        priority = data.get("priority") or "NONE"
        async with conn.transaction():
            bumped = await conn.fetchrow(SQL["bump_counter"], project_id, viewer["writable"])
            if bumped is None:
                return {"createIssue": {"issue": None, "userErrors": errors}}
            row = await conn.fetchrow(
                SQL["insert_issue"],
                bumped["workspace_id"],
                project_id,
                bumped["issue_counter"],
                data["title"],
                data.get("body") or "",
                status,
                priority,
                viewer["user_id"],
            )
        return {
            "createIssue": {
                "issue": {
                    "id": gid("Issue", row["id"]),
                    "identifier": f"{bumped['key']}-{bumped['issue_counter']}",
                    "title": data["title"],
                    "status": status,
                    "priority": priority,
                    "createdAt": row["created_at"],
                },
                "userErrors": [],
            }
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await self.startup()
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await self.shutdown()
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        if scope["method"] == "GET" and scope["path"] == "/healthz":
            await self._respond(send, 200, {"status": "ok"})
            return
        if scope["method"] != "POST" or scope["path"] != "/graphql":
            await self._respond(send, 404, {"errors": [{"message": "Not found."}]})
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = dict(scope["headers"])
        authorization = headers.get(b"authorization", b"").decode("latin-1")
        request = orjson.loads(body)
        handler = {
            "W1": self.w1,
            "W2": self.w2,
            "W3": self.w3,
            "ProjectId": self.project_id,
        }.get(request.get("operationName") or "")
        if handler is None:
            await self._respond(send, 400, {"errors": [{"message": "Unknown operation."}]})
            return
        assert self.pool is not None
        async with self.pool.acquire() as conn:
            try:
                viewer = await self._viewer(conn, authorization)
            except Unauthenticated:
                error = {"message": "Unauthenticated.", "extensions": {"code": "UNAUTHENTICATED"}}
                await self._respond(send, 401, {"errors": [error]})
                return
            data = await handler(conn, viewer, request.get("variables") or {})
        await self._respond(send, 200, {"data": data})

    @staticmethod
    async def _respond(send: Send, status: int, payload: Any) -> None:
        body = orjson.dumps(payload)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


app = Floor()
