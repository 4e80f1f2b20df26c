-- Soak traffic for loadtest/run --soak: rotates four request kinds over the given paths, sorts
-- every response by what came back, stops each thread after its share of responses, and prints
-- one SOAK-RESULT JSON line for the harness.
--
-- Arguments (after wrk's --): DONE_FILE RESPONSES_PER_THREAD, then PATH PLAIN_ETAG VARIANT_ETAG
-- per path. A thread that has its share appends a line to DONE_FILE: wrk's main thread sleeps
-- for the whole -d whatever its threads do, so the harness then ends it with SIGINT.
-- Kinds: json (no Accept: pass-through), bfast (Accept: application/x-bfast), json-304
-- (If-None-Match: the origin's ETag), bfast-304 (B-FAST with If-None-Match: the variant ETag).

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

local bfast_type = "application/x-bfast"

function init(args)
  done_file = args[1]
  target = tonumber(args[2])
  prepared = {}
  for i = 3, #args - 2, 3 do
    local path, plain, variant = args[i], args[i + 1], args[i + 2]
    local kinds = {
      {"json", {}},
      {"bfast", {["Accept"] = bfast_type}},
      {"json-304", {["If-None-Match"] = plain}},
      {"bfast-304", {["Accept"] = bfast_type, ["If-None-Match"] = variant}},
    }
    for _, k in ipairs(kinds) do
      table.insert(prepared, {kind = k[1], text = wrk.format("GET", path, k[2])})
    end
  end
  sent = {["json"] = 0, ["bfast"] = 0, ["json-304"] = 0, ["bfast-304"] = 0}
  received = {}    -- what came back: json-200, bfast-200, json-304, bfast-304, status-N
  bfast_status = {} -- BFast-Status first word and reason, e.g. "transcoded reason=ok"
  responses = 0
  bad_status = 0   -- neither 2xx nor 304
  next_request = 0
  stopping = false
end

function request()
  next_request = next_request + 1
  local r = prepared[(next_request - 1) % #prepared + 1]
  sent[r.kind] = sent[r.kind] + 1
  return r.text
end

local function bump(t, key)
  t[key] = (t[key] or 0) + 1
end

function response(status, headers, body)
  responses = responses + 1
  local ctype, etag, label = "", "", nil
  -- Header names keep the case the server sent.
  for name, value in pairs(headers) do
    local lower = string.lower(name)
    if lower == "content-type" then
      ctype = value
    elseif lower == "etag" then
      etag = value
    elseif lower == "bfast-status" then
      local word = string.match(value, "^%s*(%a+)") or "?"
      local reason = string.match(value, "reason=([%w_%-]+)")
      label = reason and (word .. " reason=" .. reason) or word
    end
  end
  if status == 304 then
    bump(received, string.find(etag, '%-bfast"$') and "bfast-304" or "json-304")
  elseif status >= 200 and status < 300 then
    bump(received, string.find(ctype, bfast_type, 1, true) and "bfast-200" or "json-200")
  else
    bump(received, "status-" .. status)
    bad_status = bad_status + 1
  end
  if label then bump(bfast_status, label) end
  if responses >= target and not stopping then
    stopping = true
    local f = io.open(done_file, "a")
    if f then
      f:write("done\n")
      f:close()
    end
    wrk.thread:stop()
  end
end

local function quoted(s)
  return '"' .. string.gsub(s, '[%c"\\]', function(c)
    return string.format("\\u%04x", string.byte(c))
  end) .. '"'
end

local function object(t)
  local keys = {}
  for k in pairs(t) do table.insert(keys, k) end
  table.sort(keys)
  local parts = {}
  for _, k in ipairs(keys) do table.insert(parts, quoted(k) .. ":" .. string.format("%d", t[k])) end
  return "{" .. table.concat(parts, ",") .. "}"
end

local function add_into(total, t)
  for k, v in pairs(t) do total[k] = (total[k] or 0) + v end
end

function done(summary, latency, requests)
  local total_responses, total_bad = 0, 0
  local total_sent, total_received, total_status = {}, {}, {}
  for _, thread in ipairs(threads) do
    total_responses = total_responses + thread:get("responses")
    total_bad = total_bad + thread:get("bad_status")
    add_into(total_sent, thread:get("sent"))
    add_into(total_received, thread:get("received"))
    add_into(total_status, thread:get("bfast_status"))
  end
  local e = summary.errors
  io.write(string.format(
    'SOAK-RESULT {"duration_us":%d,"requests":%d,"responses":%d,"bad_status":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"p50":%d,"p90":%d,"p99":%d,"p999":%d,"max":%d,"mean":%.1f},' ..
    '"sent":%s,"received":%s,"bfast_status":%s}\n',
    summary.duration, summary.requests, total_responses, total_bad,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9), latency.max, latency.mean,
    object(total_sent), object(total_received), object(total_status)))
end
