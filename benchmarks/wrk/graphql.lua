-- wrk script for the issuegraph benchmark (benchmarks/load.py runs it).
--
--   WRK_BODY_FILE=body.json WRK_AUTHORIZATION="Bearer igt_..." \
--   wrk -t1 -c16 -d5s --latency -s benchmarks/wrk/graphql.lua http://127.0.0.1:18101/graphql
--
-- POSTs the same JSON body on every request, counts answers that are not 2xx or that carry a
-- GraphQL "errors" member, and prints one machine-readable line (BENCH_JSON {...}) at the end
-- with the request count, duration, socket errors and latency percentiles in microseconds.

local body_file = os.getenv("WRK_BODY_FILE")
local handle = assert(io.open(body_file, "rb"), "cannot open WRK_BODY_FILE " .. tostring(body_file))
local body = handle:read("*a")
handle:close()

wrk.method = "POST"
wrk.body = body
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json"
local authorization = os.getenv("WRK_AUTHORIZATION")
if authorization and authorization ~= "" then
  wrk.headers["Authorization"] = authorization
end

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  bad_status = 0
  graphql_errors = 0
  first_bad = ""
end

function response(status, headers, resp_body)
  if status < 200 or status > 299 then
    bad_status = bad_status + 1
    if first_bad == "" then first_bad = tostring(status) .. " " .. string.sub(resp_body or "", 1, 200) end
  elseif resp_body and string.find(resp_body, '"errors"', 1, true) then
    graphql_errors = graphql_errors + 1
    if first_bad == "" then first_bad = string.sub(resp_body, 1, 200) end
  end
end

local function json_string(s)
  s = string.gsub(s, '[%c"\\]', function(c) return string.format("\\u%04x", string.byte(c)) end)
  return '"' .. s .. '"'
end

function done(summary, latency, requests)
  local bad, gql, sample = 0, 0, ""
  for _, thread in ipairs(threads) do
    bad = bad + (thread:get("bad_status") or 0)
    gql = gql + (thread:get("graphql_errors") or 0)
    local first = thread:get("first_bad")
    if sample == "" and first and first ~= "" then sample = first end
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "bytes": %d, ' ..
    '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, ' ..
    '"non_2xx": %d, "graphql_errors": %d, "first_bad": %s, ' ..
    '"latency_us": {"min": %d, "mean": %.1f, "stdev": %.1f, "max": %d, ' ..
    '"p50": %d, "p75": %d, "p90": %d, "p99": %d, "p999": %d}}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    bad, gql, json_string(sample),
    latency.min, latency.mean, latency.stdev, latency.max,
    latency:percentile(50), latency:percentile(75), latency:percentile(90),
    latency:percentile(99), latency:percentile(99.9)))
end
