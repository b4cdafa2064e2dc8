-- ingest.lua — wrk script for `make bench-ingest`.
--
-- wrk ... -s bench/ingest.lua URL -- PATH TOKEN PREFIX BATCH
-- Every request is a POST to PATH with Authorization: Bearer TOKEN carrying BATCH events of
-- about 1 KB each (BATCH = 1: one JSON object; BATCH > 1: NDJSON), each with a unique
-- event_id PREFIX-<thread>-<n>. response() counts 2xx and other statuses per thread; done()
-- prints one machine-readable RESULT line with the request count, duration, statuses,
-- socket errors and the p50/p99 latency, which bench/ingest.sh parses.

local threads = {}

function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

local path, token, prefix, batch
-- globals, so that done() can read them from each thread with thread:get()
seq, ok, other = 0, 0, 0
local head, tail

function init(args)
  path = args[1] or "/api/v1/events"
  token = args[2] or ""
  prefix = (args[3] or "e") .. "-" .. tid .. "-"
  batch = tonumber(args[4] or "1")
  -- ~1 KB per event: realistic fields, a three-frame stack and some context.
  head = '{"event_id":"'
  tail = '","level":"error","kind":"error","system":"checkout","component":"payments",' ..
    '"release":"checkout@3.14.2","environment":"production",' ..
    '"message":"card authorization failed for order: upstream gateway returned 502",' ..
    '"exception":{"type":"GatewayError","value":"upstream gateway returned 502 Bad Gateway",' ..
    '"frames":[{"function":"main","file":"src/main.c","line":88,"in_app":true},' ..
    '{"function":"handle_checkout","file":"src/checkout.c","line":412,"in_app":true},' ..
    '{"function":"gateway_authorize","file":"src/gateway.c","line":157,"in_app":true}]},' ..
    '"tags":{"region":"eu-west-1","host":"web-07","customer_tier":"gold"},' ..
    '"context":{"order_id":"ORD-20261124-000123","amount_cents":12999,"currency":"EUR",' ..
    '"gateway":"acme-pay","attempt":2,"request_id":"9f1c2b7e-4d3a-4f8e-9a61-0c5d2e8b7a44",' ..
    '"note":"' .. string.rep("x", 225) .. '"}}'
end

local function event()
  seq = seq + 1
  return head .. prefix .. seq .. tail
end

function request()
  local body
  if batch == 1 then
    body = event()
  else
    local parts = {}
    for i = 1, batch do parts[i] = event() end
    body = table.concat(parts, "\n") .. "\n"
  end
  local ctype = batch == 1 and "application/json" or "application/x-ndjson"
  return wrk.format("POST", path, {
    ["Authorization"] = "Bearer " .. token,
    ["Content-Type"] = ctype,
  }, body)
end

function response(status, headers, body)
  if status >= 200 and status < 300 then ok = ok + 1 else other = other + 1 end
end

function done(summary, latency, requests)
  local ok_total, other_total = 0, 0
  for _, t in ipairs(threads) do
    ok_total = ok_total + t:get("ok")
    other_total = other_total + t:get("other")
  end
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d duration_us=%d ok=%d non2xx=%d connect_err=%d read_err=%d " ..
    "write_err=%d timeout_err=%d p50_us=%d p99_us=%d bytes=%d\n",
    summary.requests, summary.duration, ok_total, other_total, e.connect, e.read, e.write,
    e.timeout, latency:percentile(50), latency:percentile(99), summary.bytes))
end
