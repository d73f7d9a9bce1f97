# mk/pkg.mk - the packaging test: `make install` into a scratch DESTDIR.
#   tests/pkg-install.sh    -> $(BUILD)/tests/pkg-install (make test)

$(BUILD)/tests/pkg-install: tests/pkg-install.sh mk/pkg.mk
	@mkdir -p $(dir $@)
	$(Q)sed -e 's|@SRC@|$(CURDIR)|' -e 's|@BUILD@|$(BUILD)|' $< > $@.tmp && \
		chmod +x $@.tmp && mv $@.tmp $@

TEST_EXTRA += $(BUILD)/tests/pkg-install
