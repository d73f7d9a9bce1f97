# mk/nbdkit.mk - nbdkit-aoki-blk-plugin, which serves an aoki-blkd volume
# over NBD, and its test.  Included by the top-level Makefile after its own
# rules.
#
#   tools/nbdkit/aoki-blk.c -> $(BUILD)/lib/nbdkit-aoki-blk-plugin.so, with
#                              libaoki.a linked in (its symbols hidden)
#   tests/blk-nbd.sh        -> $(BUILD)/tests/blk-nbd (nbdkit + aoki-blkd
#                              end to end)
#
# Needs nbdkit-plugin-dev (scripts/deps.sh); without it nothing is built and
# the test skips.  Sanitizer builds build the plugin but skip the test: the
# sanitizer runtime cannot be loaded into an uninstrumented nbdkit.

NBDKIT_PLUGIN := $(BUILD)/lib/nbdkit-aoki-blk-plugin.so
# nbdkit finds plugins by short name in its own directory only
# (`pkg-config --variable=plugindir nbdkit`); elsewhere, by path.
NBDKIT_PLUGINDIR ?= $(LIBDIR)/nbdkit/plugins
NBDKIT_OK     := $(shell pkg-config --exists nbdkit 2>/dev/null && echo yes)

ifeq ($(NBDKIT_OK),yes)
NBDKIT_CFLAGS := $(shell pkg-config --cflags nbdkit)

$(NBDKIT_PLUGIN): tools/nbdkit/aoki-blk.c $(LIBA) mk/nbdkit.mk
	@mkdir -p $(dir $@) $(BUILD)/obj/tools/nbdkit
	@$(if $(Q),echo "  CCLD    $@")
	$(Q)$(CC) $(CFLAGS) $(UTIL_INC) $(NBDKIT_CFLAGS) -shared -fPIC \
		-MMD -MP -MF $(BUILD)/obj/tools/nbdkit/aoki-blk-plugin.d \
		-o $@ $< $(LIBA) $(LDFLAGS) -Wl,--exclude-libs,ALL

all: $(NBDKIT_PLUGIN)

.PHONY: install-nbdkit
install: install-nbdkit
install-nbdkit: $(NBDKIT_PLUGIN)
	install -d $(DESTDIR)$(NBDKIT_PLUGINDIR)
	install -m 755 $(NBDKIT_PLUGIN) $(DESTDIR)$(NBDKIT_PLUGINDIR)/
endif

ifeq ($(NBDKIT_OK)$(SAN),yes)
# The test runs the plugin and aoki-blkd (mk/blkd.mk sets BLKD_BIN).
NBDKIT_BLKD := $(or $(BLKD_BIN),$(BUILD)/bin/aoki-blkd)

$(BUILD)/tests/blk-nbd: tests/blk-nbd.sh mk/nbdkit.mk | $(NBDKIT_PLUGIN) $(BLKD_BIN)
	@mkdir -p $(dir $@)
	$(Q)sed -e 's|@PLUGIN@|$(abspath $(NBDKIT_PLUGIN))|' \
		-e 's|@BLKD@|$(abspath $(NBDKIT_BLKD))|' \
		-e 's|@AOKI@|$(abspath $(AOKI))|' $< > $@.tmp
	$(Q)chmod +x $@.tmp && mv $@.tmp $@
else
$(BUILD)/tests/blk-nbd: mk/nbdkit.mk
	@mkdir -p $(dir $@)
	$(Q)printf '#!/bin/sh\necho "SKIP: %s"\nexit 77\n' \
		"$(if $(NBDKIT_OK),not run with SAN=$(SAN) (uninstrumented nbdkit); run it with make test,nbdkit-plugin-dev is not installed)" > $@
	$(Q)chmod +x $@
endif

TEST_EXTRA += $(BUILD)/tests/blk-nbd
