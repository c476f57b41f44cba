/* log.h: one line per event, key=value fields (logfmt), syslog levels checked before formatting. */
#ifndef MCPGW_COMMON_LOG_H
#define MCPGW_COMMON_LOG_H

#include <stdarg.h>
#include <stddef.h>

enum {
    GW_LOG_ERR = 3,
    GW_LOG_WARNING = 4,
    GW_LOG_NOTICE = 5,
    GW_LOG_INFO = 6,
    GW_LOG_DEBUG = 7,
};

/* The logger is the one piece of per-process state in common/: a process logs as one thing. */
extern int gw_log_threshold;

/* Sets the process name shown in proc= (e.g. "router.1", "worker.alpha") and the level. */
void gw_log_setup(const char *proc, int level);
/* log.format: json writes each event as one JSON object (every field a string) instead of
 * logfmt. */
void gw_log_set_json(int json);
/* Parses "err|error|warning|warn|notice|info|debug"; returns -1 when unknown. */
int gw_log_level_parse(const char *s);
const char *gw_log_level_name(int level);

/* Copies s[0..n) into out for use inside a quoted logfmt value ("%s" between quotes): quotes and
 * backslashes escaped, control bytes made spaces, cut to fit. Returns out. For text a peer or
 * client chose, so that it can never end the value and forge other fields. */
const char *gw_log_quote(char *out, size_t outlen, const char *s, size_t n);

/* fmt is the event's fields: "msg=listening addr=%s port=%u". The line gets ts=, level=, proc=
 * and pid= in front and a newline after; it goes to stderr in one write(2). */
void gw_log_write(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define gw_log(level, ...)                                                                         \
    do {                                                                                           \
        if ((level) <= gw_log_threshold) {                                                         \
            gw_log_write((level), __VA_ARGS__);                                                    \
        }                                                                                          \
    } while (0)

#define gw_log_err(...) gw_log(GW_LOG_ERR, __VA_ARGS__)
#define gw_log_warn(...) gw_log(GW_LOG_WARNING, __VA_ARGS__)
#define gw_log_notice(...) gw_log(GW_LOG_NOTICE, __VA_ARGS__)
#define gw_log_info(...) gw_log(GW_LOG_INFO, __VA_ARGS__)
#define gw_log_debug(...) gw_log(GW_LOG_DEBUG, __VA_ARGS__)

#endif
