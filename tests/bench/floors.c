/* floors.c: what one message between two processes costs on this machine, the floor under each
 * hop of a tools/call through mcpgw (router -> worker -> router is two such hops). Two processes
 * play ping-pong with a small message, one at a time, and the round trip is timed:
 *   unix       a unix stream socketpair, blocking read/write (the least two processes can do)
 *   nng        nng 1.5.2 PUSH/PULL over ipc, blocking nng_sendmsg / nng_recvmsg
 *   nng-poll   the same, the way mcpgw's loops do it: poll(2) on NNG_OPT_RECVFD, then a
 *              non-blocking receive (what the thread hand-offs behind that fd cost)
 * For each: round trips, p50 and p99 in µs, and CPU per round trip in µs (user + system of both
 * processes, every thread, from getrusage). A benchmark, not a test: tests/bench/floors builds it
 * with -O2 and runs it.
 *   floors [--rounds N] [--size BYTES] [--mode unix|nng|nng-poll]... */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/pipeline0/pull.h>
#include <nng/protocol/pipeline0/push.h>

#define WARMUP 1000
#define MAX_SIZE 65536

typedef struct channel {
    int fd;        /* unix: the socket */
    nng_socket in; /* nng: this side's PULL (listening) */
    nng_socket out;
    int in_fd; /* nng-poll: NNG_OPT_RECVFD of in */
} channel_t;

typedef enum { MODE_UNIX, MODE_NNG, MODE_NNG_POLL } mode_t_;

