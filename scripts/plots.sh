#!/bin/sh
# plots.sh - the benchmarks' and soaks' JSON into figures (SVG, gnuplot).
#
# Usage: scripts/plots.sh OUTDIR FILE.json...
#        PLOTS_FORMAT=png scripts/plots.sh ...   (PNG instead of SVG)
#
# Each FILE is the JSON of one run, as `aoki bench ipc|blk|fs --json` or
# `aoki soak ipc|blk|fs --json` print it (docs/data/ holds recorded ones;
# `make plots` draws those).  What a file is, is told by its keys:
#   pingpong_rtt_ns          bench ipc -> OUTDIR/ipc-latency.svg
#   direct_randread_qd1_iops bench blk -> OUTDIR/blk-ratios.svg
#   create_vs_kernel         bench fs  -> OUTDIR/fs-ratios.svg
#   stall_ms                 a soak    -> OUTDIR/soak-stalls.svg (every
#                            soak given, one curve each)
# (.png with PLOTS_FORMAT=png.)
# The last file of a kind wins; a kind with no file draws nothing.  Needs
# gnuplot (Debian: gnuplot-nox; `make plots` installs it); runs nothing
# else but sed, grep and awk, and no benchmark.
set -eu

if [ $# -lt 2 ]; then
	echo "usage: $0 OUTDIR FILE.json..." >&2
	exit 2
fi
if ! command -v gnuplot >/dev/null 2>&1; then
	echo "$0: gnuplot not found (Debian: apt-get install gnuplot-nox)" >&2
	exit 1
fi
out=$1
shift
fmt=${PLOTS_FORMAT:-svg}
case $fmt in
svg) term="svg dynamic font \"sans,12\" background rgb \"white\"" ;;
png) term="pngcairo font \"sans,11\" background rgb \"white\"" ;;
*) echo "$0: PLOTS_FORMAT is svg or png, not $fmt" >&2; exit 2 ;;
esac
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# num FILE KEY - the number at "KEY" in FILE, "NaN" if null or absent
# (gnuplot skips NaN).  Our JSON is flat: "key": value.
num() {
	v=$(grep -o "\"$2\": *[^,}]*" "$1" | head -n 1 | sed 's/^[^:]*: *//; s/[[:space:]]*$//')
	case $v in
	'' | null) echo NaN ;;
	*) echo "$v" ;;
	esac
}

# measured DATFILE COLUMN... - true if DATFILE has a number (not NaN) in
# one of the COLUMNs: a figure with none is skipped with a note, not drawn
# empty (gnuplot refuses a plot with every point undefined).
measured() {
	m_file=$1
	shift
	awk -v cols="$*" 'BEGIN { n = split(cols, c, " ") }
		{ for (i = 1; i <= n; i++) if ($c[i] != "NaN") found = 1 }
		END { exit !found }' "$m_file"
}

# draw NAME FROM - run gnuplot on the script on stdin (which writes
# OUTDIR/NAME), and say so.
draw() {
	gnuplot
	echo "  PLOT    $out/$1.$fmt (from $2)"
}

# contended FILE - ", --contended" if FILE is the JSON of such a run.
contended() {
	[ "$(num "$1" contended)" != 1 ] || echo ", --contended"
}

# common W H NAME - the look every figure shares (plain fonts, a light
# grid), W x H pixels, into OUTDIR/NAME.svg (or .png).
common() {
	cat <<-END
	set terminal $term size $1,$2
	set termoption noenhanced
	set output "$out/$3.$fmt"
	set style fill solid 0.85 border -1
	set grid ytics lc rgb "#dddddd" lt 1
	set border 3
	set tics nomirror
	set key noautotitle
	END
}

