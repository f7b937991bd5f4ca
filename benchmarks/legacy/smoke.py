"""Check that a running legacy server answers the benchmark operations (standard library only).

    python benchmarks/legacy/smoke.py --url http://127.0.0.1:8100/graphql --token igt_...
    python benchmarks/legacy/smoke.py --write   # also runs W3 once (creates one issue)

The token may come from LEGACY_TOKEN instead. Exits 0 when every check passes, 1 otherwise.
W1, W2 and W3 below are the exact query texts the legacy layer serves.
"""

import argparse
import json
import os
import sys
import urllib.error
import urllib.request

W1 = (
    '{ project(workspaceSlug: "bench", key: "P0") { issues(first: 50) { edges { node {'
    " identifier title status priority reporter { name } assignee { name } labels { name }"
    " comments(first: 5) { edges { node { body author { name } } } } } } } } }"
)
W2 = (
    '{ issue(workspaceSlug: "bench", identifier: "P0-42") {'
    " identifier title status reporter { name } labels { name } } }"
)
# %s: the project's global ID, base64 of "Project:<pk>" (PROJECT_ID_QUERY looks it up).
W3 = 'mutation { createIssue(input: {projectId: "%s", title: "x"}) { issue { identifier } } }'
PROJECT_ID_QUERY = '{ project(workspaceSlug: "bench", key: "P0") { id } }'


def post(url, token, query):
    if not url.startswith(("http://", "https://")):
        raise SystemExit(f"not an http(s) URL: {url}")
    request = urllib.request.Request(  # noqa: S310 - the scheme is checked above
        url,
        data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return response.status, response.headers, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, error.headers, json.loads(error.read() or b"{}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8100/graphql")
    parser.add_argument("--token", default=os.environ.get("LEGACY_TOKEN"))
    parser.add_argument("--write", action="store_true", help="also run W3 (creates an issue)")
    args = parser.parse_args()
    if not args.token:
        parser.error("pass --token or set LEGACY_TOKEN")

    failures = []

    def check(name, condition, detail=""):
        print(f"{'ok  ' if condition else 'FAIL'} {name} {detail}".rstrip())
        if not condition:
            failures.append(name)

    status, headers, body = post(args.url, args.token, W1)
    edges = (((body.get("data") or {}).get("project") or {}).get("issues") or {}).get("edges")
    check(
        "W1",
        status == 200 and not body.get("errors") and edges is not None and len(edges) == 50,
        f"status={status} issues={len(edges or [])} sql={headers.get('X-SQL-Statements')}",
    )

    status, headers, body = post(args.url, args.token, W2)
    issue = (body.get("data") or {}).get("issue") or {}
    check(
        "W2",
        status == 200 and issue.get("identifier") == "P0-42",
        f"status={status} sql={headers.get('X-SQL-Statements')}",
    )

    status, _, body = post(args.url, "not-a-token", W2)
    check("401 without a valid token", status == 401, f"status={status}")

    if args.write:
        _, _, body = post(args.url, args.token, PROJECT_ID_QUERY)
        project_id = ((body.get("data") or {}).get("project") or {}).get("id")
        status, headers, body = post(args.url, args.token, W3 % project_id)
        created = ((body.get("data") or {}).get("createIssue") or {}).get("issue") or {}
        check(
            "W3",
            status == 200 and str(created.get("identifier", "")).startswith("P0-"),
            f"status={status} identifier={created.get('identifier')} "
            f"sql={headers.get('X-SQL-Statements')}",
        )

    print(f"{3 + args.write - len(failures)} passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
