/* shm.h: the shared-memory files of the runtime directory (metrics, rate buckets): made new and
 * mapped by the broker, mapped by the processes it starts. */
#ifndef MCPGW_COMMON_SHM_H
#define MCPGW_COMMON_SHM_H

#include <stddef.h>

#include "common/err.h"

/* Makes a new zero-filled file of len bytes at path (a file there before is unlinked first, not
 * emptied: a process of an earlier run may still map it) and maps it shared into *out. */
gw_err_t gw_shm_create(const char *path, size_t len, void **out);
/* Maps the whole file at path shared into *out and its size into *len: GW_ENOTFOUND when it is
 * missing, GW_EPROTO when it is shorter than min_len. Unmapped with munmap(*out, *len). */
gw_err_t gw_shm_map(const char *path, size_t min_len, void **out, size_t *len);

#endif
