# twilio-verify -- build, test and demo.
#
#   make          core static library, Lua module, emulator, C tests (first
#                 installs the Debian packages the build needs for $(LUA):
#                 .ci/deps --build, or prints the apt-get line when not root)
#   make LUA=luajit BUILD=build-luajit   the same against another Lua
#                 (lua5.1, lua5.3, lua5.4, luajit: pkg-config name $(LUA_PC))
#   make test     C tests of the core + the busted suite (installs deps first)
#   make demo     examples/quickstart.lua against a fresh emulator (or real
#                 Twilio when TWILIO_* credentials are in the environment)
#   make gen      the files made from the operation data (api/*.lua): the C
#                 table, the emulator's handler list, doc/operations.lua and
#                 the generated regions of README.md and doc/emulator.md
#                 (committed; make test checks they are current)
#
# Layout of build/ (scripts rely on it):
#   build/libtwilio_verify.a      the core (csrc/tv_*.c)
#   build/twilio/verify/core.so   the Lua module twilio.verify.core
#   build/twilio-verify-emulator  the emulator (build/gen/openapi_json.c: the
#                                 OpenAPI description it embeds, mk/embed.lua)

LUA        ?= lua5.4
LUA_PC     ?= $(LUA)
BUSTED     ?= busted
CC         ?= cc
BUILD      ?= build

PKG_CFLAGS := $(shell pkg-config --cflags $(LUA_PC) libcurl libcjson openssl libcbor 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs libcurl libcjson openssl libcbor 2>/dev/null) -lm
MHD_CFLAGS := $(shell pkg-config --cflags libmicrohttpd 2>/dev/null)
MHD_LIBS   := $(shell pkg-config --libs libmicrohttpd 2>/dev/null)

OPT        ?= -O2 -g
WARN       := -Wall -Wextra -Werror
CFLAGS     += -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE $(OPT) $(WARN) -fPIC $(PKG_CFLAGS)
LDFLAGS    +=

CORE_SRC   := $(wildcard csrc/tv_*.c)
CORE_OBJ   := $(CORE_SRC:csrc/%.c=$(BUILD)/obj/%.o)
LUA_SRC    := $(wildcard csrc/lua_*.c)
LUA_OBJ    := $(LUA_SRC:csrc/%.c=$(BUILD)/obj/%.o)
EMU_SRC    := $(wildcard csrc/emulator/*.c)
# The OpenAPI description the emulator validates requests against, embedded
# in its binary (mk/embed.lua writes it as a C string; oapi_load.c parses it).
OPENAPI    := spec/fixtures/twilio_verify_v2.json
HOST_LUA   ?= $(LUA)
EMU_GEN_C  := $(BUILD)/gen/openapi_json.c
EMU_GEN_OBJ:= $(BUILD)/obj/gen/openapi_json.o
EMU_OBJ    := $(EMU_SRC:csrc/emulator/%.c=$(BUILD)/obj/emulator/%.o) $(EMU_GEN_OBJ)
CTEST_SRC  := $(wildcard spec/c/test_*.c)
CTEST_BIN  := $(CTEST_SRC:spec/c/%.c=$(BUILD)/tests/%)

CORE_LIB   := $(BUILD)/libtwilio_verify.a
LUA_MOD    := $(BUILD)/twilio/verify/core.so
EMULATOR   := $(BUILD)/twilio-verify-emulator

SPEC_ENV   := LUA_PATH='lua/?.lua;lua/?/init.lua;spec/?.lua;;' LUA_CPATH='$(BUILD)/?.so;;' \
              TV_EMULATOR='$(abspath $(EMULATOR))'
BUSTED_RUN := $(BUSTED) --lua=$(LUA)

GEN_LUA    ?= lua5.4

.PHONY: all compile deps build-deps test ctest spec demo demo-totp clean gen
# `all` installs (or names) the packages first, then builds in a sub-make:
# the pkg-config flags above are read when make starts, so they must be
# read again once the -dev packages are there.
all: build-deps
	@$(MAKE) --no-print-directory compile

compile: $(CORE_LIB) $(LUA_MOD) $(EMULATOR) $(CTEST_BIN)

# Debian packages (.ci/deps): everything `make test` and `make demo` need,
# or (build-deps) only what `make` needs -- both for this $(LUA) and $(CC).
DEPS_ENV := LUA='$(LUA)' CC='$(CC)'
deps:
	@$(DEPS_ENV) sh .ci/deps

build-deps:
	@$(DEPS_ENV) sh .ci/deps --build

$(BUILD)/obj/%.o: csrc/%.c csrc/*.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/obj/emulator/%.o: csrc/emulator/%.c csrc/*.h $(wildcard csrc/emulator/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(MHD_CFLAGS) -Icsrc -c $< -o $@

$(EMU_GEN_C): $(OPENAPI) mk/embed.lua
	@mkdir -p $(dir $@)
	$(HOST_LUA) mk/embed.lua emu_openapi_json $(OPENAPI) $@

$(EMU_GEN_OBJ): $(EMU_GEN_C)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(CORE_LIB): $(CORE_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^

$(LUA_MOD): $(LUA_OBJ) $(CORE_LIB)
	@mkdir -p $(dir $@)
	$(CC) -shared -o $@ $(LUA_OBJ) $(CORE_LIB) $(LDFLAGS) $(PKG_LIBS)

$(EMULATOR): $(EMU_OBJ) $(CORE_LIB)
	@mkdir -p $(dir $@)
	$(CC) -o $@ $(EMU_OBJ) $(CORE_LIB) $(LDFLAGS) $(MHD_LIBS) $(PKG_LIBS) -lpthread

$(BUILD)/tests/%: spec/c/%.c spec/c/ctest.h $(CORE_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Icsrc -o $@ $< $(CORE_LIB) $(LDFLAGS) $(PKG_LIBS)

# C tests print their own "N passed, N failed"; spec/run sums everything.
ctest: $(CTEST_BIN)
	@for t in $(CTEST_BIN); do $$t || exit 1; done

# make test builds with TEST_JOBS jobs (default 2) unless make was given -j,
# and spec/run shares the specs out between SPEC_JOBS (default 2) workers.
TEST_JOBS  ?= 2
test: deps
	@$(MAKE) --no-print-directory $(if $(filter -j%,$(MAKEFLAGS)),,-j$(TEST_JOBS)) compile
	@$(SPEC_ENV) BUSTED='$(BUSTED_RUN)' CTESTS='$(CTEST_BIN)' GEN_LUA='$(GEN_LUA)' sh spec/run

gen:
	$(GEN_LUA) api/gen.lua

spec: all
	$(SPEC_ENV) $(BUSTED_RUN) spec

demo: deps
	@$(MAKE) --no-print-directory compile
	@EMULATOR='$(EMULATOR)' LUA='$(LUA)' BUILD='$(BUILD)' sh examples/run-demo.sh examples/quickstart.lua

demo-totp: deps
	@$(MAKE) --no-print-directory compile
	@EMULATOR='$(EMULATOR)' LUA='$(LUA)' BUILD='$(BUILD)' sh examples/run-demo.sh examples/totp_enroll.lua

clean:
	rm -rf $(BUILD)

# Optional areas (sanitizers, fuzzing, lint, benchmarks, OpenResty...) each
# keep their targets in mk/<area>.mk.
-include mk/*.mk
