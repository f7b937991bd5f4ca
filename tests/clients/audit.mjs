// The GraphQL-over-HTTP specification's server audits (npm graphql-http) against a live server.
//
//   node audit.mjs URL [TOKEN]
//
// With TOKEN, every audit request carries `Authorization: Bearer TOKEN` (through fetchFn).
// Prints one JSON object per audit on its own line:
//   {"id": "...", "name": "MUST ...", "level": "MUST", "status": "ok|notice|warn|error", "reason": "..."}
// and exits 0; the test (tests/test_clients.py) decides what passes.
import { serverAudits } from 'graphql-http';

const [url, token] = process.argv.slice(2);
if (!url) {
  console.error('usage: node audit.mjs URL [TOKEN]');
  process.exit(2);
}

function fetchFn(input, init = {}) {
  const headers = new Headers(init.headers);
  if (token) headers.set('authorization', `Bearer ${token}`);
  return fetch(input, { ...init, headers });
}

for (const audit of serverAudits({ url, fetchFn })) {
  const result = await audit.fn();
  const line = {
    id: result.id,
    name: result.name,
    level: result.name.split(' ', 1)[0],
    status: result.status,
  };
  if (result.status !== 'ok') {
    line.reason = result.reason;
    try {
      line.httpStatus = result.response.status;
      line.contentType = result.response.headers.get('content-type');
      line.body = (await result.response.text()).slice(0, 300);
    } catch {
      // the body was read by the audit already
    }
  }
  console.log(JSON.stringify(line));
}
