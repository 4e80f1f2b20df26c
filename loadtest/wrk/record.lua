-- Counts responses, body bytes and non-200 statuses per wrk thread, and keeps one sample of
-- the Content-Encoding and BFast-Status headers, then prints one JSON line for the harness.
-- The request headers (Accept, Accept-Encoding) come from wrk's -H flags.

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  responses = 0
  body_bytes = 0
  non_200 = 0
  encoding = ""
  bfast_status = ""
end

function response(status, headers, body)
  responses = responses + 1
  body_bytes = body_bytes + #body
  if status ~= 200 then
    non_200 = non_200 + 1
  end
  -- Header names keep the case the server sent; one sample is enough to label the cell.
  if responses == 1 then
    for name, value in pairs(headers) do
      local lower = string.lower(name)
      if lower == "content-encoding" then
        encoding = value
      elseif lower == "bfast-status" then
        bfast_status = value
      end
    end
  end
end

local function quoted(s)
  return '"' .. string.gsub(s, '[%c"\\]', function(c)
    return string.format("\\u%04x", string.byte(c))
  end) .. '"'
end

function done(summary, latency, requests)
  local total_responses, total_bytes, total_non_200 = 0, 0, 0
  local sample_encoding, sample_status = "", ""
  for _, thread in ipairs(threads) do
    total_responses = total_responses + thread:get("responses")
    total_bytes = total_bytes + thread:get("body_bytes")
    total_non_200 = total_non_200 + thread:get("non_200")
    if sample_encoding == "" then sample_encoding = thread:get("encoding") end
    if sample_status == "" then sample_status = thread:get("bfast_status") end
  end
  local e = summary.errors
  io.write(string.format(
    'WRK-RESULT {"duration_us":%d,"requests":%d,"responses":%d,"body_bytes":%d,' ..
    '"non_200":%d,"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"p50":%d,"p90":%d,"p99":%d,"max":%d,"mean":%.1f},' ..
    '"content_encoding":%s,"bfast_status":%s}\n',
    summary.duration, summary.requests, total_responses, total_bytes, total_non_200,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    latency.mean, quoted(sample_encoding), quoted(sample_status)))
end
