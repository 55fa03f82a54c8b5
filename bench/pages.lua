-- wrk script of pages.py (issue 14): one wrk thread per connection, so each connection
-- sends its own session's Cookie and checks every answer against its own customer.
--
-- Arguments (after wrk's "--"): MARKER ROWS CONNECTION...
--   MARKER      text every answer must contain ("" for none)
--   ROWS        number of "<tr>" every answer must contain (0: not checked)
--   CONNECTION  "PATH<TAB>COOKIE<TAB>IDENTITY", one per wrk thread: the page to load,
--               the Cookie header, and text only this connection's answers contain
-- An answer that is not 200 or misses one of them counts as a failure; done() prints the
-- counts and latency percentiles on lines starting with "PAGES " for pages.py to read.

local threads = {}

function setup(thread)
   table.insert(threads, thread)
   thread:set("index", #threads)
end

local function split(text, separator)
   local fields, start = {}, 1
   while true do
      local at = string.find(text, separator, start, true)
      if not at then
         table.insert(fields, string.sub(text, start))
         return fields
      end
      table.insert(fields, string.sub(text, start, at - 1))
      start = at + #separator
   end
end

local function occurrences(text, needle)
   local count, start = 0, 1
   while true do
      local at = string.find(text, needle, start, true)
      if not at then return count end
      count, start = count + 1, at + #needle
   end
end

function init(args)
   marker, rows = args[1], tonumber(args[2])
   local mine = split(args[2 + index], "\t")
   prepared = wrk.format("GET", mine[1], { Cookie = mine[2] })
   identity = mine[3]
   checked, failures, first_failure = 0, 0, ""
end

function request()
   return prepared
end

function response(status, headers, body)
   checked = checked + 1
   local ok = status == 200
      and string.find(body, identity, 1, true) ~= nil
      and (marker == "" or string.find(body, marker, 1, true) ~= nil)
      and (rows == 0 or occurrences(body, "<tr>") == rows)
   if not ok then
      failures = failures + 1
      if first_failure == "" then
         first_failure = status .. " " .. string.sub(body, 1, 400)
      end
   end
end

function done(summary, latency, requests)
   local checked, failures, first = 0, 0, ""
   for _, thread in ipairs(threads) do
      checked = checked + thread:get("checked")
      failures = failures + thread:get("failures")
      if first == "" then first = thread:get("first_failure") end
   end
   local errors = summary.errors
   io.write(string.format(
      "PAGES requests=%d duration_us=%d checked=%d failures=%d socket_errors=%d p50_us=%d p99_us=%d max_us=%d\n",
      summary.requests, summary.duration, checked, failures,
      errors.connect + errors.read + errors.write + errors.timeout,
      latency:percentile(50), latency:percentile(99), latency.max))
   if first ~= "" then
      io.write("PAGES_FIRST_FAILURE " .. string.gsub(first, "%s+", " ") .. "\n")
   end
end
