# mk/soak-fs.mk - the file system fault soak (aoki-fsd, and aoki-blkd
# under it, killed under verified file operations: tools/aoki/soak_fs.c)
# and the crash-prefix test (tests/fs-crashprefix.c) at length.
#   $(BUILD)/tests/soak-fs    `aoki soak fs --kills 10` (make test)
#   make soak-fs              `aoki soak fs --kills $(SOAK_FS_KILLS)
#                             --blkd-kills`; `make soak` runs it too
#   make crashprefix          tests/fs-crashprefix with
#                             $(CRASHPREFIX_CUTS) cut points (make test
#                             runs 100)

SOAK_FS_KILLS ?= 100
CRASHPREFIX_CUTS ?= 1000

$(BUILD)/tests/soak-fs: tests/soak-fs.sh mk/soak-fs.mk
	@mkdir -p $(dir $@)
	$(Q)sed -e 's|@AOKI@|$(abspath $(AOKI))|' $< > $@.tmp && chmod +x $@.tmp && mv $@.tmp $@

TEST_EXTRA += $(BUILD)/tests/soak-fs

.PHONY: soak-fs crashprefix
soak: soak-fs
soak-fs: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)$(AOKI) soak fs --kills $(SOAK_FS_KILLS) --clients 4 --blkd-kills

crashprefix: deps
	$(Q)$(MAKE) --no-print-directory all $(BUILD)/tests/fs-crashprefix
	$(Q)AOKI_CRASHPREFIX_CUTS=$(CRASHPREFIX_CUTS) AOKI_TEST_TIMEOUT=3600 \
		tests/run.sh $(BUILD)/tests fs-crashprefix
