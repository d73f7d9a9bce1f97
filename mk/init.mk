# mk/init.mk - the supervisor aoki-init (servers/init) and its tests
# (they run aoki-echod, mk/echo.mk).  Included by the top-level Makefile
# after its own rules.
#
#   servers/init/*.c        -> $(BUILD)/bin/aoki-init
#   tests/init/NAME.c       -> $(BUILD)/tests/init-NAME, linked with the
#                              aoki-init objects (all but main.c), so unit
#                              tests can call them

INIT_SRC      := $(sort $(wildcard servers/init/*.c))
INIT_CORE_OBJ := $(filter-out %/main.o,$(INIT_SRC:%.c=$(BUILD)/obj/%.o))
INIT_BIN      := $(BUILD)/bin/aoki-init
INIT_TEST_SRC := $(sort $(wildcard tests/init/*.c))
INIT_TEST_BIN := $(INIT_TEST_SRC:tests/init/%.c=$(BUILD)/tests/init-%)

$(INIT_BIN): $(BUILD)/obj/servers/init/main.o $(INIT_CORE_OBJ) $(UTIL_OBJ) $(LIBA)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) -o $@ $^ $(LDFLAGS)

# A static pattern rule: it wins over the generic $(BUILD)/tests/% rule.
$(INIT_TEST_BIN): $(BUILD)/tests/init-%: $(BUILD)/obj/tests/init/%.o $(INIT_CORE_OBJ) \
		$(TEST_UTIL_OBJ) $(LIBA)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) -o $@ $^ $(LDFLAGS)

# The end-to-end tests run the programs (order-only: not linked in).
$(INIT_TEST_BIN): | $(INIT_BIN) $(ECHOD_BIN)

all: $(INIT_BIN)
TEST_EXTRA += $(INIT_TEST_BIN)

.PHONY: install-init
install: install-init
install-init: $(INIT_BIN)
	install -d $(DESTDIR)$(BINDIR)
	install -m 755 $(INIT_BIN) $(DESTDIR)$(BINDIR)/
