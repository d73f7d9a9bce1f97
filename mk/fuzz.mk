# mk/fuzz.mk - libFuzzer harnesses (fuzz/fuzz_*.c), built with clang.
#   make fuzz               run every harness for FUZZ_TIME seconds (default 60)
#   make fuzz FUZZ_TIME=600 FUZZERS_RUN=fuzz_ring_serve
# `make test` runs each one for a few seconds (build/tests/fuzz-smoke).

FUZZ_CC     ?= clang
FUZZ_TIME   ?= 60
FUZZ_BUILD  := $(BUILD)/fuzz
FUZZ_SAN    := -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_CFLAGS := -std=gnu11 -g -O1 -Wall -Wextra -Werror -Wno-unused-parameter -pthread \
	       -Iinclude -Iservers/echo -Ilib/util $(FUZZ_SAN)
# The library's sources: with lib/host, the hostable servers' code
# (aoki-blkd's, aoki-fsd's but their main()).
FUZZ_LIB_SRC := $(sort $(LIB_SRC) servers/echo/echo.c $(UTIL_SRC) \
		$(filter-out servers/fsd/main.c,$(wildcard servers/fsd/*.c)))
# With lib/domain: the hostable servers in the library (lib/host) run in
# compartments.  Its gates are assembly, assembled without sanitizers.
FUZZ_LIB_OBJ := $(FUZZ_LIB_SRC:%.c=$(FUZZ_BUILD)/obj/%.o) \
		$(patsubst %.c,$(FUZZ_BUILD)/obj/%.o,$(wildcard lib/domain/*.c)) \
		$(patsubst %.S,$(FUZZ_BUILD)/obj/%.o,$(wildcard lib/domain/*.S))
# The fsd harnesses (fuzz_fsd_*): the library with fsd over memory
# instead of aoki-blkd (fuzz/fsd_memblk.c replaces blkio.c).
FUZZ_FSD_OBJ := $(filter-out $(FUZZ_BUILD)/obj/servers/fsd/blkio.o,$(FUZZ_LIB_OBJ)) \
		$(FUZZ_BUILD)/obj/fuzz/fsd_memblk.o
FUZZERS     := $(patsubst fuzz/%.c,$(FUZZ_BUILD)/%,$(sort $(wildcard fuzz/fuzz_*.c)))
# Static pattern rules (explicit targets): make then builds every object
# they list; an implicit rule whose object is missing would be passed
# over for the generic one, which lacks fsd's objects.
FUZZERS_FSD := $(filter $(FUZZ_BUILD)/fuzz_fsd_%,$(FUZZERS))
FUZZERS_LIB := $(filter-out $(FUZZERS_FSD),$(FUZZERS))
FUZZERS_RUN ?= $(notdir $(FUZZERS))
# fsd's protocol header (lib/fs/proto.h) by its include path, for fsd's
# objects and harnesses only (private: not passed on to the library
# objects the harnesses depend on).
$(FUZZ_BUILD)/obj/servers/fsd/%.o $(FUZZ_BUILD)/obj/fuzz/fsd_memblk.o $(FUZZERS_FSD): private FUZZ_CFLAGS += -Ilib/fs
# blkd's objects (in the library: lib/host hosts it) and its harnesses:
# its protocol header, its private header, the servers' common options.
$(FUZZ_BUILD)/obj/servers/blkd/%.o $(FUZZ_BUILD)/obj/servers/common/%.o: private FUZZ_CFLAGS += -Ilib/blk -Iservers/common
$(FUZZ_BUILD)/obj/servers/fsd/%.o: private FUZZ_CFLAGS += -Iservers/common
$(FUZZ_BUILD)/fuzz_blkd_%: private FUZZ_CFLAGS += -Ilib/blk -Iservers/blkd

$(FUZZ_BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  FUZZCC  $<")
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c -o $@ $<

$(FUZZ_BUILD)/obj/%.o: %.S
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  FUZZAS  $<")
	$(Q)$(FUZZ_CC) -Iinclude -c -o $@ $<

$(FUZZERS_LIB): $(FUZZ_BUILD)/fuzz_%: fuzz/fuzz_%.c $(FUZZ_LIB_OBJ)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  FUZZLD  $@")
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_LIB_OBJ) \
		-luring -lext2fs -lcom_err

$(FUZZERS_FSD): $(FUZZ_BUILD)/fuzz_fsd_%: fuzz/fuzz_fsd_%.c $(FUZZ_FSD_OBJ)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  FUZZLD  $@")
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_FSD_OBJ) \
		-luring -lext2fs -lcom_err

# The smoke test that keeps the harnesses compiled and green.
$(BUILD)/tests/fuzz-smoke: fuzz/smoke.sh $(FUZZERS)
	@mkdir -p $(dir $@)
	$(Q)sed 's|@FUZZ_BUILD@|$(abspath $(FUZZ_BUILD))|; s|@SRCDIR@|$(CURDIR)|' $< > $@ && chmod +x $@

TEST_EXTRA += $(BUILD)/tests/fuzz-smoke

.PHONY: fuzz fuzzers
fuzzers: $(FUZZERS)

fuzz: deps
	$(Q)$(MAKE) --no-print-directory fuzzers
	$(Q)for f in $(FUZZERS_RUN); do \
		mkdir -p $(FUZZ_BUILD)/corpus/$$f; \
		echo "=== $$f for $(FUZZ_TIME)s (corpus $(FUZZ_BUILD)/corpus/$$f, seeds fuzz/corpus/$$f)"; \
		$(FUZZ_BUILD)/$$f -max_total_time=$(FUZZ_TIME) -print_final_stats=1 -artifact_prefix=$(FUZZ_BUILD)/ \
			$(FUZZ_BUILD)/corpus/$$f fuzz/corpus/$$f || exit 1; \
	done

-include $(shell find $(FUZZ_BUILD)/obj -name '*.d' 2>/dev/null)
