# mk/browser.mk -- tests in a real browser (issue 21).
#
#   make passkeys-browser   the passkey page of examples/openresty/ (nginx +
#                           the library's OpenResty transport + the emulator)
#                           in headless Chromium with its virtual
#                           authenticator: a registration and two sign-ins,
#                           a replay refused, a screenshot of the signed-in
#                           page, and each ceremony verified again by
#                           @simplewebauthn/server (spec/browser/run.sh)
#
# .ci/checks.d/passkeys-browser runs it after installing its Debian packages
# (chromium, and nginx's for run.sh).

.PHONY: passkeys-browser

passkeys-browser: or-build-luajit
	@sh spec/browser/run.sh
