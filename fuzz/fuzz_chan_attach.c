/* SPDX-License-Identifier: MIT */
/*
 * fuzz_chan_attach - the server's validation of a channel header that a
 * client wrote (chan_geometry_check).  Input: a header image followed by
 * 8 bytes of claimed file size.  Property: either the header is refused,
 * or every derived offset and size lies inside the file.
 */
#include <stdlib.h>
#include <string.h>

#include "../lib/ipc/layout.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct chan_hdr hdr;
	struct chan_geom g;
	uint64_t file_size;

	if (size < sizeof(hdr) + sizeof(file_size))
		return 0;
	memcpy(&hdr, data, sizeof(hdr));
	memcpy(&file_size, data + sizeof(hdr), sizeof(file_size));
	if (chan_geometry_check(&hdr, file_size, &g) != 0)
		return 0;
	if (g.total_size > file_size || g.nslots == 0 || (g.nslots & g.mask) ||
	    g.slots_off < sizeof(struct chan_hdr) ||
	    g.slots_off + (uint64_t)g.nslots * CHAN_SLOT_SIZE > g.cq_off ||
	    g.cq_off + (uint64_t)g.nslots * sizeof(uint32_t) > g.total_size)
		abort();
	return 0;
}
