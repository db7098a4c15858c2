# mk/webhooks.mk -- the loopback receiver the webhook delivery specs run
# (spec/emulator_webhooks_spec.lua): $(BUILD)/hook-receiver, built with the
# emulator (so every build-<lua>/ that has an emulator has one too).
HOOK_RECEIVER := $(BUILD)/hook-receiver

compile: $(HOOK_RECEIVER)
$(EMULATOR): | $(HOOK_RECEIVER)

$(HOOK_RECEIVER): spec/support/hook_receiver.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(LDFLAGS) $(PKG_LIBS)
