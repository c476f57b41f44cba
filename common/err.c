/* err.c: the texts of gw_err_t. */
#include <config.h>

#include <stddef.h>

#include "common/err.h"

static const char *const err_texts[] = {
    [GW_OK] = "success",
    [GW_ENOMEM] = "out of memory",
    [GW_EINVAL] = "invalid argument",
    [GW_ETOOBIG] = "size limit exceeded",
    [GW_EPARSE] = "malformed input",
    [GW_ENOTFOUND] = "not found",
    [GW_EEXPIRED] = "expired",
    [GW_EAUTH] = "authentication failed",
    [GW_EIO] = "system call failed",
    [GW_ETIMEDOUT] = "timed out",
    [GW_EUNAVAIL] = "peer unavailable",
    [GW_ECLOSED] = "closed",
    [GW_EAGAIN] = "try again",
    [GW_EPROTO] = "protocol error",
    [GW_EPERM] = "permission denied",
    [GW_EBUSY] = "in use by another process",
};

const char *gw_strerror(gw_err_t err)
{
    if ((unsigned)err >= sizeof(err_texts) / sizeof(err_texts[0]) || err_texts[err] == NULL) {
        return "unknown error";
    }
    return err_texts[err];
}
