# mk/common.mk - servers/common: the main loop and the common options of
# the stand-alone servers (daemon.h), linked into each server's binary by
# that server's own fragment.  Included by the top-level Makefile after
# its own rules.
#
# Who may include "daemon.h": the servers (servers/*), nothing else.
COMMON_INC := -Iservers/common

$(BUILD)/obj/servers/%.o: override CFLAGS += $(COMMON_INC)
