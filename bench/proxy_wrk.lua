-- wrk script for bench/proxy.sh: keep-alive GETs in absolute form, as a
-- client configured with HTTP_PROXY sends them. wrk puts wrk.path verbatim
-- into the request line, so the full URL goes there.
local target = os.getenv("PROXY_BENCH_URL")
wrk.method = "GET"
wrk.path = target
wrk.headers["Host"] = target:match("^http://([^/]+)")
