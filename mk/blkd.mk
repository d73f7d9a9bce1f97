# mk/blkd.mk - the storage server aoki-blkd (servers/blkd) and its tests.
# Included by the top-level Makefile after its own rules.
#
#   servers/blkd/*.c        -> $(BUILD)/bin/aoki-blkd (with servers/common
#                              and lib/util)
#   tests/blk-*.c           -> $(BUILD)/tests/blk-* (generic rule); they run
#                              $(BUILD)/bin/aoki-blkd, so depend on it

# The wire protocol, lib/blk/proto.h, from one place: the server, the
# tests that speak it raw and the fuzzers include "proto.h" by this path.
BLK_PROTO_INC := -Ilib/blk
$(BUILD)/obj/servers/blkd/%.o $(BUILD)/obj/tests/blk-%.o: override CFLAGS += $(BLK_PROTO_INC)

BLKD_SRC := $(sort $(wildcard servers/blkd/*.c)) servers/common/daemon.c
BLKD_OBJ := $(BLKD_SRC:%.c=$(BUILD)/obj/%.o)
BLKD_BIN := $(BUILD)/bin/aoki-blkd

$(BLKD_BIN): $(BLKD_OBJ) $(UTIL_OBJ) $(LIBA)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) -o $@ $^ $(LDFLAGS) -luring

$(patsubst tests/%.c,$(BUILD)/tests/%,$(wildcard tests/blk-*.c)): $(BLKD_BIN)

all: $(BLKD_BIN)

.PHONY: install-blkd
install: install-blkd
install-blkd: $(BLKD_BIN)
	install -d $(DESTDIR)$(BINDIR)
	install -m 755 $(BLKD_BIN) $(DESTDIR)$(BINDIR)/
