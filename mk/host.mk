# mk/host.mk - the tests of in-process hosting (aoki/host.h, issue 14)
# that need PKU.  Included by the top-level Makefile after its own rules.
#
#   tests/host/*.c  -> one static binary, $(BUILD)/host-pku/host-isolation
#                      (built from libaoki.a: lib/host, blkd, fsd, lib/domain),
#                      run by $(BUILD)/tests/host-pku: natively when the
#                      CPU has PKU, else in a QEMU guest with emulated PKU
#                      (scripts/vm-run.sh), like domain-pku (mk/domain.mk)

HOST_PKU_SRC := $(sort $(wildcard tests/host/*.c))
HOST_PKU_OBJ := $(HOST_PKU_SRC:%.c=$(BUILD)/obj/%.o)
HOST_PKU_BIN := $(BUILD)/host-pku/host-isolation
# Check 8's ext4 image, made here (the guest has no mke2fs) and built into
# the binary (tests/host/fsimg.S).
HOST_PKU_IMG := $(BUILD)/host-pku/fs.img
HOST_PKU_OBJ += $(BUILD)/obj/tests/host/fsimg.o

$(HOST_PKU_IMG): mk/host.mk
	@mkdir -p $(dir $@)
	$(Q)rm -f $@ && truncate -s 16M $@ && mke2fs -q -t ext4 -b 4096 -F $@

$(BUILD)/obj/tests/host/fsimg.o: tests/host/fsimg.S $(HOST_PKU_IMG)
	@mkdir -p $(dir $@)
	$(Q)$(CC) -c -DFS_IMAGE='"$(abspath $(HOST_PKU_IMG))"' -o $@ $<

ifeq ($(SAN),)
# Static: the guest has no libc (liburing.a for blkd's io_uring).  The
# linker's warning about getpwnam in a static binary (blkd's configuration
# reader; the test uses no user names) is shown only if the link fails.
$(HOST_PKU_BIN): $(HOST_PKU_OBJ) $(LIBA)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@ (static)")
	$(Q)$(CC) -static -o $@ $(HOST_PKU_OBJ) $(LIBA) $(LDFLAGS) 2>$@.log || \
		{ cat $@.log; rm -f $@.log; exit 1; }
	$(Q)rm -f $@.log

$(BUILD)/tests/host-pku: tests/host/pku-run.sh $(HOST_PKU_BIN) mk/host.mk
	@mkdir -p $(dir $@)
	$(Q)sed -e 's|@BIN@|$(abspath $(HOST_PKU_BIN))|' \
		-e 's|@VM_RUN@|$(abspath scripts/vm-run.sh)|' $< > $@.tmp
	$(Q)chmod +x $@.tmp && mv $@.tmp $@
else
# Sanitizer runtimes do not link statically; the test runs in the plain
# build.
$(BUILD)/tests/host-pku: mk/host.mk
	@mkdir -p $(dir $@)
	$(Q)printf '#!/bin/sh\necho "SKIP: host-pku is not built with SAN=$(SAN) (a static binary); run it with make test"\nexit 77\n' > $@
	$(Q)chmod +x $@
endif

TEST_EXTRA += $(BUILD)/tests/host-pku
