# mk/memcheck.mk -- memory-safety gates (issue 6).  See doc/memory-safety.md.
#
#   make asan       core, Lua module, emulator and C tests built with
#                   -fsanitize=address,undefined (clang) into build-asan/; the
#                   C tests and the whole busted suite run against that build
#                   (ASan runtime LD_PRELOADed into lua5.4).  Zero findings.
#   make valgrind   the C tests and the busted suite (lua5.4 under memcheck)
#                   against build/.  Zero errors, zero definite/indirect leaks.
#   make fuzz       libFuzzer harnesses (spec/fuzz/fuzz_*.c) built into
#                   build-fuzz/, each run FUZZ_SECONDS (default 30) from the
#                   committed seeds; any crash, leak, UB or broken invariant
#                   fails.  FUZZ_ONLY="response totp" runs a subset.
#   make lint       cppcheck on csrc/ (and spec/fuzz, spec/c) + luacheck on
#                   lua/, spec/, examples/ (.luacheckrc).
#   make memcheck-clean   removes build-asan/, build-fuzz/, build/memcheck/
#
# The scripts doing the work live in spec/memcheck/, with the suppression
# files they use (every entry says why it is not ours).

MEMCHECK      := spec/memcheck
CLANG         ?= clang
SANITIZE      := -fsanitize=address,undefined -fno-omit-frame-pointer
ASAN_BUILD    ?= build-asan
FUZZ_BUILD    ?= build-fuzz
FUZZ_SECONDS  ?= 30
FUZZ_ONLY     ?=
LUA_LIBS      := $(shell pkg-config --libs $(LUA_PC) 2>/dev/null || echo -l$(LUA))
EMU_LIB_OBJ   := $(filter-out %/main.o,$(EMU_OBJ))
FUZZ_SRC      := $(wildcard spec/fuzz/fuzz_*.c)
FUZZ_NAMES    := $(FUZZ_SRC:spec/fuzz/fuzz_%.c=%)

.PHONY: asan valgrind fuzz fuzz-build lint

# ---- C tests that need the binding and the emulator (part of `make test`)
# spec/c/test_fuzz_replay.c includes every harness, and spec/c/test_lua_oom.c
# runs the client against an in-process emulator: besides the core they
# link the binding, the emulator (without main) and liblua.  `private`
# keeps these flags off the prerequisites.
MEMCHECK_CTESTS := $(BUILD)/tests/test_fuzz_replay $(BUILD)/tests/test_lua_oom
$(MEMCHECK_CTESTS): $(LUA_OBJ) $(EMU_LIB_OBJ) $(wildcard csrc/emulator/*.h)
$(BUILD)/tests/test_fuzz_replay: $(FUZZ_SRC) spec/fuzz/fuzz.h
$(MEMCHECK_CTESTS): private LDFLAGS += $(LUA_OBJ) $(EMU_LIB_OBJ) $(CORE_LIB) $(LUA_LIBS) \
                    $(MHD_LIBS) -lpthread -lm

# Extra Debian packages per gate (installed as root, else the apt-get line
# is printed): spec/memcheck/deps.sh PACKAGES...
CLANG_PKGS    := clang libclang-rt-14-dev

# ---- make asan ------------------------------------------------------------
# Same Makefile, another BUILD dir, clang and the sanitizers in OPT (OPT is
# on every compile and on the C tests' link line); LDFLAGS through the
# environment so the Makefile's own `LDFLAGS +=` (and ours above) still
# apply.  The .so leaves the ASan runtime undefined: it comes from the
# LD_PRELOAD into lua5.4 (spec/memcheck/asan.sh).
# build/ is brought up to date too: the twilio-verify CLI, which specs run
# as a child process, loads the core.so next to it (build/), not ours.
asan: deps
	@sh $(MEMCHECK)/deps.sh $(CLANG_PKGS)
	@$(MAKE) --no-print-directory all
	@LDFLAGS='$(SANITIZE)' $(MAKE) --no-print-directory BUILD=$(ASAN_BUILD) CC=$(CLANG) \
	    OPT='-O1 -g $(SANITIZE)' all
	@BUILD='$(ASAN_BUILD)' CLANG='$(CLANG)' LUA='$(LUA)' BUSTED='$(BUSTED)' \
	    CTESTS='$(patsubst $(BUILD)/%,$(ASAN_BUILD)/%,$(CTEST_BIN))' sh $(MEMCHECK)/asan.sh

# ---- make valgrind ----------------------------------------------------------
valgrind: deps
	@sh $(MEMCHECK)/deps.sh valgrind
	@$(MAKE) --no-print-directory all
	@BUILD='$(BUILD)' LUA='$(LUA)' BUSTED='$(BUSTED)' CTESTS='$(CTEST_BIN)' sh $(MEMCHECK)/valgrind.sh

# ---- make fuzz ----------------------------------------------------------------
# Objects with -fsanitize=fuzzer-no-link (coverage) + ASan/UBSan; each
# harness links -fsanitize=fuzzer (libFuzzer's main).  UBSan findings abort
# (-fno-sanitize-recover) so libFuzzer keeps the input.
FUZZ_SAN      := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_OPT      := -O1 -g $(FUZZ_SAN) -fsanitize=fuzzer-no-link
FUZZ_CORE     := $(FUZZ_BUILD)/libtwilio_verify.a
FUZZ_LUA_OBJ  := $(LUA_OBJ:$(BUILD)/%=$(FUZZ_BUILD)/%)
FUZZ_EMU_OBJ  := $(EMU_LIB_OBJ:$(BUILD)/%=$(FUZZ_BUILD)/%)
FUZZ_BINS     := $(FUZZ_NAMES:%=$(FUZZ_BUILD)/fuzz_%)

fuzz-build: deps
	@sh $(MEMCHECK)/deps.sh $(CLANG_PKGS)
	@$(MAKE) -s --no-print-directory BUILD=$(FUZZ_BUILD) CC=$(CLANG) OPT='$(FUZZ_OPT)' \
	    $(FUZZ_CORE) $(FUZZ_LUA_OBJ) $(FUZZ_EMU_OBJ)
	@$(MAKE) -s --no-print-directory $(FUZZ_BINS)

$(FUZZ_BUILD)/fuzz_%: spec/fuzz/fuzz_%.c spec/fuzz/fuzz.h $(FUZZ_CORE) $(FUZZ_LUA_OBJ) $(FUZZ_EMU_OBJ)
	@echo "  LINK $@"
	@$(CLANG) -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -O1 -g $(FUZZ_SAN) -fsanitize=fuzzer \
	    $(WARN) $(PKG_CFLAGS) -Icsrc -Ispec/fuzz -o $@ $< $(FUZZ_LUA_OBJ) $(FUZZ_EMU_OBJ) $(FUZZ_CORE) \
	    $(LUA_LIBS) $(MHD_LIBS) $(PKG_LIBS) -lpthread -lm

fuzz: fuzz-build
	@FUZZ_BUILD='$(FUZZ_BUILD)' FUZZ_SECONDS='$(FUZZ_SECONDS)' \
	    FUZZ_NAMES='$(if $(FUZZ_ONLY),$(FUZZ_ONLY),$(FUZZ_NAMES))' sh $(MEMCHECK)/fuzz.sh

# ---- make lint ------------------------------------------------------------------
lint: deps
	@sh $(MEMCHECK)/deps.sh cppcheck lua-check
	@sh $(MEMCHECK)/lint.sh

.PHONY: memcheck-clean
memcheck-clean:
	rm -rf $(ASAN_BUILD) $(FUZZ_BUILD) $(BUILD)/memcheck
