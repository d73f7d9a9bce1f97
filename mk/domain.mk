# mk/domain.mk - compartments (lib/domain), their tests and the VM runner.
# Included by the top-level Makefile after its own rules.
#
#   lib/domain/*.c, *.S      -> objects added to libaoki.a and libaoki.so
#   tests/domain/unprotected.c -> $(BUILD)/tests/domain-unprotected (native)
#   tests/domain/pku-*.c     -> static binaries in $(BUILD)/domain-pku/, run
#                               by $(BUILD)/tests/domain-pku: natively when
#                               the CPU has PKU, else in a QEMU guest with
#                               emulated PKU (scripts/vm-run.sh)

DOMAIN_SRC := $(sort $(wildcard lib/domain/*.c))
DOMAIN_ASM := $(sort $(wildcard lib/domain/*.S))
DOMAIN_OBJ := $(DOMAIN_SRC:%.c=$(BUILD)/obj/%.o) $(DOMAIN_ASM:%.S=$(BUILD)/obj/%.o)

$(BUILD)/obj/lib/domain/%.o: lib/domain/%.S
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  AS      $<")
	$(Q)$(CC) $(filter-out -fsanitize=%,$(CFLAGS)) -MMD -MP -c -o $@ $<

# Extra prerequisites: the archive and shared-library recipes use $^.
$(LIBA) $(LIBSO): $(DOMAIN_OBJ)

DOMAIN_PKU_SRC := $(sort $(wildcard tests/domain/pku-*.c))
DOMAIN_PKU_BIN := $(DOMAIN_PKU_SRC:tests/domain/pku-%.c=$(BUILD)/domain-pku/domain-%)

$(BUILD)/tests/domain-unprotected: $(BUILD)/obj/tests/domain/unprotected.o $(LIBA)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) -o $@ $< $(LIBA) $(LDFLAGS)

ifeq ($(SAN),)
# Static: the guest has no libc.  Built from the same objects as the library.
$(BUILD)/domain-pku/domain-%: $(BUILD)/obj/tests/domain/pku-%.o $(DOMAIN_OBJ)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@ (static)")
	$(Q)$(CC) -static -o $@ $< $(DOMAIN_OBJ) $(LDFLAGS)

$(BUILD)/tests/domain-pku: tests/domain/pku-run.sh $(DOMAIN_PKU_BIN) mk/domain.mk
	@mkdir -p $(dir $@)
	$(Q)sed -e 's|@BIN_DIR@|$(abspath $(BUILD)/domain-pku)|' \
		-e 's|@VM_RUN@|$(abspath scripts/vm-run.sh)|' \
		-e 's|@TESTS@|$(notdir $(DOMAIN_PKU_BIN))|' $< > $@.tmp
	$(Q)chmod +x $@.tmp && mv $@.tmp $@
else
# Sanitizer runtimes do not link statically; the PKU tests run in the
# plain build.
$(BUILD)/tests/domain-pku: mk/domain.mk
	@mkdir -p $(dir $@)
	$(Q)printf '#!/bin/sh\necho "SKIP: PKU tests are not built with SAN=$(SAN) (static binaries); run them with make test"\nexit 77\n' > $@
	$(Q)chmod +x $@
endif

TEST_EXTRA += $(BUILD)/tests/domain-unprotected $(BUILD)/tests/domain-pku

# Mutation testing of lib/domain (tests/domain/mutate.sh): each mutation
# removes one defence from a copy of the tree; the PKU tests must fail.
# Not part of `make test` (about 15 s per mutation in the QEMU guest).
.PHONY: mutate-domain
mutate-domain:
	tests/domain/mutate.sh $(MUTATION)