# ---------------------------------------------------------------- IPC
# Round trips in ns, log scale: the hardware floor (a cache line going
# back and forth), aoki's call, and the kernel's paths.  Rows: value,
# colour (0 the floor, 1 aoki, 2 the kernel), label.
plot_ipc() {
	{
		echo "$(num "$1" pingpong_rtt_ns) 0 \"cache-line ping-pong\""
		echo "$(num "$1" call_rtt_ns) 1 \"aoki call\""
		echo "$(num "$1" call_sleep_rtt_ns) 1 \"aoki call, server asleep\""
		echo "$(num "$1" pipe_rtt_ns) 2 \"pipe\""
		echo "$(num "$1" uds_rtt_ns) 2 \"AF_UNIX socket\""
		echo "$(num "$1" futex_rtt_ns) 2 \"futex\""
		echo "$(num "$1" eventfd_rtt_ns) 2 \"eventfd\""
		echo "$(num "$1" call_samecore_rtt_ns) 1 \"aoki call, one core\""
		echo "$(num "$1" pipe_samecore_rtt_ns) 2 \"pipe, one core\""
	} >"$tmp/ipc.dat"
	measured "$tmp/ipc.dat" 1 || { echo "$0: $1: no figures; ipc-latency not drawn" >&2; return 0; }
	{
		common 900 480 ipc-latency
		cat <<-END
		set title "Round trip, client and server on two cores (last two: one core)$(contended "$1")"
		set ylabel "round trip (log scale)"
		set logscale y
		set yrange [10:1e6]
		set ytics ("10 ns" 10, "100 ns" 100, "1 us" 1000, "10 us" 10000, "100 us" 100000, \\
		           "1 ms" 1e6)
		set xtics rotate by -30 left
		set boxwidth 0.7
		set key top left horizontal
		fig(v) = v >= 1000 ? sprintf("%.1f us", v / 1000) : sprintf("%.0f ns", v)
		plot "$tmp/ipc.dat" using 0:(\$2 == 0 ? \$1 : NaN):xtic(3) with boxes lc rgb "#999999" \\
		     title "hardware floor", \\
		     "" using 0:(\$2 == 1 ? \$1 : NaN) with boxes lc rgb "#2e7d32" title "aoki", \\
		     "" using 0:(\$2 == 2 ? \$1 : NaN) with boxes lc rgb "#c62828" title "kernel", \\
		     "" using 0:1:(fig(\$1)) with labels offset 0,0.7 font ",10" notitle
		END
	} | draw ipc-latency "$1"
}

# ---------------------------------------------------------------- blk
# aoki-blkd / fio (io_uring, O_DIRECT) per workload: I/Os per second and
# CPU per I/O.  1 is parity.
plot_blk() {
	for w in randread_qd1 randread_qd32 randwrite_qd32 seqread_qd8 seqwrite_qd8; do
		echo "$w $(num "$1" "${w}_ratio") $(num "$1" "${w}_cpu_per_io_ratio")"
	done >"$tmp/blk.dat"
	measured "$tmp/blk.dat" 2 3 || { echo "$0: $1: no figures; blk-ratios not drawn" >&2; return 0; }
	{
		common 900 420 blk-ratios
		cat <<-END
		set multiplot layout 1,2 \\
		    title "aoki-blkd against fio's io_uring engine on the same file$(contended "$1")"
		set boxwidth 0.6
		set xtics rotate by -30 left
		set title "I/Os per second, aoki / fio (higher is better)"
		set yrange [0:*]
		set offsets 0, 0, graph 0.12, 0
		set arrow 1 from graph 0, first 1 to graph 1, first 1 nohead lc rgb "#555555" dt 2
		plot "$tmp/blk.dat" using 0:2:xtic(1) with boxes lc rgb "#2e7d32", \\
		     "" using 0:2:(sprintf("%.2f", \$2)) with labels offset 0,0.7 font ",10"
		set title "CPU per I/O, aoki / fio (lower is better)"
		plot "$tmp/blk.dat" using 0:3:xtic(1) with boxes lc rgb "#1565c0", \\
		     "" using 0:3:(sprintf("%.2f", \$3)) with labels offset 0,0.7 font ",10"
		unset multiplot
		END
	} | draw blk-ratios "$1"
}

