# Aoki - plain GNU Makefile.  `make help` lists the targets.
#
#   make                 libraries and tools into $(BUILD) (default build/)
#   make test            install missing deps, build, run every test
#   make run             install missing deps, build, then the stack job: aoki up,
#                        this tree built with make -j2 in the FUSE mount while
#                        aoki-fsd and aoki-blkd are killed, aoki down, e2fsck
#                        (aoki demo; docs/stack.md)
#   make bench           run the benchmarks (bench/)
#   make install         PREFIX=/usr/local DESTDIR=
#   make SAN=address,undefined test     sanitizer build in build-san-*/
#   make SAN=thread test                TSan build
#   V=1                  show the commands

PREFIX  ?= /usr/local
DESTDIR ?=
LIBDIR  ?= $(PREFIX)/lib
INCDIR  ?= $(PREFIX)/include
BINDIR  ?= $(PREFIX)/bin
MANDIR  ?= $(PREFIX)/share/man
VERSION := 0.1.0

CC      ?= gcc
SAN     ?=
ifeq ($(SAN),)
BUILD   ?= build
else
BUILD   ?= build-san-$(subst $(comma),-,$(SAN))
endif
comma := ,

CFLAGS  ?= -O2 -g
override CFLAGS += -std=gnu11 -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter \
	   -fPIC -pthread -Iinclude -Iservers/echo -Itests/util
override LDFLAGS += -pthread
ifneq ($(SAN),)
override CFLAGS += -fsanitize=$(SAN) -fno-omit-frame-pointer -O1
override LDFLAGS += -fsanitize=$(SAN)
endif

ifeq ($(V),1)
Q :=
else
Q := @
endif

LIB_SRC   := $(sort $(wildcard lib/ipc/*.c lib/blk/*.c lib/fs/*.c))
LIB_OBJ   := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
TOOL_SRC  := $(sort $(wildcard tools/aoki/*.c) $(wildcard bench/*.c))
TOOL_OBJ  := $(TOOL_SRC:%.c=$(BUILD)/obj/%.o)
TEST_SRC  := $(sort $(wildcard tests/*.c))
TEST_UTIL := tests/util/harness.c servers/echo/echo.c
TEST_UTIL_OBJ := $(TEST_UTIL:%.c=$(BUILD)/obj/%.o)
TEST_BIN  := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
MANPAGES  := $(sort $(wildcard docs/man/*.[1-8]))

LIBA      := $(BUILD)/lib/libaoki.a
LIBSO     := $(BUILD)/lib/libaoki.so.0
AOKI      := $(BUILD)/bin/aoki

.PHONY: all deps test run bench install clean help tests
# Keep objects of chained rules (tests, fuzzers): no needless rebuilds.
.SECONDARY:
all: $(LIBA) $(LIBSO) $(AOKI) $(BUILD)/aoki.pc

deps:
	$(Q)scripts/deps.sh

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

$(LIBA): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  AR      $@")
	$(Q)rm -f $@ && ar rcs $@ $^

$(LIBSO): $(LIB_OBJ) lib/libaoki.map
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) -shared -Wl,-soname,libaoki.so.0 -Wl,--version-script=lib/libaoki.map \
		-o $@ $(filter %.o,$^) $(LDFLAGS)
	$(Q)ln -sf libaoki.so.0 $(BUILD)/lib/libaoki.so

$(AOKI): $(TOOL_OBJ) $(TEST_UTIL_OBJ) $(LIBA)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) -o $@ $(TOOL_OBJ) $(TEST_UTIL_OBJ) $(LIBA) $(LDFLAGS) -lck -lm

$(BUILD)/tests/%: $(BUILD)/obj/tests/%.o $(TEST_UTIL_OBJ) $(LIBA)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) -o $@ $< $(TEST_UTIL_OBJ) $(LIBA) $(LDFLAGS) -lm

$(BUILD)/aoki.pc: aoki.pc.in Makefile
	@mkdir -p $(dir $@)
	$(Q)sed -e 's|@PREFIX@|$(PREFIX)|; s|@LIBDIR@|$(LIBDIR)|; s|@INCDIR@|$(INCDIR)|; s|@VERSION@|$(VERSION)|' $< > $@

# Further components add their rules and their test binaries (TEST_EXTRA)
# in mk/*.mk.
TEST_EXTRA :=
-include $(sort $(wildcard mk/*.mk))

tests: all $(TEST_BIN) $(TEST_EXTRA)

test: deps
	$(Q)$(MAKE) --no-print-directory tests
	$(Q)tests/run.sh $(BUILD)/tests

# The stack job (tools/aoki/demo_stack.c); `aoki demo pieces` is the
# demo of the parts.
run: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)$(AOKI) demo stack --src $(CURDIR)

bench: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)$(AOKI) bench ipc
	$(Q)$(AOKI) bench blk
	$(Q)$(AOKI) bench fs

install: all
	install -d $(DESTDIR)$(INCDIR)/aoki $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(BINDIR) \
		$(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man3 $(DESTDIR)$(MANDIR)/man8
	install -m 644 include/aoki/*.h $(DESTDIR)$(INCDIR)/aoki/
	install -m 644 $(LIBA) $(DESTDIR)$(LIBDIR)/
	install -m 755 $(LIBSO) $(DESTDIR)$(LIBDIR)/
	ln -sf libaoki.so.0 $(DESTDIR)$(LIBDIR)/libaoki.so
	install -m 644 $(BUILD)/aoki.pc $(DESTDIR)$(LIBDIR)/pkgconfig/
	install -m 755 $(AOKI) $(DESTDIR)$(BINDIR)/
	for m in $(MANPAGES); do s=$${m##*.}; install -m 644 $$m $(DESTDIR)$(MANDIR)/man$$s/; done

clean:
	rm -rf build build-san-*

help:
	@sed -n '1,/^$$/p' Makefile | sed 's/^# \{0,1\}//'

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
