-- bench/wrk_post.lua -- wrk script for the update figure: the same POST
-- body the client sends (given by bench.lua in BENCH_WRK_BODY).
-- luacheck: globals wrk
wrk.method = "POST"
wrk.body = os.getenv("BENCH_WRK_BODY") or ""
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
