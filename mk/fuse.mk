# mk/fuse.mk - aoki-fuse, the FUSE mount of aoki-fsd (tools/fuse), and
# its tests.  Included by the top-level Makefile after its own rules.
#
#   tools/fuse/*.c          -> $(BUILD)/bin/aoki-fuse (libfuse3's
#                              low-level API, with libaoki)
#   tests/fuse-*.c          -> $(BUILD)/tests/fuse-* (generic rule); they
#                              mount $(BUILD)/bin/aoki-fuse over a fresh
#                              aoki-blkd + aoki-fsd stack, and skip (77)
#                              where /dev/fuse or fusermount3 is missing
# Without libfuse3's headers (libfuse3-dev, installed by scripts/deps.sh)
# aoki-fuse is not built and its tests skip.

FUSE_SRC := $(sort $(wildcard tools/fuse/*.c))
FUSE_OBJ := $(FUSE_SRC:%.c=$(BUILD)/obj/%.o)
FUSE_BIN := $(BUILD)/bin/aoki-fuse
FUSE_PKG := $(shell pkg-config --cflags --libs fuse3 2>/dev/null)

$(FUSE_OBJ): override CFLAGS += $(shell pkg-config --cflags fuse3 2>/dev/null)

$(FUSE_BIN): $(FUSE_OBJ) $(LIBA)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) -o $@ $^ $(LDFLAGS) $(shell pkg-config --libs fuse3) -lm

FUSE_TEST_BIN := $(patsubst tests/%.c,$(BUILD)/tests/%,$(wildcard tests/fuse-*.c))

ifneq ($(FUSE_PKG),)
all: $(FUSE_BIN)
# The tests run the programs (order-only: not linked in; aoki-init by its
# path: init.mk is read after this file).
$(FUSE_TEST_BIN): | $(FUSE_BIN) $(FSD_BIN) $(BLKD_BIN) $(BUILD)/bin/aoki-init
else
$(info note: libfuse3-dev not found (pkg-config fuse3): aoki-fuse not built, its tests skip)
$(FUSE_TEST_BIN): | $(FSD_BIN) $(BLKD_BIN) $(BUILD)/bin/aoki-init
endif

.PHONY: install-fuse
install: install-fuse
install-fuse: $(if $(FUSE_PKG),$(FUSE_BIN))
	$(if $(FUSE_PKG),install -d $(DESTDIR)$(BINDIR))
	$(if $(FUSE_PKG),install -m 755 $(FUSE_BIN) $(DESTDIR)$(BINDIR)/)

# The tests that run real programs copy this source tree into the mount.
$(BUILD)/obj/tests/fuse-%.o: override CFLAGS += -DAOKI_SRC_DIR='"$(CURDIR)"'
