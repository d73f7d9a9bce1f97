# mk/soak-blk.mk - the storage fault soak (aoki-blkd killed under verified
# I/O, tools/aoki/soak_blk.c) as a test and in `make soak`.
#   $(BUILD)/tests/soak-blk   `aoki soak blk --kills 20` (make test)
#   make soak-blk             `aoki soak blk --kills $(SOAK_KILLS)`; `make
#                             soak` runs it first (a prerequisite), then
#                             mk/soak.mk's IPC soak

SOAK_KILLS ?= 200

$(BUILD)/tests/soak-blk: tests/soak-blk.sh mk/soak-blk.mk
	@mkdir -p $(dir $@)
	$(Q)sed -e 's|@AOKI@|$(abspath $(AOKI))|' $< > $@.tmp && chmod +x $@.tmp && mv $@.tmp $@

TEST_EXTRA += $(BUILD)/tests/soak-blk

.PHONY: soak soak-blk
soak: soak-blk
soak-blk: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)$(AOKI) soak blk --kills $(SOAK_KILLS) --clients 4 --qd 16
