#!/bin/sh
# pkg-install: `make install` into a scratch DESTDIR with PREFIX=/usr.
#   - the programs are there, and the aoki command holds no test code
#     (tests/util's t_skip, t_run_dir);
#   - every function a section-3 page names in NAME has a page
#     (`man aoki_connect`: ".so man3/aoki_ipc.3"), aoki-echod(8) and
#     aoki-soakd(8) exist, and no section-1/8 link hides another page;
#   - systemd units and example configurations are installed with the
#     PREFIX's paths (/usr/bin, not /usr/local/bin).
src="@SRC@" build="@BUILD@"
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
fail() { echo "pkg-install: $*"; exit 1; }

# The test runs under make: do not join its jobserver.
unset MAKEFLAGS MFLAGS MAKELEVEL
make -s -C "$src" install BUILD="$build" DESTDIR="$d" PREFIX=/usr >"$d.log" 2>&1 ||
	{ cat "$d.log"; rm -f "$d.log"; fail "make install failed"; }
rm -f "$d.log"

for b in aoki aoki-init aoki-echod aoki-soakd aoki-blkd aoki-fsd; do
	[ -x "$d/usr/bin/$b" ] || fail "no /usr/bin/$b"
done
if nm "$d/usr/bin/aoki" 2>/dev/null | grep -qw -e t_skip -e t_run_dir; then
	fail "/usr/bin/aoki links the test harness (tests/util)"
fi

man3="$d/usr/share/man/man3"
n=0
for page in "$src"/docs/man/*.3; do
	base=${page##*/}
	names=$(awk '/^\.SH NAME/ { p = 1; next } /^\.SH/ { p = 0 }
		     p && /\\-/ { sub(/\\-.*/, ""); print; p = 0; next } p' "$page" |
		tr ',' '\n' | tr -d ' \t' | grep -v '^$')
	for f in $names; do
		[ -f "$man3/$f.3" ] || fail "no page for $f (named in $base)"
		[ "$f.3" = "$base" ] && continue
		[ "$(cat "$man3/$f.3")" = ".so man3/$base" ] || fail "$f.3 does not include $base"
		n=$((n + 1))
	done
done
[ "$(cat "$man3/aoki_connect.3")" = ".so man3/aoki_ipc.3" ] || fail "man aoki_connect"
[ $n -ge 100 ] || fail "only $n function pages"
for p in aoki-echod aoki-soakd aoki-init aoki-blkd aoki-fsd; do
	[ -f "$d/usr/share/man/man8/$p.8" ] || fail "no $p(8)"
done
for f in "$d"/usr/share/man/man1/* "$d"/usr/share/man/man8/*; do
	grep -q '^\.so ' "$f" && fail "a link in ${f#$d}"
done

units="$d/usr/lib/systemd/system"
for u in aoki-echod.socket aoki-echod.service aoki-blkd.service aoki-fsd.service; do
	[ -f "$units/$u" ] || fail "no unit $u"
done
grep -q '^ExecStart=/usr/bin/aoki-echod ' "$units/aoki-echod.service" ||
	fail "aoki-echod.service does not start /usr/bin/aoki-echod"
ex="$d/usr/share/doc/aoki/examples"
for e in aoki-init.conf.example aoki-blkd.conf.example aoki-fsd.conf.example; do
	[ -f "$ex/$e" ] || fail "no example $e"
done
grep -q '^exec = /usr/bin/aoki-echod ' "$ex/aoki-init.conf.example" ||
	fail "aoki-init.conf.example does not name /usr/bin/aoki-echod"
if grep -rl /usr/local "$units" "$ex" "$d/usr/lib/pkgconfig"; then
	fail "/usr/local left in the files above"
fi
echo "note: $n function pages, $(ls "$units" | wc -l) units"
exit 0
