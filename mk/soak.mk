# mk/soak.mk - the fault soaks as tests.
#   $(BUILD)/tests/soak-ipc   `aoki soak ipc --kills 30` (make test); longer
#                             runs: `make soak` (SOAK_KILLS, default 200)

SOAK_KILLS ?= 200

$(BUILD)/tests/soak-ipc: tests/soak-ipc.sh mk/soak.mk
	@mkdir -p $(dir $@)
	$(Q)sed -e 's|@AOKI@|$(abspath $(AOKI))|' $< > $@.tmp && chmod +x $@.tmp && mv $@.tmp $@

TEST_EXTRA += $(BUILD)/tests/soak-ipc

.PHONY: soak
soak: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)$(AOKI) soak ipc --kills $(SOAK_KILLS) --clients 4 --threads 2
