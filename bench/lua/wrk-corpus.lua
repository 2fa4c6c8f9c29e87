-- wrk script: cycles through the request corpus written by bench/corpus/make-corpus.pl.
-- BENCH_CORPUS names the corpus.lua file. Each wrk thread pre-formats every request once in
-- init() (so wrk itself stays cheap), then serves them in order, starting at a different
-- offset per thread. The client address reaches nginx through X-Forwarded-For (the
-- configurations trust it from 127.0.0.1 with real_ip_header).
local corpus_file = os.getenv("BENCH_CORPUS") or "corpus.lua"
local requests = {}
local next_index = 1
local thread_count = 0

function setup(thread)
  thread:set("thread_id", thread_count)
  thread_count = thread_count + 1
end

function init(args)
  local rows = dofile(corpus_file)
  for i, row in ipairs(rows) do
    local headers = {
      ["X-Forwarded-For"] = row[2],
      ["User-Agent"] = row[3],
      ["Accept"] = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
      ["Accept-Language"] = row[6],
      ["Accept-Encoding"] = "gzip, deflate, br",
    }
    if row[4] ~= "" then headers["Referer"] = row[4] end
    if row[5] ~= "" then headers["Cookie"] = row[5] end
    -- make soak: one connection per request (plain nginx drops keep-alive requests on reload)
    if os.getenv("WRK_CONNECTION_CLOSE") then headers["Connection"] = "close" end
    requests[i] = wrk.format("GET", row[1], headers)
  end
  next_index = ((thread_id or 0) * 7919) % #requests + 1
end

function request()
  local r = requests[next_index]
  next_index = next_index % #requests + 1
  return r
end
