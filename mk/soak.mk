# mk/soak.mk -- the emulator soak (issue 23): make emulator-soak
#
#   make emulator-soak   10,000 hostile requests against the emulator
#                        (spec/soak/emulator_soak.c: oversized and 1 MiB
#                        bodies, too many pairs, bad auth, garbage, foreign
#                        Host/Origin, huge headers and queries, chunked and
#                        cut-off bodies, slowloris, valid requests mixed in);
#                        fails when a valid request goes wrong, the peak RSS
#                        passes SOAK_RSS_MB, the log passes its budget or the
#                        emulator does not stop cleanly.  ~30 s on 2 cores.
#
# Not part of make test (slow): .ci/checks.d/emulator-soak runs it.
SOAK_REQUESTS ?= 10000
SOAK_RSS_MB   ?= 64
SOAK_THREADS  ?= 6

.PHONY: emulator-soak

$(BUILD)/soak/emulator_soak: spec/soak/emulator_soak.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< -lpthread

emulator-soak: $(EMULATOR) $(BUILD)/soak/emulator_soak
	@$(BUILD)/soak/emulator_soak $(EMULATOR) $(SOAK_REQUESTS) $(SOAK_RSS_MB) $(SOAK_THREADS)
