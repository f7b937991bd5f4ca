-- wrk script for the issuegraph benchmark (benchmarks/load.py runs it).
--
--   WRK_BODY_FILE=body.json WRK_AUTHORIZATION="Bearer igt_..." \
--   wrk -t1 -c16 -d5s --latency -s benchmarks/wrk/graphql.lua http://127.0.0.1:18101/graphql
--
-- POSTs the JSON body of WRK_BODY_FILE, counts answers that are not 2xx or that carry a
-- GraphQL "errors" member, and prints one machine-readable line (BENCH_JSON {...}) at the end
-- with the request count, duration, socket errors and latency percentiles in microseconds.
--
-- With WRK_NUMBER_MIN and WRK_NUMBER_MAX set, the body is a template: every request replaces
-- each __ISSUE_NUMBER__ in it with a random integer of [MIN, MAX] (W2 reads a different issue
-- on every request). Each thread seeds its generator with WRK_SEED (default 12) plus its
-- number, so a run asks every server for the same sequence of issues. Without them the same
-- body goes out on every request (wrk's static request, no Lua per request).

local body_file = os.getenv("WRK_BODY_FILE")
local handle = assert(io.open(body_file, "rb"), "cannot open WRK_BODY_FILE " .. tostring(body_file))
local body = handle:read("*a")
handle:close()

local number_min = tonumber(os.getenv("WRK_NUMBER_MIN") or "")
local number_max = tonumber(os.getenv("WRK_NUMBER_MAX") or "")
local seed = tonumber(os.getenv("WRK_SEED") or "") or 12
local placeholder = "__ISSUE_NUMBER__"

wrk.method = "POST"
wrk.body = body
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json"
local authorization = os.getenv("WRK_AUTHORIZATION")
if authorization and authorization ~= "" then
  wrk.headers["Authorization"] = authorization
end

if number_min and number_max then
  assert(string.find(body, placeholder, 1, true), "WRK_BODY_FILE has no " .. placeholder)
  function request()
    local n = math.random(number_min, number_max)
    picked = picked + 1
    if n < picked_min then picked_min = n end
    if n > picked_max then picked_max = n end
    return wrk.format(nil, nil, nil, (string.gsub(body, placeholder, tostring(n))))
  end
end

local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("thread_number", #threads)
end

function init(args)
  bad_status = 0
  graphql_errors = 0
  first_bad = ""
  picked, picked_min, picked_max = 0, math.huge, -math.huge
  math.randomseed(seed + thread_number)
  -- the first values after seeding vary little with the seed on some Lua builds
  for _ = 1, 10 do math.random() end
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
  local count, low, high = 0, -1, -1
  for _, thread in ipairs(threads) do
    bad = bad + (thread:get("bad_status") or 0)
    gql = gql + (thread:get("graphql_errors") or 0)
    local n = thread:get("picked") or 0
    if n > 0 then
      local tlow, thigh = thread:get("picked_min"), thread:get("picked_max")
      if low < 0 or tlow < low then low = tlow end
      if thigh > high then high = thigh end
    end
    count = count + n
    local first = thread:get("first_bad")
    if sample == "" and first and first ~= "" then sample = first end
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "bytes": %d, ' ..
    '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, ' ..
    '"non_2xx": %d, "graphql_errors": %d, "first_bad": %s, ' ..
    '"random_numbers": {"count": %d, "min": %d, "max": %d}, ' ..
    '"latency_us": {"min": %d, "mean": %.1f, "stdev": %.1f, "max": %d, ' ..
    '"p50": %d, "p75": %d, "p90": %d, "p99": %d, "p999": %d}}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    bad, gql, json_string(sample),
    count, low, high,
    latency.min, latency.mean, latency.stdev, latency.max,
    latency:percentile(50), latency:percentile(75), latency:percentile(90),
    latency:percentile(99), latency:percentile(99.9)))
end
