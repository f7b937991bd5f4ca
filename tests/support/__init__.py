"""Helpers the test suites share; the fixtures that use them stay in the ``conftest.py`` files.

- ``client``: a person, the GraphQL client, and running operations and mutations as someone.
- ``world``: global ids, and workspaces, members, projects and labels made through the API;
  the small world most mutation tests start from.
- ``reads``: follow-up reads that check what a mutation did.
- ``error_cases``: failing mutations checked to change nothing in the database.
- ``datasets``: large issue and comment sets inserted directly, for pagination and counts.
- ``walks``: following a connection's cursors to its end, checking ``pageInfo``.
- ``jobs``: starting, cancelling and reading jobs through the API; job and issue rows.
- ``workers``: a real arq worker in this process, and waiting for jobs and arq tasks.
- ``processes``: ``issuegraph serve`` / ``worker`` / other commands as child processes.
- ``servers``: the app on a live port or over ASGI with other settings, a private Redis.
- ``subscriptions``: graphql-transport-ws sessions for ``jobUpdates``.
- ``observe``: capturing the app's log lines and reading its metrics.
- ``fakes``: a scripted OpenAI-compatible server.
- ``raw_http``, ``tcp_proxy``: byte-level HTTP and a proxy that can cut connections.
- ``contract``: what the contract schema has that the served schema lacks.
"""
