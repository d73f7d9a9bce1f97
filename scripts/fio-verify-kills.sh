#!/bin/sh
# scripts/fio-verify-kills.sh - fio's own data verification across
# aoki-blkd crashes, through an unmodified engine: fio's nbd engine, nbdkit
# with nbdkit-aoki-blk-plugin, aoki-blkd supervised by aoki-init.
#
# Usage: scripts/fio-verify-kills.sh [-n KILLS] [-i MS] [-s MiB] [-q DEPTH]
#                                    [-b BUILD] [-k]
#   -n KILLS   SIGKILLs of aoki-blkd (default 20)
#   -i MS      about this long between kills, +-25% (default 500)
#   -s MiB     volume and fio job size (default 64)
#   -q DEPTH   fio iodepth (default 16)
#   -b BUILD   the build directory (default build, beside this script)
#   -k         keep the temporary directory (logs, fio output, image)
#
# What it does, in a new directory under $TMPDIR:
#   1. a zeroed volume image, and an aoki-init configuration that runs
#      `aoki-blkd --port blk --volume fio=IMAGE` and restarts it at once
#      when it dies; aoki-init holds the socket <run>/blk.sock;
#   2. nbdkit -U <dir>/nbd.sock with the plugin (port=<run>/blk.sock
#      volume=fio): fio's nbd engine reaches blkd through the aoki/blk.h
#      client library, which reconnects to a restarted server and issues
#      again the requests the dead one had taken;
#   3. while a loop SIGKILLs aoki-blkd (its pid from <run>/blkd.pid) KILLS
#      times, fio runs again and again (a new --randseed each time) a job
#      that writes the whole volume at random, 4 KiB blocks, with
#      verify=crc32c, do_verify=1, verify_fatal=1: every block is read
#      back and checked after the write phase, so both phases see kills;
#   4. after the last kill: a verify-only pass (--verify_only) of the last
#      run's job, with no kills, so that every block on the volume must
#      hold exactly what that run wrote.
# The job is --rw=randrw --rwmixread=0 (all writes), not --rw=randwrite:
# fio checks a block header's rand_seed only for jobs that both read and
# write (fio 3.33), and without that check a block an earlier run wrote
# (a lost write) passes --verify_only, its header and crc being
# self-consistent.  With it, such a block fails ("bad header rand_seed").
# It reports the kills made, aoki-init's restarts, and each fio run's
# result.  Exit status: 0 when every fio run (and the verify-only pass)
# exited 0 with no I/O or verify error and every kill was made; 1
# otherwise; 2 for bad usage; 77 when fio, nbdkit, the plugin or the
# servers are missing (make builds the plugin when nbdkit-plugin-dev is
# installed).
set -u

kills=20 interval=500 size=64 depth=16 keep=0
here=$(cd "$(dirname "$0")" && pwd)
build=$here/../build
while getopts n:i:s:q:b:kh opt; do
	case $opt in
	n) kills=$OPTARG ;;
	i) interval=$OPTARG ;;
	s) size=$OPTARG ;;
	q) depth=$OPTARG ;;
	b) build=$OPTARG ;;
	k) keep=1 ;;
	h) sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) exit 2 ;;
	esac
done
for v in "$kills" "$interval" "$size" "$depth"; do
	case $v in
	'' | *[!0-9]*) echo "fio-verify-kills: not a number: '$v'" >&2; exit 2 ;;
	esac
done
if [ "$interval" -lt 50 ] || [ "$size" -lt 1 ] || [ "$depth" -lt 1 ]; then
	echo "fio-verify-kills: -i >= 50, -s >= 1, -q >= 1" >&2
	exit 2
fi

build=$(cd "$build" 2>/dev/null && pwd) || { echo "SKIP: no build directory"; exit 77; }
INIT=$build/bin/aoki-init
BLKD=$build/bin/aoki-blkd
PLUGIN=$build/lib/nbdkit-aoki-blk-plugin.so
for t in fio nbdkit; do
	command -v "$t" >/dev/null 2>&1 || { echo "SKIP: $t is not installed"; exit 77; }
