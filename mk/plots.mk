# mk/plots.mk - figures of the benchmarks and soaks (docs/figures/*.svg)
# from their recorded JSON (docs/data/*.json), drawn by scripts/plots.sh
# with gnuplot.  Included by the top-level Makefile after its own rules.
#
#   make plots              install gnuplot-nox if missing (scripts/deps.sh
#                           --plots), then draw PLOTS_DATA into PLOTS_DIR;
#                           runs no benchmark (docs/benchmarks.md, "Figures",
#                           says how the data were recorded)
#   make plots PLOTS_DATA="ipc.json soak.json" PLOTS_DIR=/tmp/fig
#                           the same from runs of one's own

PLOTS_DATA ?= $(sort $(wildcard docs/data/*.json))
PLOTS_DIR  ?= docs/figures

.PHONY: plots
plots:
	$(Q)scripts/deps.sh --plots
	$(Q)scripts/plots.sh $(PLOTS_DIR) $(PLOTS_DATA)

# The test: the script draws every figure from docs/data (skips without
# gnuplot).
$(BUILD)/tests/plots: tests/plots.sh mk/plots.mk
	@mkdir -p $(dir $@)
	$(Q)sed -e 's|@SRC@|$(CURDIR)|' $< > $@.tmp && chmod +x $@.tmp && mv $@.tmp $@

TEST_EXTRA += $(BUILD)/tests/plots