# ----------------------------------------------------------------- fs
# aoki-fsd / the kernel's ext4 and / fuse2fs per workload (and aoki-fuse
# / the kernel where the run had --fuse), log scale: the metadata ratios
# span two orders of magnitude.
plot_fs() {
	for w in seqwrite_1m seqread_1m randread_4k_qd32 randwrite_4k_qd32 create create_fsync \
		stat unlink readdir_10k; do
		echo "$w $(num "$1" "${w}_vs_kernel") $(num "$1" "${w}_vs_fuse2fs")" \
			"$(num "$1" "${w}_aoki_fuse_vs_kernel")"
	done >"$tmp/fs.dat"
	measured "$tmp/fs.dat" 2 3 4 || { echo "$0: $1: no figures; fs-ratios not drawn" >&2; return 0; }
	series="\"$tmp/fs.dat\" using 2:xtic(1) title \"aoki-fsd / ext4\" lc rgb \"#2e7d32\""
	series="$series, \"\" using 3 title \"aoki-fsd / fuse2fs\" lc rgb \"#1565c0\""
	if [ "$(num "$1" aoki_fuse)" = 1 ]; then
		series="$series, \"\" using 4 title \"aoki-fuse / ext4\" lc rgb \"#ef6c00\""
	fi
	{
		common 960 460 fs-ratios
		cat <<-END
		set title "aoki-fsd on aoki-blkd against the kernel's ext4 (loop device) and fuse2fs"
		set ylabel "ratio (log scale; above 1: aoki is faster)"
		set logscale y
		set format y "%g"
		set xtics rotate by -30 left
		set style data histogram
		set style histogram clustered gap 1
		set key top left
		set arrow 1 from graph 0, first 1 to graph 1, first 1 nohead lc rgb "#555555" dt 2
		plot $series
		END
	} | draw fs-ratios "$1"
}

# -------------------------------------------------------------- soaks
# The stall of every kill, as a distribution: the fraction of kills whose
# stall was at most x ms, one curve per soak (what a stall is, each soak
# says: docs/benchmarks.md).
plot_soaks() {
	series=""
	i=0
	for f in "$@"; do
		i=$((i + 1))
		grep -o '"stall_ms": *\[[^]]*\]' "$f" | sed 's/.*\[//; s/\]//' | tr ',' '\n' |
			sed 's/[[:space:]]//g; /^$/d' | sort -g |
			awk '{ v[NR] = $1 } END { for (i = 1; i <= NR; i++) print v[i], i / NR }' \
				>"$tmp/soak$i.dat"
		if ! measured "$tmp/soak$i.dat" 1; then
			echo "$0: $f: no stalls (no kill made); left out" >&2
			continue
		fi
		if grep -q '"requests"' "$f"; then
			what="ipc: aoki-soakd"
		elif grep -q '"ios"' "$f"; then
			what="blk: aoki-blkd"
		elif grep -q '"blkd_kills": *[1-9]' "$f"; then
			what="fs: aoki-fsd and aoki-blkd"
		else
			what="fs: aoki-fsd"
		fi
		what="$what, $(num "$f" kills) kills"
		series="$series${series:+, }\"$tmp/soak$i.dat\" using 1:2 with steps lw 2 title \"$what\""
	done
	[ -n "$series" ] || return 0
	{
		common 800 420 soak-stalls
		cat <<-END
		set title "Stall of each SIGKILL under load (aoki soak; docs/benchmarks.md: Figures)"
		set xlabel "stall (ms, log scale)"
		set ylabel "fraction of kills"
		set logscale x
		set format x "%g"
		set yrange [0:1.02]
		set grid xtics ytics lc rgb "#dddddd" lt 1
		set key top left
		plot $series
		END
	} | draw soak-stalls "$*"
}

ipc=""
blk=""
fs=""
soaks=""
for f in "$@"; do
	if grep -q '"pingpong_rtt_ns"' "$f"; then
		ipc=$f
	elif grep -q '"direct_randread_qd1_iops"' "$f"; then
		blk=$f
	elif grep -q '"create_vs_kernel"' "$f"; then
		fs=$f
	elif grep -q '"stall_ms"' "$f"; then
		soaks="$soaks $f"
	else
		echo "$0: $f: not the JSON of a benchmark or soak this script knows; skipped" >&2
	fi
done
if [ -n "$ipc" ]; then plot_ipc "$ipc"; fi
if [ -n "$blk" ]; then plot_blk "$blk"; fi
if [ -n "$fs" ]; then plot_fs "$fs"; fi
# shellcheck disable=SC2086 # one word per file (our paths have no blanks)
if [ -n "$soaks" ]; then plot_soaks $soaks; fi
