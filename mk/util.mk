# mk/util.mk - lib/util: internal helpers that the programs of this tree
# share (clock.h, size, stats, tmpdir, ini, path (mkdir -p), progress (the
# progress line on a terminal), version.h).  Not installed, not in
# libaoki: the library depends on include/ and itself only.
#
#   lib/util/*.c            -> $(UTIL_OBJ) (the Makefile defines it), linked
#                              into the programs that use them
#
# Who may include "clock.h", "ini.h" ...: servers, tools, benchmarks, tests
# and fuzzers; lib/ipc, lib/blk, lib/fs and lib/domain may not.
UTIL_INC := -Ilib/util

$(BUILD)/obj/lib/util/%.o $(BUILD)/obj/servers/%.o $(BUILD)/obj/tools/%.o \
$(BUILD)/obj/bench/%.o $(BUILD)/obj/tests/%.o: override CFLAGS += $(UTIL_INC)
