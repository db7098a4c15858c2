# mk/install.mk -- install paths and the reference docs (issue 9).
#
#   make install [PREFIX=/usr/local] [DESTDIR=]   the Lua module, the C module,
#                 the CLI and the emulator, in the standard paths of $(LUA):
#                   $(INST_LUADIR)/twilio/verify.lua (and every lua/**/*.lua)
#                                                           ($(PREFIX)/share/lua/5.4)
#                   $(INST_LIBDIR)/twilio/verify/core.so    ($(PREFIX)/lib/lua/5.4)
#                   $(INST_BINDIR)/twilio-verify            ($(PREFIX)/bin)
#                   $(INST_BINDIR)/twilio-verify-emulator   (when libmicrohttpd is there)
#   make uninstall [PREFIX=...] [DESTDIR=...]    removes exactly those files
#   make docs     the HTML reference (LDoc) in docs/ (generated, not committed)
#
# The Lua version (5.4) comes from running $(LUA); override with
# LUA_VERSION=5.x, or any INST_* directory on the command line.  The CLI's
# first line becomes `#!/usr/bin/env $(LUA)`; it finds the library relative
# to its own directory, so a PREFIX outside Lua's default path works too.

ifeq ($(origin LUA_VERSION),undefined)
LUA_VERSION := $(or $(shell $(LUA) -e 'io.write((_VERSION:match("%d+%.%d+")))' 2>/dev/null),5.4)
endif
PREFIX      ?= /usr/local
DESTDIR     ?=
INST_LUADIR ?= $(PREFIX)/share/lua/$(LUA_VERSION)
INST_LIBDIR ?= $(PREFIX)/lib/lua/$(LUA_VERSION)
INST_BINDIR ?= $(PREFIX)/bin
INSTALL     ?= install
LDOC        ?= ldoc

# the emulator needs libmicrohttpd: installed only when it can be built
INSTALL_EMULATOR := $(if $(MHD_LIBS),yes,)

.PHONY: install install-files uninstall docs docs-deps

# every Lua module under lua/ (twilio/verify.lua, twilio/verify/*.lua ...)
INST_LUA_FILES := $(patsubst lua/%,%,$(shell find lua -name '*.lua' 2>/dev/null | sort))

# like `make`: the build's packages first, then a sub-make that sees them
install: build-deps
	@$(MAKE) --no-print-directory install-files

install-files: $(LUA_MOD) $(if $(INSTALL_EMULATOR),$(EMULATOR))
	$(INSTALL) -d '$(DESTDIR)$(INST_LIBDIR)/twilio/verify' '$(DESTDIR)$(INST_BINDIR)'
	for f in $(INST_LUA_FILES); do \
	  $(INSTALL) -d "$(DESTDIR)$(INST_LUADIR)/$$(dirname $$f)" && \
	  $(INSTALL) -m 644 "lua/$$f" "$(DESTDIR)$(INST_LUADIR)/$$f" || exit 1; \
	done
	$(INSTALL) -m 755 $(LUA_MOD) '$(DESTDIR)$(INST_LIBDIR)/twilio/verify/core.so'
	sed '1s|^#!.*|#!/usr/bin/env $(LUA)|' bin/twilio-verify > '$(DESTDIR)$(INST_BINDIR)/twilio-verify.tmp'
	chmod 755 '$(DESTDIR)$(INST_BINDIR)/twilio-verify.tmp'
	mv -f '$(DESTDIR)$(INST_BINDIR)/twilio-verify.tmp' '$(DESTDIR)$(INST_BINDIR)/twilio-verify'
ifneq ($(INSTALL_EMULATOR),)
	$(INSTALL) -m 755 $(EMULATOR) '$(DESTDIR)$(INST_BINDIR)/twilio-verify-emulator'
endif

uninstall:
	for f in $(INST_LUA_FILES); do rm -f "$(DESTDIR)$(INST_LUADIR)/$$f"; done
	rm -f '$(DESTDIR)$(INST_LIBDIR)/twilio/verify/core.so' \
	    '$(DESTDIR)$(INST_BINDIR)/twilio-verify' '$(DESTDIR)$(INST_BINDIR)/twilio-verify-emulator'
	-rmdir '$(DESTDIR)$(INST_LIBDIR)/twilio/verify' '$(DESTDIR)$(INST_LIBDIR)/twilio' \
	    '$(DESTDIR)$(INST_LUADIR)/twilio/verify/cli' \
	    '$(DESTDIR)$(INST_LUADIR)/twilio/verify' '$(DESTDIR)$(INST_LUADIR)/twilio' 2>/dev/null

# LDoc (Debian lua-ldoc) with the discount Markdown processor (lua-discount):
# mk/docs-deps.sh installs them as root, or prints the apt-get line.
docs-deps:
	@sh mk/docs-deps.sh

docs: docs-deps
	@rm -rf docs
	$(LDOC) .
