/* err.h: the one error enum of mcpgw and its text. */
#ifndef MCPGW_COMMON_ERR_H
#define MCPGW_COMMON_ERR_H

typedef enum gw_err {
    GW_OK = 0,
    GW_ENOMEM,    /* out of memory: fail only the request concerned */
    GW_EINVAL,    /* invalid argument or value */
    GW_ETOOBIG,   /* a size limit was exceeded */
    GW_EPARSE,    /* malformed input (JSON, YAML, msgpack, base64) */
    GW_ENOTFOUND, /* no such thing (session, tool, key id, file) */
    GW_EEXPIRED,  /* a token or deadline has passed */
    GW_EAUTH,     /* authentication failed: tampered token, unknown key */
    GW_EIO,       /* an operating system call failed; errno says more */
    GW_ETIMEDOUT, /* a deadline passed while waiting */
    GW_EUNAVAIL,  /* a peer process or backend is not there */
    GW_ECLOSED,   /* the object was closed */
    GW_EAGAIN,    /* try again later (would block) */
    GW_EPROTO,    /* a peer broke the protocol */
    GW_EPERM,     /* permission denied (a socket or file closed to this user) */
    GW_EBUSY,     /* in use by another process (a socket someone listens on) */
} gw_err_t;

/* Returns a static, human-readable text for err; never NULL. */
const char *gw_strerror(gw_err_t err);

#endif
