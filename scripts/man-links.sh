#!/bin/sh
# man-links.sh - for every function a manual page names in its NAME
# section, a page that includes it (".so man3/aoki_ipc.3"), so that
# `man aoki_connect` finds aoki_ipc(3).  Run by `make install`.
# Usage: scripts/man-links.sh MANDIR PAGE...
#   MANDIR   where man3/ is (with DESTDIR)
#   PAGE     source pages, docs/man/NAME.3
# Only section 3 (functions): the NAME of a page in another section may
# name a program that is not ours (nbdkit-aoki-blk-plugin(1) names
# "nbdkit"), and a link would hide its own page.  Names that have a page
# of their own are left alone.
set -eu
[ $# -ge 2 ] || { echo "usage: $0 MANDIR PAGE..." >&2; exit 2; }
mandir=$1
shift
for page in "$@"; do
	base=$(basename "$page")
	sec=${base##*.}
	[ "$sec" = 3 ] || continue
	# The NAME section: the lines after ".SH NAME" up to the "\-" that
	# starts the description; names are separated by commas and blanks.
	names=$(awk '/^\.SH NAME/ { p = 1; next }
		     /^\.SH/ { p = 0 }
		     p && /\\-/ { sub(/\\-.*/, ""); print; p = 0; next }
		     p' "$page" | tr ',' '\n' | tr -d ' \t' | grep -v '^$' || true)
	for n in $names; do
		case $n in
		*[!A-Za-z0-9_.-]*) echo "$0: $page: odd name '$n'" >&2; exit 1 ;;
		esac
		[ "$n.$sec" = "$base" ] && continue
		[ -e "$(dirname "$page")/$n.$sec" ] && continue
		printf '.so man%s/%s\n' "$sec" "$base" > "$mandir/man$sec/$n.$sec"
	done
done
