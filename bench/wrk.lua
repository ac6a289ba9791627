-- wrk script for bench/run.sh: absolute-form GETs through a forward proxy.
--
--   BENCH_TARGET=http://127.0.0.1:8000/ BENCH_PROXY_AUTHORIZATION='Basic ...' \
--   BENCH_EXPECT=200 wrk -t1 -c32 -d10s -s bench/wrk.lua http://127.0.0.1:<proxy port>
--
-- wrk connects to the URL on its command line (the proxy) and sends
--   GET <BENCH_TARGET> HTTP/1.1
--   Host: <BENCH_TARGET's host:port>
--   Proxy-Authorization: <BENCH_PROXY_AUTHORIZATION>   (left out when empty)
-- on keep-alive connections, reconnecting when the proxy closes one.
-- done() prints one line of key=value fields, the same keys as the Go client:
-- requests answered with BENCH_EXPECT, and those that were not. wrk counts
-- a kept-alive connection the proxy closed (tinyproxy closes every one after
-- one answer, without saying so) as a read error, then reconnects and sends
-- the request again: those are reported as reconnects, not errors. wrk only
-- counts statuses above 399 as a class, so with BENCH_EXPECT=407 every
-- 4xx/5xx counts as expected; bench/run.sh checks the status once first.

local target = os.getenv("BENCH_TARGET")
local authorization = os.getenv("BENCH_PROXY_AUTHORIZATION") or ""

if target == nil or target == "" then
  error("BENCH_TARGET is not set")
end

wrk.method = "GET"
wrk.path = target
wrk.headers["Host"] = target:match("^https?://([^/]+)")
if authorization ~= "" then
  wrk.headers["Proxy-Authorization"] = authorization
end

done = function(summary, latency, requests)
  local expect = tonumber(os.getenv("BENCH_EXPECT") or "200")
  local e = summary.errors
  -- e.status counts the answers with a status above 399.
  local good, unexpected = summary.requests - e.status, e.status
  if expect >= 400 then
    good, unexpected = e.status, summary.requests - e.status
  end
  io.write(string.format(
    "requests=%d\tseconds=%.3f\tp50_us=%d\tp99_us=%d\tunexpected=%d\terrors=%d\trechallenges=0\treconnects=%d\n",
    good, summary.duration / 1e6, latency:percentile(50), latency:percentile(99),
    unexpected, e.connect + e.write + e.timeout, e.read))
end
