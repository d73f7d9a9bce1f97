# mk/soakd.mk - aoki-soakd, the server that soak tests kill and restart
# (servers/soakd), and its test.  Included by the top-level Makefile after
# its own rules.
#
#   servers/soakd/*.c       -> $(BUILD)/bin/aoki-soakd, with
#   servers/common/*.c         the helpers every stand-alone server may use
#   tests/soakd-basic.c     -> $(BUILD)/tests/soakd-basic (generic rule); it
#                              runs $(BUILD)/bin/aoki-soakd, so depends on it

# The server's protocol (soak_proto.h) and the format of its durable log
# (soak_log.h) have one home, servers/soakd; its clients, `aoki soak ipc`
# (tools/aoki/soak_ipc.c) and the tests, include them through this path.
SOAKD_INC := -Iservers/soakd

$(BUILD)/obj/tools/aoki/soak_ipc.o: override CFLAGS += $(SOAKD_INC)
$(BUILD)/obj/tests/%.o: override CFLAGS += $(SOAKD_INC)

SOAKD_SRC := $(sort $(wildcard servers/soakd/*.c servers/common/*.c))
SOAKD_OBJ := $(SOAKD_SRC:%.c=$(BUILD)/obj/%.o)
SOAKD_BIN := $(BUILD)/bin/aoki-soakd

$(SOAKD_BIN): $(SOAKD_OBJ) $(LIBA)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) -o $@ $^ $(LDFLAGS)

$(BUILD)/tests/soakd-basic: $(SOAKD_BIN)

all: $(SOAKD_BIN)

.PHONY: install-soakd
install: install-soakd
install-soakd: $(SOAKD_BIN)
	install -d $(DESTDIR)$(BINDIR)
	install -m 755 $(SOAKD_BIN) $(DESTDIR)$(BINDIR)/
