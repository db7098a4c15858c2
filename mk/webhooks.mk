# mk/webhooks.mk -- the loopback receiver the webhook delivery specs run
# (spec/emulator_webhooks_spec.lua): build/hook-receiver, part of `make`.
HOOK_RECEIVER := $(BUILD)/hook-receiver

compile: $(HOOK_RECEIVER)

$(HOOK_RECEIVER): spec/support/hook_receiver.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(LDFLAGS) $(PKG_LIBS)
