# mk/bench.mk -- benchmarks (issue 8).  Not part of `make test`.
#
#   make bench            the table on stdout and bench/results.json
#                         (BENCH_RUNS=n runs per figure, default 5;
#                          BENCH_SECONDS=s per timed run, default 1;
#                          BENCH_ARGS="--only fetch,list --no-emulator" ...)
#   make bench-readme     the README's performance table from
#                         bench/results.json (bench/readme.lua; no build)
#   make bench-profile    callgrind profiles of the fetch and list paths
#                         (build/bench/profile-*.txt), and instructions per
#                         request of the nginx rows (bench/profile_nginx.lua,
#                         build/bench/profile-nginx.json)
#
# Starts nginx (canned files) and the emulator on 127.0.0.1 itself and stops
# them by pid.  Installs its Debian packages first (bench/deps.sh), like
# `make test` does with .ci/deps.

BENCH_DIR   := $(BUILD)/bench
BENCH_MODS  := $(BENCH_DIR)/plaincurl.so $(BENCH_DIR)/benchclock.so
BENCH_ENV   := LUA_PATH='lua/?.lua;lua/?/init.lua;bench/?.lua;spec/?.lua;;' \
               LUA_CPATH='$(BUILD)/?.so;$(BENCH_DIR)/?.so;;' \
               TV_EMULATOR='$(EMULATOR)' LUA='$(LUA)'
BENCH_RUNS    ?= 5
BENCH_SECONDS ?= 1
BENCH_ARGS    ?=

.PHONY: bench bench-deps bench-build bench-profile bench-readme

bench-deps: deps
	@sh bench/deps.sh

bench-build: all $(BENCH_MODS)
	@$(MAKE) --no-print-directory or-build-luajit # the nginx rows (bench/openresty.conf.in) load the LuaJIT build

$(BENCH_DIR)/plaincurl.so: bench/plaincurl.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -shared -o $@ $< $(shell pkg-config --libs libcurl)

$(BENCH_DIR)/benchclock.so: bench/benchclock.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -shared -o $@ $<

bench: bench-deps
	@$(MAKE) --no-print-directory bench-build
	@$(BENCH_ENV) $(LUA) bench/bench.lua --runs $(BENCH_RUNS) --seconds $(BENCH_SECONDS) \
	    --out bench/results.json $(BENCH_ARGS)

bench-profile: bench-deps
	@$(MAKE) --no-print-directory bench-build
	@$(BENCH_ENV) $(LUA) bench/profile.lua $(BENCH_DIR)
	@$(BENCH_ENV) $(LUA) bench/profile_nginx.lua $(BENCH_DIR)

bench-readme:
	@lua5.4 bench/readme.lua bench/results.json README.md
