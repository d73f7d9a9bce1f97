/* SPDX-License-Identifier: MIT */
/*
 * util-size: util_parse_size (lib/util/size.h), the size grammar of
 * `aoki blk create`, `aoki fs mkfs` and the stack configuration: digits
 * and an optional binary unit, nothing else.
 */
#include <errno.h>
#include <stdint.h>

#include "harness.h"
#include "size.h"

static uint64_t ok(const char *s)
{
	uint64_t v = 0;

	CHECK_EQ(util_parse_size(s, &v), 0);
	return v;
}

int main(void)
{
	static const char *const bad[] = {
		"", "M", "-1", "+1", " 1", "1 ", "1.5G", "1X", "1MM", "1Mb", "1iB", "0x10",
	};
	uint64_t v = 7;

	CHECK_EQ(ok("0"), 0);
	CHECK_EQ(ok("4096"), 4096);
	CHECK_EQ(ok("64k"), 64u << 10);
	CHECK_EQ(ok("512M"), 512ull << 20);
	CHECK_EQ(ok("2GiB"), 2ull << 30);
	CHECK_EQ(ok("1gB"), 1ull << 30);
	CHECK_EQ(ok("3T"), 3ull << 40);
	CHECK_EQ(ok("18446744073709551615"), (long long)UINT64_MAX);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (util_parse_size(bad[i], &v) != -EINVAL) {
			fprintf(stderr, "'%s' accepted\n", bad[i]);
			return T_EXIT_FAIL;
		}
	}
	CHECK_EQ(util_parse_size("18446744073709551616", &v), -ERANGE);
	CHECK_EQ(util_parse_size("16777216T", &v), -ERANGE);
	CHECK_EQ(util_parse_size(NULL, &v), -EINVAL);
	CHECK_EQ(v, 7);		/* untouched on failure */
	return T_EXIT_PASS;
}
