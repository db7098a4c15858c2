# mk/openresty.mk -- every Lua, OpenResty and embedding (issue 7).
#
# Any Lua:  make LUA=lua5.1|lua5.3|lua5.4|luajit BUILD=build-<lua>
#   builds everything (module, emulator, C tests) against that Lua's headers
#   (pkg-config lua5.1, lua5.3, lua5.4, luajit), installing its Debian
#   packages first (.ci/deps --build: lua5.1 liblua5.1-0-dev, lua5.3
#   liblua5.3-dev, lua5.4 liblua5.4-dev, luajit2 libluajit2-5.1-dev).  The
#   targets below use build-<lua>/ for each.
#
#   make spec-luajit         the busted suite on LuaJIT 2.1, both transport
#                            paths (spec/run), module from build-luajit/; not
#                            the emulator's and the CLI's specs (they do not
#                            test the binding: make test and make asan run them)
#   make spec-lua-versions   the operations' specs on Lua 5.1 and 5.3
#   make rock-lua-versions   luarocks make on 5.1, 5.3, 5.4 and LuaJIT, each
#                            into a throwaway tree from a copy of the sources
#   make openresty-test      a real nginx (nginx-light + libnginx-mod-http-lua)
#                            serving the library against the emulator, with the
#                            concurrency figures (spec/openresty/nginx_test.lua),
#                            and webhook.validate_request (webhook_nginx_test.lua),
#                            and a hostile upstream (hostile_upstream_test.lua)
#   make embed-test          a C program embedding Lua 5.4, two threads with a
#                            lua_State each: plain, under helgrind, and built
#                            with -fsanitize=thread (spec/embed/)
#
# .ci/checks.d/{luajit,lua-versions,openresty,embed} run these (after
# installing their Debian packages).

OR_SPEC_ENV  := LUA_PATH='lua/?.lua;lua/?/init.lua;spec/?.lua;;'
# the specs every Lua from 5.1 up runs (the client through both transports)
OR_OPS_SPECS := $(wildcard spec/operations_spec.lua spec/pages_spec.lua spec/validation_spec.lua \
                  spec/transport_spec.lua spec/totp_flow_spec.lua spec/openresty_transport_spec.lua \
                  spec/errors_spec.lua spec/webhook_spec.lua)
OR_OPS_LUA_TRANSPORT := $(filter-out spec/openresty_transport_spec.lua spec/transport_spec.lua spec/webhook_spec.lua,\
                          $(OR_OPS_SPECS))
EMBED_CFLAGS := -std=c11 -D_POSIX_C_SOURCE=200809L -O1 -g -Wall -Wextra -Werror \
                $(shell pkg-config --cflags lua5.4 2>/dev/null)
EMBED_LIBS   := $(shell pkg-config --libs lua5.4 2>/dev/null) -pthread
EMBED_SAN    ?=

.PHONY: lua-builds spec-luajit spec-lua-versions rock-lua-versions openresty-test embed-test

# The module and the emulator of one Lua into build-<lua>/ (not `all`: the
# C tests and benchmarks are Lua-independent and built by `make`).
or-build-%:
	@$(MAKE) --no-print-directory LUA=$* BUILD=build-$* build-deps
	@$(MAKE) --no-print-directory LUA=$* BUILD=build-$* build-$*/twilio/verify/core.so build-$*/twilio-verify-emulator

lua-builds: or-build-lua5.1 or-build-lua5.3 or-build-luajit

# The specs of the emulator and of the CLI test those programs (C, and the
# CLI on lua5.4), not the binding on this VM: they run in make test and
# make asan, not here.
OR_NOT_BINDING_SPECS := $(wildcard spec/emulator_spec.lua spec/emulator_push_spec.lua spec/emulator_signin_spec.lua \
                          spec/emulator_webhooks_spec.lua spec/cli_spec.lua spec/gen_spec.lua spec/rockspec_spec.lua)

spec-luajit: or-build-luajit
	@$(OR_SPEC_ENV) LUA_CPATH='build-luajit/?.so;;' TV_EMULATOR='$(CURDIR)/build-luajit/twilio-verify-emulator' \
	  BUSTED="$(BUSTED) --lua=luajit --cpath='build-luajit/?.so'" CTESTS= SPEC_SKIP='$(OR_NOT_BINDING_SPECS)' sh spec/run

spec-lua-versions: or-build-lua5.1 or-build-lua5.3
	@for l in lua5.1 lua5.3; do \
	  echo "== $$l: $(OR_OPS_SPECS)"; \
	  $(OR_SPEC_ENV) LUA_CPATH="build-$$l/?.so;;" TV_EMULATOR="$(CURDIR)/build-$$l/twilio-verify-emulator" \
	    BUSTED="$(BUSTED) --lua=$$l --cpath='build-$$l/?.so'" CTESTS= SPECS='$(OR_OPS_SPECS)' \
	    LUA_TRANSPORT_SPECS='$(OR_OPS_LUA_TRANSPORT)' sh spec/run || exit 1; \
	done

rock-lua-versions:
	@sh spec/openresty/rocks.sh

openresty-test: or-build-luajit
	@$(OR_SPEC_ENV) LUA_CPATH='build-luajit/?.so;;' TV_EMULATOR='$(CURDIR)/build-luajit/twilio-verify-emulator' \
	  TV_NGINX_BUILD=build-luajit \
	  $(BUSTED) --lua=luajit --cpath='build-luajit/?.so' -o plainTerminal spec/openresty/nginx_test.lua \
	  spec/openresty/webhook_nginx_test.lua spec/openresty/hostile_upstream_test.lua

# spec/embed/embed_test.c, linked with liblua5.4 (the module is loaded
# through package.cpath, like any embedding application would)
$(BUILD)/embed/embed_test: spec/embed/embed_test.c
	@mkdir -p $(dir $@)
	$(CC) $(EMBED_CFLAGS) $(EMBED_SAN) $< -o $@ $(EMBED_LIBS) $(EMBED_SAN)

# the plain build is build/ (lua5.4, cc: what `make` builds), shared with
# everything else; the TSan one is its own
embed-test:
	@$(MAKE) --no-print-directory LUA=lua5.4 BUILD=build \
	  build/twilio/verify/core.so build/twilio-verify-emulator build/embed/embed_test
	@$(MAKE) --no-print-directory LUA=lua5.4 BUILD=build-tsan CC=clang OPT='-O1 -g -fsanitize=thread' \
	  LDFLAGS=-fsanitize=thread EMBED_SAN=-fsanitize=thread build-tsan/twilio/verify/core.so build-tsan/embed/embed_test
	@sh spec/embed/run.sh build build-tsan
