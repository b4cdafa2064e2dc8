-- ingest_file.lua — wrk script for `make bench-ingest`'s OTLP runs (bench/ingest.sh).
--
-- wrk ... -s bench/ingest_file.lua URL -- PATH TOKEN BODY-FILE CONTENT-TYPE
-- Every request POSTs the same body (read once from BODY-FILE: a whole OTLP request of BATCH
-- records, JSON or protobuf) to PATH with Authorization: Bearer TOKEN. Prints the same RESULT
-- line as bench/ingest.lua.

local threads = {}

function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

ok, other = 0, 0
local req

function init(args)
  local f = assert(io.open(args[3], "rb"))
  local body = f:read("*a")
  f:close()
  req = wrk.format("POST", args[1], {
    ["Authorization"] = "Bearer " .. args[2],
    ["Content-Type"] = args[4],
  }, body)
end

function request()
  return req
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
