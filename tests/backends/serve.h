/* The server scaffolding both C test backends share: signals, the listening socket, h2o's
 * context and accept loop, the run and drain loops, what they read of a request and the SSE
 * framing of their answers. */

#ifndef MCPGW_TESTS_BACKENDS_SERVE_H
#define MCPGW_TESTS_BACKENDS_SERVE_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include <h2o.h>

#define SERVE_SSE_PREFIX "event: message\ndata: "
#define SERVE_SSE_SUFFIX "\n\n"
#define SERVE_STOP_POLL_MS 250 /* bounds the wait when a signal slips in just before epoll_wait */

/* One h2o server on one listening socket; embedded in a backend's context, which its request
 * handler recovers from serve_handler_t.serve with a container-of. */
typedef struct serve {
    const char *program; /* for messages and as the Server header */
    size_t accept_batch; /* connections taken per readiness of the listener */
    h2o_globalconf_t config;
    h2o_context_t ctx;
    h2o_accept_ctx_t accept_ctx;
    h2o_evloop_t *loop;
    h2o_socket_t *listener;
} serve_t;

typedef struct serve_handler {
    h2o_handler_t super;
    serve_t *serve;
} serve_handler_t;

/* Set by SIGINT and SIGTERM; a signal also interrupts epoll_wait, so the loop sees it at once. */
extern volatile sig_atomic_t serve_stop_signalled;

/* Ignores SIGPIPE and sets serve_stop_signalled on SIGINT and SIGTERM; 0, or -1 with errno. */
int serve_install_signals(void);

/* A listening TCP socket on address (an IP literal; with loopback_only a loopback one) and port,
 * or -1 after printing why on stderr. */
int serve_listen(const char *program, const char *address, uint16_t port, int loopback_only);

/* Reads a --port argument (0-65535) into *port; 0, or -1 after printing why on stderr. */
int serve_parse_port(const char *program, const char *text, uint16_t *port);

/* The port a listening socket is bound to, or -1. */
int serve_bound_port(int fd);

/* Sets up h2o's config, one handler for every path (on_req) and the loop and context. */
void serve_init(serve_t *s, const char *program, size_t accept_batch, size_t max_request_body,
                int (*on_req)(h2o_handler_t *self, h2o_req_t *req));

/* Starts accepting on listen_fd (now owned by s) and prints "listening port=N" on stdout. */
void serve_start(serve_t *s, int listen_fd);

/* Runs the loop until SIGINT or SIGTERM, then stops accepting (the listener is closed). */
void serve_run_until_signalled(serve_t *s);

/* Runs the loop while *pending is not 0, for grace_ms at the most. */
void serve_drain(serve_t *s, const size_t *pending, uint64_t grace_ms);

/* Whether h2o still has connections open (h2o 2.2 has no public count; its graceful-shutdown
 * lists are the truth). */
int serve_has_connections(serve_t *s);

/* Disposes of the context, the loop and the config; only once nothing uses them. */
void serve_dispose(serve_t *s);

/* Whether the request's method is method. */
int serve_is_method(const h2o_req_t *req, const char *method);

/* The value of the first request header named name (lower case), or base NULL. */
h2o_iovec_t serve_header(const h2o_req_t *req, const char *name);

/* Whether a Content-Type value (or one Accept element) is the media type type, parameters aside. */
int serve_media_type_is(h2o_iovec_t value, const char *type);

/* Whether a comma-separated list (an Accept value) names the media type type, parameters aside. */
int serve_lists_media_type(h2o_iovec_t list, const char *type);

/* Whether any Accept header lists the media type type (wildcards do not count). */
int serve_accepts(const h2o_req_t *req, const char *type);

/* json framed as one SSE message event, with "id: event_id" first unless event_id is NULL; a
 * NUL-terminated copy in pool. */
h2o_iovec_t serve_sse_event(h2o_mem_pool_t *pool, const char *event_id, h2o_iovec_t json);

#endif
