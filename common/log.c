/* log.c: logfmt lines to stderr, one write(2) per event so processes sharing stderr never
 * interleave. */
#include <config.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"

/* A pipe write of at most PIPE_BUF (4096 on Linux) bytes is atomic, so lines of this size never
 * mix with other processes' lines even when stderr is a pipe to journald. */
#define LOG_LINE_MAX 4096
#define LOG_PROC_MAX 64

static const char truncated_mark[] = " truncated=true";

int gw_log_threshold = GW_LOG_INFO;
static int log_json; /* log.format: json */
static char log_proc[LOG_PROC_MAX] = "mcpgw";

static const struct {
    const char *name;
    int level;
} level_names[] = {
    {"err", GW_LOG_ERR},      {"error", GW_LOG_ERR},     {"warning", GW_LOG_WARNING},
    {"warn", GW_LOG_WARNING}, {"notice", GW_LOG_NOTICE}, {"info", GW_LOG_INFO},
    {"debug", GW_LOG_DEBUG},
};

void gw_log_setup(const char *proc, int level)
{
    if (proc != NULL) {
        snprintf(log_proc, sizeof(log_proc), "%s", proc);
    }
    gw_log_threshold = level;
}

void gw_log_set_json(int json)
{
    log_json = json;
}

int gw_log_level_parse(const char *s)
{
    if (s == NULL) {
        return -1;
    }
    for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
        if (strcasecmp(s, level_names[i].name) == 0) {
            return level_names[i].level;
        }
    }
    return -1;
}

const char *gw_log_level_name(int level)
{
    switch (level) {
    case GW_LOG_ERR:
        return "err";
    case GW_LOG_WARNING:
        return "warning";
    case GW_LOG_NOTICE:
        return "notice";
    case GW_LOG_INFO:
        return "info";
    case GW_LOG_DEBUG:
        return "debug";
    default:
        return level < GW_LOG_ERR ? "err" : "debug";
    }
}

const char *gw_log_quote(char *out, size_t outlen, const char *s, size_t n)
{
    size_t o = 0;
    if (outlen == 0) {
        return out;
    }
    for (size_t i = 0; i < n && o + 3 < outlen; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            out[o++] = '\\';
            out[o++] = (char)c;
        } else {
            out[o++] = c < 0x20 || c == 0x7f ? ' ' : (char)c;
        }
    }
    out[o] = '\0';
    return out;
}

static void write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) {
                continue;
            }
            return; /* nowhere left to report a failing stderr */
        }
        p += w;
        n -= (size_t)w;
    }
}

/* Appends s[0..n) as a JSON string body (no quotes) to out; returns the new length, never
 * past max (a value cut short stays valid JSON). */
static size_t json_escape(char *out, size_t o, size_t max, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[8];
        size_t k = 0;
        if (c == '"' || c == '\\') {
            esc[k++] = '\\';
            esc[k++] = (char)c;
        } else if (c < 0x20) {
            k = (size_t)snprintf(esc, sizeof(esc), "\\u%04x", c);
        } else {
            esc[k++] = (char)c;
        }
        if (o + k > max) {
            break;
        }
        memcpy(out + o, esc, k);
        o += k;
    }
    return o;
}

/* The logfmt line in[0..n) (key=value, values bare or "quoted" with \" and \\ escapes) as one
 * JSON object of strings; text that is not key=value goes under "text". */
static size_t logfmt_to_json(const char *in, size_t n, char *out, size_t max)
{
    size_t o = 0;
    const char *end = in + n;
    const char *p = in;
    const char *text = NULL;
    size_t textlen = 0;
    out[o++] = '{';
    int first = 1;
    char val[LOG_LINE_MAX];
    while (p < end && o + 8 < max) {
        while (p < end && *p == ' ') {
            p++;
        }
        const char *k = p;
        while (p < end && *p != '=' && *p != ' ') {
            p++;
        }
        if (p >= end || *p != '=') { /* a word that is no key=value */
            if (text == NULL) {
                text = k;
            }
            textlen = (size_t)(p - text);
            continue;
        }
        size_t klen = (size_t)(p - k);
        p++;
        size_t vlen = 0;
        if (p < end && *p == '"') {
            p++;
            while (p < end && *p != '"') {
                if (*p == '\\' && p + 1 < end) {
                    p++;
                }
                val[vlen++] = *p++;
            }
            p++; /* the closing quote */
        } else {
            while (p < end && *p != ' ') {
                val[vlen++] = *p++;
            }
        }
        if (!first) {
            out[o++] = ',';
        }
        first = 0;
        out[o++] = '"';
        o = json_escape(out, o, max - 4, k, klen);
        out[o++] = '"';
        out[o++] = ':';
        out[o++] = '"';
        o = json_escape(out, o, max - 2, val, vlen);
        out[o++] = '"';
    }
    if (text != NULL && o + 12 < max) {
        o += (size_t)snprintf(out + o, max - o, "%s\"text\":\"", first ? "" : ",");
        o = json_escape(out, o, max - 2, text, textlen);
        out[o++] = '"';
    }
    out[o++] = '}';
    return o;
}

void gw_log_write(int level, const char *fmt, ...)
{
    if (level > gw_log_threshold) {
        return;
    }
    int saved_errno = errno; /* callers often log and then look at errno */

    char line[LOG_LINE_MAX];
    /* Room kept back for the truncation mark and the newline. */
    const size_t body_max = sizeof(line) - (sizeof(truncated_mark) - 1) - 1;

    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    int n = snprintf(line, body_max + 1,
                     "ts=%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ level=%s proc=%s pid=%ld ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     ts.tv_nsec / 1000000L, gw_log_level_name(level), log_proc, (long)getpid());
    if (n < 0) {
        errno = saved_errno;
        return;
    }
    size_t len = (size_t)n < body_max ? (size_t)n : body_max;
    int truncated = (size_t)n > body_max;

    if (!truncated) {
        va_list ap;
        va_start(ap, fmt);
        n = vsnprintf(line + len, body_max + 1 - len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            n = 0;
        }
        size_t start = len;
        if ((size_t)n > body_max - len) {
            truncated = 1;
            len = body_max;
        } else {
            len += (size_t)n;
        }
        /* One event is one line: a value carrying a newline must not start a fake line. */
        for (size_t i = start; i < len; i++) {
            if (line[i] == '\n' || line[i] == '\r') {
                line[i] = ' ';
            }
        }
    }
    if (truncated) {
        memcpy(line + len, truncated_mark, sizeof(truncated_mark) - 1);
        len += sizeof(truncated_mark) - 1;
    }
    if (log_json) {
        char json[LOG_LINE_MAX];
        size_t jlen = logfmt_to_json(line, len, json, sizeof(json) - 1);
        json[jlen++] = '\n';
        write_all(STDERR_FILENO, json, jlen);
        errno = saved_errno;
        return;
    }
    line[len++] = '\n';
    write_all(STDERR_FILENO, line, len);
    errno = saved_errno;
}
