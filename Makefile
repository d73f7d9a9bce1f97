# Aoki - plain GNU Makefile.  `make help` lists the targets.
#
#   make                 libraries and tools into $(BUILD) (default build/)
#   make test            install missing deps, build, run every test
#   make run             install missing deps, build, then the stack job: aoki up,
#                        this tree built with make -j2 in the FUSE mount while
#                        aoki-fsd and aoki-blkd are killed, aoki down, e2fsck
#                        (aoki demo; docs/stack.md)
#   make bench           run the benchmarks (bench/); progress on a terminal only
#   make plots           figures of the recorded benchmark JSON (docs/data ->
#                        docs/figures; installs gnuplot-nox)
#   make install         PREFIX=/usr/local DESTDIR=: libraries, headers, programs,
#                        manual pages (and a page per function: man aoki_connect),
#                        systemd units, example configurations (doc/aoki/examples)
#   make SAN=address,undefined test     sanitizer build in build-san-*/
#   make SAN=thread test                TSan build
#   V=1                  show the commands

PREFIX  ?= /usr/local
DESTDIR ?=
LIBDIR  ?= $(PREFIX)/lib
INCDIR  ?= $(PREFIX)/include
BINDIR  ?= $(PREFIX)/bin
MANDIR  ?= $(PREFIX)/share/man
DOCDIR  ?= $(PREFIX)/share/doc/aoki
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
# The one place the version is written is lib/util/version.h.
VERSION := $(shell sed -n 's/^\#define AOKI_VERSION "\(.*\)"/\1/p' lib/util/version.h)

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
	   -fPIC -pthread -Iinclude
# Further include paths are per component (mk/util.mk, mk/echo.mk): the
# library sees only include/, and nothing but tests sees tests/util.
# -luring, -lext2fs -lcom_err: the hostable servers in libaoki (aoki-blkd's
# io_uring, aoki-fsd's libext2fs).
override LDFLAGS += -pthread -luring -lext2fs -lcom_err
ifneq ($(SAN),)
override CFLAGS += -fsanitize=$(SAN) -fno-omit-frame-pointer -O1
override LDFLAGS += -fsanitize=$(SAN)
endif

ifeq ($(V),1)
Q :=
else
Q := @
endif

# The library holds the servers that applications can host in-process
# (aoki/host.h): lib/host and the code of aoki-blkd and aoki-fsd but their
# main(), with the INI reader and the daemons' option helpers they use.
HOST_SRC  := $(sort $(wildcard lib/host/*.c)) \
	     $(filter-out servers/blkd/main.c,$(sort $(wildcard servers/blkd/*.c))) \
	     servers/common/daemon.c lib/util/ini.c
LIB_SRC   := $(sort $(wildcard lib/ipc/*.c lib/blk/*.c lib/fs/*.c) $(HOST_SRC))
# aoki-fsd's code goes in as one object whose only global is the service
# (mk/fsd.mk): its generic names (op_lookup, ...) must not clash with a
# program's own.
LIB_OBJ   := $(LIB_SRC:%.c=$(BUILD)/obj/%.o) $(BUILD)/obj/servers/fsd-hosted.o
TOOL_SRC  := $(sort $(wildcard tools/aoki/*.c) $(wildcard bench/*.c))
TOOL_OBJ  := $(TOOL_SRC:%.c=$(BUILD)/obj/%.o)
TEST_SRC  := $(sort $(wildcard tests/*.c))
# Internal helpers of the programs (clocks, percentiles, the INI reader,
# the version), never of the library: lib/util/, mk/util.mk.
UTIL_SRC  := $(sort $(wildcard lib/util/*.c))
UTIL_OBJ  := $(UTIL_SRC:%.c=$(BUILD)/obj/%.o)
# The example server (servers/echo/echo.h): aoki demo, the IPC benchmarks
# and soaks, aoki-echod and the tests serve it.  mk/echo.mk.
ECHO_OBJ  := $(BUILD)/obj/servers/echo/echo.o
TEST_UTIL := tests/util/harness.c
TEST_UTIL_OBJ := $(TEST_UTIL:%.c=$(BUILD)/obj/%.o) $(ECHO_OBJ) $(UTIL_OBJ)
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

$(AOKI): $(TOOL_OBJ) $(ECHO_OBJ) $(UTIL_OBJ) $(LIBA)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) -o $@ $(TOOL_OBJ) $(ECHO_OBJ) $(UTIL_OBJ) $(LIBA) $(LDFLAGS) -lck -lm

# Test helpers (tests/util) are for tests only.
$(BUILD)/obj/tests/%.o: override CFLAGS += -Itests/util

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
	sed -e 's|@PREFIX@|$(PREFIX)|; s|@LIBDIR@|$(LIBDIR)|; s|@INCDIR@|$(INCDIR)|; s|@VERSION@|$(VERSION)|' \
		aoki.pc.in > $(DESTDIR)$(LIBDIR)/pkgconfig/aoki.pc
	chmod 644 $(DESTDIR)$(LIBDIR)/pkgconfig/aoki.pc
	install -m 755 $(AOKI) $(DESTDIR)$(BINDIR)/
	for m in $(MANPAGES); do s=$${m##*.}; install -m 644 $$m $(DESTDIR)$(MANDIR)/man$$s/; done
	scripts/man-links.sh $(DESTDIR)$(MANDIR) $(MANPAGES)
	install -d $(DESTDIR)$(SYSTEMDUNITDIR) $(DESTDIR)$(DOCDIR)/examples
	for f in dist/systemd/*; do \
		sed 's|/usr/local/bin/|$(BINDIR)/|g' $$f > $(DESTDIR)$(SYSTEMDUNITDIR)/$${f##*/} && \
		chmod 644 $(DESTDIR)$(SYSTEMDUNITDIR)/$${f##*/}; done
	for f in dist/*.example; do \
		sed 's|/usr/local/bin/|$(BINDIR)/|g' $$f > $(DESTDIR)$(DOCDIR)/examples/$${f##*/} && \
		chmod 644 $(DESTDIR)$(DOCDIR)/examples/$${f##*/}; done

clean:
	rm -rf build build-san-*

help:
	@sed -n '1,/^$$/p' Makefile | sed 's/^# \{0,1\}//'

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
