/* signals_test.c: the signal self-pipe: a raised signal makes the pipe readable and is taken
 * once; errno survives the handler; the default action comes back at close. */
#include <config.h>

#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "common/signals.h"

static int readable(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    return poll(&p, 1, 0) == 1;
}

static void test_raise_take(void **state)
{
    (void)state;
    gw_signals_t s;
    const int sigs[] = {SIGUSR1, SIGUSR2};
    assert_int_equal(gw_signals_open(&s, sigs, 2), GW_OK);
    assert_false(readable(gw_signals_fd(&s)));
    assert_int_equal(gw_signals_take(&s), 0);

    errno = EBADF;
    raise(SIGUSR1);
    assert_int_equal(errno, EBADF);
    raise(SIGUSR1);
    raise(SIGUSR2);
    assert_true(readable(gw_signals_fd(&s)));
    assert_int_equal(gw_signals_take(&s), GW_SIGBIT(SIGUSR1) | GW_SIGBIT(SIGUSR2));
    assert_false(readable(gw_signals_fd(&s)));
    assert_int_equal(gw_signals_take(&s), 0);

    /* SIGPIPE is ignored: raising it does not end the test */
    raise(SIGPIPE);
    gw_signals_close(&s);
    assert_int_equal(gw_signals_fd(&s), -1);
    struct sigaction sa;
    sigaction(SIGUSR1, NULL, &sa);
    assert_ptr_equal(sa.sa_handler, SIG_DFL);
}

static void test_bad_signal(void **state)
{
    (void)state;
    gw_signals_t s;
    const int sigs[] = {64};
    assert_int_equal(gw_signals_open(&s, sigs, 1), GW_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_raise_take),
        cmocka_unit_test(test_bad_signal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
