# mk/echo.mk - the example server (servers/echo): echo.c is the server as
# a library of one handler (its protocol in echo.h), echod.c the program
# aoki-echod.  Included by the top-level Makefile after its own rules.
#
#   servers/echo/echo.c     -> $(ECHO_OBJ) (the Makefile defines it), linked
#                              into aoki (demo, bench, soak), aoki-echod and
#                              the tests
#   servers/echo/echod.c    -> $(BUILD)/bin/aoki-echod
#
# Only its users see echo.h.
ECHO_INC  := -Iservers/echo
ECHOD_BIN := $(BUILD)/bin/aoki-echod

$(BUILD)/obj/servers/echo/%.o $(BUILD)/obj/tools/aoki/%.o $(BUILD)/obj/bench/%.o \
$(BUILD)/obj/tests/%.o: override CFLAGS += $(ECHO_INC)

$(ECHOD_BIN): $(BUILD)/obj/servers/echo/echod.o $(ECHO_OBJ) \
		$(BUILD)/obj/servers/common/daemon.o $(UTIL_OBJ) $(LIBA)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) -o $@ $^ $(LDFLAGS)

all: $(ECHOD_BIN)

.PHONY: install-echod
install: install-echod
install-echod: $(ECHOD_BIN)
	install -d $(DESTDIR)$(BINDIR)
	install -m 755 $(ECHOD_BIN) $(DESTDIR)$(BINDIR)/