done
for f in "$INIT" "$BLKD" "$PLUGIN"; do
	[ -f "$f" ] || { echo "SKIP: $f is not built (make)"; exit 77; }
done

dir=$(mktemp -d "${TMPDIR:-/tmp}/fio-verify-kills.XXXXXX") || exit 1
run=$dir/run
init_pid="" killer_pid=""

# stop - stop the killer, nbdkit and aoki-init (which stops blkd), and
# remove the directory unless kept.
stop() {
	[ -n "$killer_pid" ] && kill "$killer_pid" 2>/dev/null && wait "$killer_pid" 2>/dev/null
	[ -s "$dir/nbdkit.pid" ] && kill "$(cat "$dir/nbdkit.pid")" 2>/dev/null
	if [ -n "$init_pid" ]; then
		kill "$init_pid" 2>/dev/null
		wait "$init_pid" 2>/dev/null
	fi
	killer_pid="" init_pid=""
	if [ "$keep" = 1 ]; then
		echo "fio-verify-kills: kept $dir"
	else
		rm -rf "$dir"
	fi
}
trap stop EXIT
trap 'exit 1' INT TERM HUP

die() {
	echo "FAIL: $*"
	[ -s "$dir/init.log" ] && tail -n 20 "$dir/init.log" | sed 's/^/init: /'
	[ -s "$dir/nbdkit.log" ] && tail -n 20 "$dir/nbdkit.log" | sed 's/^/nbdkit: /'
	exit 1
}

# ------------------------------------------------------------ servers

truncate -s "${size}M" "$dir/vol.img" || die "cannot create $dir/vol.img"
# A copy of the server, so that a rebuild of the tree during the run does
# not restart another program (unless $TMPDIR is mounted noexec).
if cp "$BLKD" "$dir/aoki-blkd" && "$dir/aoki-blkd" --help >/dev/null 2>&1; then
	BLKD=$dir/aoki-blkd
fi
cat >"$dir/init.conf" <<EOF
# written by fio-verify-kills.sh
[server blkd]
exec = "$BLKD" --port blk --volume "fio=$dir/vol.img" --quiet
port = blk
restart = on-failure
backoff-min-ms = 0
backoff-max-ms = 20
backoff-reset-ms = 1
crash-limit = 1000
crash-window-s = 1
EOF
"$INIT" -c "$dir/init.conf" --run-dir "$run" 2>"$dir/init.log" &
init_pid=$!

# wait_for FILE - until FILE exists (5 s), or fail.
wait_for() {
	n=0
	while [ ! -s "$1" ]; do
		n=$((n + 1))
		[ $n -le 100 ] || die "no $1 after 5 s"
		kill -0 "$init_pid" 2>/dev/null || die "aoki-init exited"
		sleep 0.05
	done
}
wait_for "$run/blkd.pid"

nbdkit -U "$dir/nbd.sock" -P "$dir/nbdkit.pid" "$PLUGIN" port="$run/blk.sock" volume=fio \
	2>"$dir/nbdkit.log" || die "nbdkit did not start"
wait_for "$dir/nbdkit.pid"

# ------------------------------------------------------------ killer

# killer - SIGKILL aoki-blkd $kills times, about $interval ms apart, each
# time the pid in the pid file is a new one (the restarted server's);
# appends one line per kill to $dir/kills.
killer() {
	last=""
	k=0
	while [ $k -lt "$kills" ]; do
		j=$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')
		sleep "$(awk -v i="$interval" -v j="$j" 'BEGIN { printf "%.3f", i * (0.75 + j / 131070) / 1000 }')"
		n=0
		pid=$(cat "$run/blkd.pid" 2>/dev/null)
		while [ -z "$pid" ] || [ "$pid" = "$last" ]; do
			n=$((n + 1))
			if [ $n -gt 500 ]; then
				echo "no new aoki-blkd pid after 5 s" >>"$dir/killer.err"
				return 1
			fi
			sleep 0.01
			pid=$(cat "$run/blkd.pid" 2>/dev/null)
		done
		kill -KILL "$pid" 2>>"$dir/killer.err" || return 1
		last=$pid
		k=$((k + 1))
		echo "$pid" >>"$dir/kills"
	done
}

