# mk/fsd.mk - the file system server aoki-fsd (servers/fsd) and its tests.
# Included by the top-level Makefile after its own rules.
#
#   servers/fsd/*.c         -> $(BUILD)/bin/aoki-fsd (libext2fs, with
#                              servers/common)
#   tests/fs/NAME.c         -> $(BUILD)/tests/fs-NAME, linked with the
#                              server's objects but its main() (unit tests
#                              of the journal, the overlay, the allocator),
#                              libext2fs and the test harness
#   tests/fs-*.c            -> $(BUILD)/tests/fs-* (generic rule); they run
#                              $(BUILD)/bin/aoki-fsd and aoki-blkd

# The wire protocol (proto.h) has one home, lib/fs, beside the client
# library; the server includes it through this path, and only the server
# (and its fuzz harnesses, mk/fuzz.mk) has it.
FS_PROTO_INC := -Ilib/fs

$(BUILD)/obj/servers/fsd/%.o: override CFLAGS += $(FS_PROTO_INC)

FSD_SRC := $(sort $(wildcard servers/fsd/*.c)) servers/common/daemon.c
FSD_OBJ := $(FSD_SRC:%.c=$(BUILD)/obj/%.o)
FSD_CORE_OBJ := $(filter-out $(BUILD)/obj/servers/fsd/main.o,$(FSD_OBJ))
FSD_BIN := $(BUILD)/bin/aoki-fsd
FSD_LIBS := -lext2fs -lcom_err

$(FSD_BIN): $(FSD_OBJ) $(UTIL_OBJ) $(LIBA)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) -o $@ $^ $(LDFLAGS)

# The hostable server in libaoki (lib/host, aoki/host.h): fsd's objects
# but main.o linked into one, every global but the service made local.
$(BUILD)/obj/servers/fsd-hosted.o: $(filter-out $(BUILD)/obj/servers/common/%,$(FSD_CORE_OBJ))
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD -r   $@")
	$(Q)$(LD) -r -o $@.tmp $^ && objcopy --keep-global-symbol=aoki__fsd_service $@.tmp $@ && \
		rm -f $@.tmp

FS_TEST_SRC := $(sort $(wildcard tests/fs/*.c))
FS_TEST_BIN := $(FS_TEST_SRC:tests/fs/%.c=$(BUILD)/tests/fs-%)

$(FS_TEST_BIN): $(BUILD)/tests/fs-%: $(BUILD)/obj/tests/fs/%.o $(FSD_CORE_OBJ) \
		$(TEST_UTIL_OBJ) $(LIBA)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) -o $@ $(filter %.o,$^) $(LIBA) $(LDFLAGS) $(FSD_LIBS) -lm

$(patsubst tests/%.c,$(BUILD)/tests/%,$(wildcard tests/fs-*.c)): $(FSD_BIN) $(BLKD_BIN)

TEST_EXTRA += $(FS_TEST_BIN)
all: $(FSD_BIN)

.PHONY: install-fsd
install: install-fsd
install-fsd: $(FSD_BIN)
	install -d $(DESTDIR)$(BINDIR)
	install -m 755 $(FSD_BIN) $(DESTDIR)$(BINDIR)/
