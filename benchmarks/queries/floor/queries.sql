-- The floor server (benchmarks/floor.py): asyncpg + orjson, no GraphQL. It answers the same
-- POST /graphql bodies as the others, dispatching on operationName (W1, W2, W3, ProjectId)
-- and reading only the variables, with the JSON shape of issuegraph's answer (same global IDs).
-- Each statement below is one round trip; `-- name:` starts a statement.

-- name: auth
-- The token lookup, as issuegraph does it: viewer, readable and writable workspaces, and
-- whether last_used_at is older than a minute (then `touch` runs, as in issuegraph).
SELECT u.id AS user_id,
       t.id AS token_id,
       coalesce(array_agg(m.workspace_id) FILTER (WHERE m.id IS NOT NULL), '{}') AS readable,
       coalesce(array_agg(m.workspace_id) FILTER (WHERE m.role IN ('OWNER', 'MEMBER')), '{}')
         AS writable,
       (t.last_used_at IS NULL OR t.last_used_at < now() - interval '1 minute') AS stale
FROM api_tokens t
JOIN users u ON u.id = t.user_id
LEFT JOIN memberships m ON m.user_id = u.id
WHERE t.token_hash = $1
  AND t.revoked_at IS NULL
  AND (t.expires_at IS NULL OR t.expires_at > now())
GROUP BY u.id, t.id;

-- name: touch
UPDATE api_tokens SET last_used_at = now() WHERE id = $1;

-- name: issue_page
-- W1: the page of issues with the project, reporter and assignee joined in.
SELECT i.id, p.key, i.number, i.title, i.status::text AS status, i.priority::text AS priority,
       a.id AS assignee_id, a.name AS assignee_name, r.id AS reporter_id, r.name AS reporter_name
FROM workspaces w
JOIN projects p ON p.workspace_id = w.id
JOIN issues i ON i.project_id = p.id
JOIN users r ON r.id = i.reporter_id
LEFT JOIN users a ON a.id = i.assignee_id
WHERE w.slug = $1 AND p.key = $2 AND w.id = ANY($3::bigint[])
ORDER BY i.created_at DESC, i.id DESC
LIMIT $4;

-- name: issue_one
-- W2: one issue by project key and number.
SELECT i.id, p.key, i.number, i.title, i.body, i.status::text AS status,
       i.priority::text AS priority, i.created_at,
       a.id AS assignee_id, a.name AS assignee_name, r.id AS reporter_id, r.name AS reporter_name
FROM workspaces w
JOIN projects p ON p.workspace_id = w.id
JOIN issues i ON i.project_id = p.id
JOIN users r ON r.id = i.reporter_id
LEFT JOIN users a ON a.id = i.assignee_id
WHERE w.slug = $1 AND p.key = $2 AND i.number = $3 AND w.id = ANY($4::bigint[]);

-- name: labels
-- The labels of a set of issues, by name (issuegraph's order).
SELECT il.issue_id, l.id, l.name, l.color
FROM issue_labels il
JOIN labels l ON l.id = il.label_id
WHERE il.issue_id = ANY($1::bigint[])
ORDER BY l.name, l.id;

-- name: comments
-- The first $2 comments (oldest first) of each issue, with their authors.
SELECT c.issue_id, c.id, c.body, c.created_at, u.id AS author_id, u.name AS author_name
FROM unnest($1::bigint[]) AS parent(issue_id)
CROSS JOIN LATERAL (
  SELECT * FROM comments
  WHERE comments.issue_id = parent.issue_id
  ORDER BY comments.created_at, comments.id
  LIMIT $2
) c
JOIN users u ON u.id = c.author_id
ORDER BY c.issue_id, c.created_at, c.id;

-- name: project_id
SELECT p.id
FROM workspaces w JOIN projects p ON p.workspace_id = w.id
WHERE w.slug = $1 AND p.key = $2 AND w.id = ANY($3::bigint[]);

-- name: bump_counter
-- W3: take the next issue number (the row lock serializes creators), only in a writable
-- workspace.
UPDATE projects SET issue_counter = issue_counter + 1
WHERE id = $1 AND workspace_id = ANY($2::bigint[])
RETURNING issue_counter, key, workspace_id;

-- name: insert_issue
INSERT INTO issues (workspace_id, project_id, number, title, body, status, priority,
                    reporter_id, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6::issue_status, $7::issue_priority, $8, now(), now())
RETURNING id, created_at;