static const char *mode_names[] = {"unix", "nng", "nng-poll"};

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t cpu_us(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (int64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000 + ru.ru_utime.tv_usec +
           ru.ru_stime.tv_usec;
}

static void die(const char *what, int rv)
{
    fprintf(stderr, "floors: %s: %s\n", what, rv != 0 ? nng_strerror(rv) : strerror(errno));
    exit(1);
}

static int full_io(int fd, char *p, size_t n, int writing)
{
    while (n > 0) {
        ssize_t k = writing ? write(fd, p, n) : read(fd, p, n);
        if (k <= 0) {
            if (k < 0 && errno == EINTR) {
                continue;
            }
            return -1;
        }
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

static void send_one(mode_t_ mode, channel_t *c, char *buf, size_t size)
{
    if (mode == MODE_UNIX) {
        if (full_io(c->fd, buf, size, 1) != 0) {
            die("write", 0);
        }
        return;
    }
    int rv = nng_send(c->out, buf, size, 0);
    if (rv != 0) {
        die("nng_send", rv);
    }
}

static void recv_one(mode_t_ mode, channel_t *c, char *buf, size_t size)
{
    if (mode == MODE_UNIX) {
        if (full_io(c->fd, buf, size, 0) != 0) {
            die("read", 0);
        }
        return;
    }
    size_t n = MAX_SIZE;
    if (mode == MODE_NNG) {
        int rv = nng_recv(c->in, buf, &n, 0);
        if (rv != 0) {
            die("nng_recv", rv);
        }
        return;
    }
    for (;;) {
        int rv = nng_recv(c->in, buf, &n, NNG_FLAG_NONBLOCK);
        if (rv == 0) {
            return;
        }
        if (rv != NNG_EAGAIN) {
            die("nng_recv", rv);
        }
        struct pollfd p = {.fd = c->in_fd, .events = POLLIN};
        (void)poll(&p, 1, 1000);
    }
}

/* This side's PULL on <dir>/<mine>.ipc and PUSH to <dir>/<theirs>.ipc. */
static void nng_side(channel_t *c, const char *dir, const char *mine, const char *theirs)
{
    char url[256];
    int rv;
    snprintf(url, sizeof(url), "ipc://%s/%s.ipc", dir, mine);
    if ((rv = nng_pull0_open(&c->in)) != 0 || (rv = nng_listen(c->in, url, NULL, 0)) != 0) {
        die("listen", rv);
    }
    snprintf(url, sizeof(url), "ipc://%s/%s.ipc", dir, theirs);
    if ((rv = nng_push0_open(&c->out)) != 0 ||
        (rv = nng_setopt_ms(c->out, NNG_OPT_RECONNMINT, 1)) != 0 ||
        (rv = nng_dial(c->out, url, NULL, NNG_FLAG_NONBLOCK)) != 0) {
        die("dial", rv);
    }
    if ((rv = nng_getopt_int(c->in, NNG_OPT_RECVFD, &c->in_fd)) != 0) {
        die("recvfd", rv);
    }
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static void run(mode_t_ mode, int rounds, size_t size)
{
    char dir[] = "/tmp/mcpgw-floors-XXXXXX";
    int sv[2] = {-1, -1};
    int report[2];
    if (mkdtemp(dir) == NULL || pipe(report) != 0) {
        die("setup", 0);
    }
    if (mode == MODE_UNIX && socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) {
        die("socketpair", 0);
    }
    pid_t pid = fork();
    if (pid < 0) {
        die("fork", 0);
    }
    char *buf = calloc(1, MAX_SIZE);
    channel_t c = {.fd = -1};
    if (pid == 0) { /* the echoing side */
        close(report[0]);
        if (mode == MODE_UNIX) {
            close(sv[0]);
            c.fd = sv[1];
        } else {
            nng_side(&c, dir, "pong", "ping");
        }
        int64_t cpu0 = 0;
        for (int i = 0; i < WARMUP + rounds; i++) {
            if (i == WARMUP) {
                cpu0 = cpu_us();
            }
            recv_one(mode, &c, buf, size);
            send_one(mode, &c, buf, size);
        }
        int64_t cpu = cpu_us() - cpu0;
        if (write(report[1], &cpu, sizeof(cpu)) != sizeof(cpu)) {
            _exit(1);
        }
        /* let the last message leave before the sockets go */
        usleep(100000);
        _exit(0);
    }
    close(report[1]);
    if (mode == MODE_UNIX) {
        close(sv[1]);
        c.fd = sv[0];
    } else {
        nng_side(&c, dir, "ping", "pong");
    }
    int64_t *lat = calloc((size_t)rounds, sizeof(*lat));
    int64_t cpu0 = 0;
    for (int i = 0; i < WARMUP + rounds; i++) {
        if (i == WARMUP) {
            cpu0 = cpu_us();
        }
        int64_t t0 = now_ns();
        send_one(mode, &c, buf, size);
        recv_one(mode, &c, buf, size);
        if (i >= WARMUP) {
            lat[i - WARMUP] = now_ns() - t0;
        }
    }
    int64_t cpu = cpu_us() - cpu0;
    int64_t child_cpu = 0;
    if (read(report[0], &child_cpu, sizeof(child_cpu)) != sizeof(child_cpu)) {
        die("child report", 0);
    }
    waitpid(pid, NULL, 0);
    qsort(lat, (size_t)rounds, sizeof(*lat), cmp_i64);
    printf("FLOOR mode=%s rounds=%d size=%zu p50_us=%.1f p99_us=%.1f cpu_us=%.1f\n",
           mode_names[mode], rounds, size, lat[rounds / 2] / 1000.0,
           lat[(size_t)rounds * 99 / 100] / 1000.0, (double)(cpu + child_cpu) / rounds);
    if (mode != MODE_UNIX) {
        nng_close(c.in);
        nng_close(c.out);
        char path[300];
        snprintf(path, sizeof(path), "%s/ping.ipc", dir);
        unlink(path);
        snprintf(path, sizeof(path), "%s/pong.ipc", dir);
        unlink(path);
    } else {
        close(c.fd);
    }
    rmdir(dir);
    free(lat);
    free(buf);
}

int main(int argc, char **argv)
{
    int rounds = 20000;
    size_t size = 512;
    int modes[3] = {0, 0, 0};
    int any = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc) {
            rounds = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--size") == 0 && i + 1 < argc) {
            size = (size_t)atoi(argv[++i]);
        } else if (strcmp(argv[i], "--mode") == 0 && i + 1 < argc) {
            i++;
            for (int m = 0; m < 3; m++) {
                if (strcmp(argv[i], mode_names[m]) == 0) {
                    modes[m] = any = 1;
                }
            }
        } else {
            fprintf(stderr,
                    "usage: floors [--rounds N] [--size BYTES] [--mode unix|nng|nng-poll]...\n");
            return 2;
        }
    }
    if (rounds < 100 || size < 1 || size > MAX_SIZE) {
        fprintf(stderr, "floors: --rounds at least 100, --size 1..%d\n", MAX_SIZE);
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    /* nng refuses to be used on both sides of a fork (it panics): each mode runs in a process of
     * its own that forks its echoing side before either touches nng */
    int failed = 0;
    for (int m = 0; m < 3; m++) {
        if (any && !modes[m]) {
            continue;
        }
        pid_t pid = fork();
        if (pid == 0) {
            run((mode_t_)m, rounds, size);
            exit(0);
        }
        int status = 0;
        if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
            WEXITSTATUS(status) != 0) {
            failed = 1;
        }
    }
    return failed;
}
