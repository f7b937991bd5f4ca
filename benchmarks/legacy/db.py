"""Database engine and the thread-local session every request uses.

One ``scoped_session`` for the whole process: each gunicorn sync worker serves one request at
a time, the session is created lazily on first use and removed at the end of the request
(``app.teardown_appcontext``).
"""

import os

from flask import g, has_request_context
from sqlalchemy import create_engine, event
from sqlalchemy.orm import scoped_session, sessionmaker

DATABASE_URL = os.environ.get(
    "LEGACY_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/issuegraph_bench"
)
# Accept a plain postgresql:// URL too and use psycopg 3 for it (SQLAlchemy would pick psycopg2).
if DATABASE_URL.startswith("postgresql://"):
    DATABASE_URL = "postgresql+psycopg://" + DATABASE_URL[len("postgresql://") :]

engine = create_engine(
    DATABASE_URL,
    pool_size=int(os.environ.get("LEGACY_DB_POOL_SIZE", "5")),
    pool_pre_ping=True,
    echo=os.environ.get("LEGACY_SQL_ECHO") == "1",
)

db_session = scoped_session(sessionmaker(bind=engine, autoflush=False))


@event.listens_for(engine, "before_cursor_execute")
def _count_statement(conn, cursor, statement, parameters, context, executemany):
    """Count the SQL statements each request sends (logged by the request logger)."""
    if has_request_context():
        g.sql_statements = g.get("sql_statements", 0) + 1
