# mk/bench.mk - the benchmarks (bench/), compiled into the aoki command
# (the Makefile's TOOL_SRC) and reached through the entry points in
# bench/bench.h.  Included by the top-level Makefile after its own rules.
#
# Only the dispatcher of `aoki bench` (tools/aoki/bench.c) sees bench/:
# the rest of the command does not include the benchmarks' headers.  The
# benchmarks themselves include each other's headers from their own
# directory, and their clocks, sizes and progress line from lib/util.
BENCH_INC := -Ibench

$(BUILD)/obj/tools/aoki/bench.o: override CFLAGS += $(BENCH_INC)