# ------------------------------------------------------------ fio

uri="nbd+unix:///?socket=$dir/nbd.sock"

# fio_job NAME SEED [OPTIONS...] - the verified random write of the whole
# volume, with seed SEED; its JSON output in $dir/NAME.json, its stderr
# in $dir/NAME.err.  Returns fio's exit status.
fio_job() {
	name=$1 seed=$2
	shift 2
	(cd "$dir" && fio --name=verify --ioengine=nbd --uri="$uri" --rw=randrw --rwmixread=0 \
		--bs=4k --iodepth="$depth" --size="${size}M" --randseed="$seed" \
		--verify=crc32c --do_verify=1 --verify_fatal=1 --verify_state_save=0 \
		--output-format=json --output="$dir/$name.json" "$@" 2>"$dir/$name.err")
}

# fio_check NAME RC - did fio run NAME (exit status RC) pass?  Sets
# job_err (the job's "error" in its JSON; 1 if there is none: fio did not
# finish) and err_lines (lines of its stderr about verify failures or
# errors), prints them, and returns 0 only if RC, job_err and err_lines
# are all 0.
fio_check() {
	job_err=$(sed -n 's/^ *"error" : \([0-9-]*\),*$/\1/p' "$dir/$1.json" 2>/dev/null |
		head -n 1)
	[ -n "$job_err" ] || job_err=1
	err_lines=$(grep -ci 'verify\|bad \|error' "$dir/$1.err" 2>/dev/null)
	echo "exit $2, job error $job_err, error lines $err_lines"
	[ "$2" -eq 0 ] && [ "$job_err" -eq 0 ] && [ "$err_lines" -eq 0 ]
}

killer &
killer_pid=$!
runs=0 bad=0 seed=0
while :; do
	runs=$((runs + 1))
	seed=$((1000 + runs))
	fio_job "run$runs" "$seed"
	rc=$?
	printf 'fio run %s (randseed %s, kills so far %s): ' "$runs" "$seed" \
		"$(wc -l <"$dir/kills" 2>/dev/null || echo 0)"
	if ! fio_check "run$runs" $rc; then
		bad=$((bad + 1))
		sed 's/^/  | /' "$dir/run$runs.err" | head -n 20
		break
	fi
	kill -0 "$killer_pid" 2>/dev/null || break
done
wait "$killer_pid"
krc=$?
killer_pid=""
made=$(wc -l <"$dir/kills" 2>/dev/null || echo 0)
[ $krc -eq 0 ] || { echo "killer failed:"; sed 's/^/  | /' "$dir/killer.err"; }

vrc=1
if [ $bad -eq 0 ]; then
	fio_job verify "$seed" --verify_only=1
	vrc=$?
	printf 'fio verify-only pass (randseed %s): ' "$seed"
	if ! fio_check verify $vrc; then
		vrc=1
		sed 's/^/  | /' "$dir/verify.err" | head -n 20
	fi
fi

restarts=$(grep -c 'restarted' "$dir/init.log")
echo "kills: $made of $kills; aoki-init restarts: $restarts; fio runs: $runs, failed: $bad;" \
	"verify-only: $([ $vrc -eq 0 ] && echo ok || echo FAILED)"
if [ $bad -ne 0 ] || [ $vrc -ne 0 ] || [ $krc -ne 0 ] || [ "$made" -ne "$kills" ]; then
	keep=1
	echo "FAIL"
	exit 1
fi
echo "PASS"
exit 0
