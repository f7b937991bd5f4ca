"""The legacy Flask application: one ``/graphql`` endpoint that runs the Graphene schema.

* ``require_token`` (a view decorator) authenticates every request: it looks the bearer token
  up through the ORM and loads the user and their memberships.
* A request logger (``before_request``/``after_request`` hooks) logs each request with its
  status, duration and number of SQL statements, and returns the count in an
  ``X-SQL-Statements`` header.
* The scoped session is removed after every request (``teardown_appcontext``); reads are never
  committed, the one mutation commits itself.

Run it with gunicorn (see gunicorn.conf.py and README.md); ``create_app()`` is the factory.
"""

import functools
import hashlib
import logging
import time

from flask import Flask, g, jsonify, request
from graphql import GraphQLError
from sqlalchemy import func, or_

from .db import db_session
from .models import ApiToken
from .schema import schema

log = logging.getLogger("legacy")


def hash_token(token):
    return hashlib.sha256(token.encode()).hexdigest()


def unauthorized(message):
    response = jsonify(
        {"errors": [{"message": message, "extensions": {"code": "UNAUTHENTICATED"}}]}
    )
    response.status_code = 401
    response.headers["WWW-Authenticate"] = 'Bearer realm="issuegraph"'
    return response


def require_token(view):
    """Authenticate ``Authorization: Bearer <token>``; sets ``g.current_user`` and
    ``g.memberships`` (workspace id -> role) or answers 401."""

    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return unauthorized("Send `Authorization: Bearer <token>`.")
        api_token = (
            db_session.query(ApiToken)
            .filter(
                ApiToken.token_hash == hash_token(token),
                ApiToken.revoked_at.is_(None),
                or_(ApiToken.expires_at.is_(None), ApiToken.expires_at > func.now()),
            )
            .first()
        )
        if api_token is None:
            return unauthorized("Invalid, revoked or expired token.")
        g.user_id = api_token.user_id
        g.current_user = api_token.user
        g.memberships = {m.workspace_id: m.role for m in g.current_user.memberships}
        return view(*args, **kwargs)

    return wrapped


def create_app():
    app = Flask(__name__)
    # GraphQL answers keep the field order of the query.
    app.json.sort_keys = False

    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")

    @app.before_request
    def start_timer():
        g.started = time.perf_counter()
        g.sql_statements = 0

    @app.after_request
    def log_request(response):
        elapsed_ms = (time.perf_counter() - g.get("started", time.perf_counter())) * 1000
        statements = g.get("sql_statements", 0)
        log.info(
            "%s %s %s %.1fms sql=%d user=%s",
            request.method,
            request.path,
            response.status_code,
            elapsed_ms,
            statements,
            g.get("user_id", "-"),
        )
        response.headers["X-SQL-Statements"] = str(statements)
        return response

    @app.teardown_appcontext
    def remove_session(exception=None):
        db_session.remove()

    @app.route("/health")
    def health():
        return {"ok": True}

    @app.route("/graphql", methods=["POST"])
    @require_token
    def graphql():
        payload = request.get_json(silent=True)
        if not isinstance(payload, dict) or not isinstance(payload.get("query"), str):
            return jsonify({"errors": [{"message": "POST a JSON body with a `query`."}]}), 400
        result = schema.execute(
            payload["query"],
            variable_values=payload.get("variables"),
            operation_name=payload.get("operationName"),
        )
        if result.errors:
            db_session.rollback()
            for error in result.errors:
                original = error.original_error
                if original is not None and not isinstance(original, GraphQLError):
                    log.error("resolver error", exc_info=original)
        return jsonify(result.formatted)

    return app
