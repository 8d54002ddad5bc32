/* The helper supervisor (see supervisor.h): spawn, hello, reap, describe, back-off.
 *
 * Design: stateless apart from what the caller passes in: the pools own the helper and back-off
 * structs and their locking, so each keeps its own threads (the process pool's manager polls every
 * socket at once and calls lanes_supervisor_hello() once one is readable; the GPU pool's monitor
 * waits for one hello at a time). Reaping with a grace deadline polls waitpid(WNOHANG) every
 * millisecond: the process pool's stop only, where idle helpers take a moment to see EOF; without a
 * deadline (kill now, or wait for its own exit) it blocks in waitpid().
 */
#define _GNU_SOURCE
#include "supervisor.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "fdpass.h"
#include "helper_spawn.h"

#define HELLO_TIMEOUT_NS ((uint64_t)LANES_SUPERVISOR_HELLO_TIMEOUT_S * 1000000000u)
#define QUICK_DEATH_NS (1000ull * 1000000u) /* a helper that lived less died "at once" */
#define BACKOFF_MIN_NS (100ull * 1000000u)
#define BACKOFF_MAX_NS (5000ull * 1000000u)

void lanes_supervisor_init(lanes_supervisor_t *s, const char *exe, const char *mode)
{
    lanes_spawn_exe(exe, s->exe, sizeof s->exe, s->argv0, sizeof s->argv0);
    s->mode = mode;
}

void lanes_supervisor_helper_init(lanes_supervisor_helper_t *h)
{
    h->pid = 0;
    h->fd = -1;
    h->spawned_ns = 0;
}

int lanes_supervisor_spawn(const lanes_supervisor_t *s, lanes_supervisor_helper_t *h, const char *const *args,
                           const char *what, char *err, size_t cap)
{
    lanes_supervisor_helper_init(h);
    int fd = -1;
    pid_t pid = 0;
    if (lanes_spawn_helper(s->exe, s->argv0, s->mode, args, what, &fd, &pid, err, cap) != 0)
        return -1;
    h->pid = pid;
    h->fd = fd;
    h->spawned_ns = lanes_now_ns();
    return 0;
}

uint64_t lanes_supervisor_hello_deadline(const lanes_supervisor_helper_t *h)
{
    return h->spawned_ns + HELLO_TIMEOUT_NS;
}

lanes_supervisor_hello_result_t lanes_supervisor_hello(const lanes_supervisor_helper_t *h, void *buf, size_t len)
{
    struct pollfd pfd = {.fd = h->fd, .events = POLLIN};
    int pr;
    do {
        uint64_t now = lanes_now_ns(), deadline = lanes_supervisor_hello_deadline(h);
        int ms = deadline > now ? (int)((deadline - now + 999999) / 1000000) : 0;
        pr = poll(&pfd, 1, ms);
    } while (pr < 0 && errno == EINTR);
    if (pr == 0)
        return LANES_SUPERVISOR_HELLO_LATE;
    if (pr < 0)
        return LANES_SUPERVISOR_HELLO_ENDED;
    int xfd = -1;
    ssize_t n = lanes_fdpass_recv(h->fd, buf, len, &xfd);
    if (xfd >= 0)
        close(xfd);
    if (n == 0 || (n < 0 && errno != EMSGSIZE))
        return LANES_SUPERVISOR_HELLO_ENDED;
    return n == (ssize_t)len ? LANES_SUPERVISOR_HELLO_OK : LANES_SUPERVISOR_HELLO_MALFORMED;
}

void lanes_supervisor_ask_exit(const lanes_supervisor_helper_t *h)
{
    if (h->fd >= 0)
        shutdown(h->fd, SHUT_RDWR);
}

int lanes_supervisor_reap(lanes_supervisor_helper_t *h, uint64_t deadline_ns, char *how, size_t cap)
{
    pid_t pid = h->pid;
    int status = 0, known = 0;
    if (pid > 0) {
        int killed = 0;
        for (;;) {
            if (!killed && (deadline_ns == 0 || lanes_now_ns() > deadline_ns)) {
                kill(pid, SIGKILL);
                killed = 1;
            }
            pid_t r = waitpid(pid, &status, killed || deadline_ns == UINT64_MAX ? 0 : WNOHANG);
            if (r == pid) {
                known = 1;
                break;
            }
            if (r < 0 && errno != EINTR)
                break;
            if (r == 0) {
                struct timespec ms = {0, 1000000};
                nanosleep(&ms, NULL);
            }
        }
    }
    if (how)
        lanes_supervisor_describe_exit(status, known, how, cap);
    if (h->fd >= 0)
        close(h->fd);
    h->fd = -1;
    h->pid = 0;
    return known && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

void lanes_supervisor_describe_exit(int status, int known, char *buf, size_t cap)
{
    if (!known)
        snprintf(buf, cap, "exited (status unknown)");
    else if (WIFSIGNALED(status)) {
        int sig = WTERMSIG(status);
        const char *abbrev = sigabbrev_np(sig);
        snprintf(buf, cap, "was killed by signal %d (SIG%s)%s", sig, abbrev ? abbrev : "?",
                 WCOREDUMP(status) ? ", core dumped" : "");
    } else if (WIFEXITED(status))
        snprintf(buf, cap, "exited with status %d", WEXITSTATUS(status));
    else
        snprintf(buf, cap, "ended with wait status 0x%x", (unsigned)status);
}

void lanes_supervisor_backoff(lanes_supervisor_backoff_t *b, uint64_t spawned_ns, uint64_t now_ns)
{
    if (spawned_ns != 0 && now_ns - spawned_ns >= QUICK_DEATH_NS) {
        b->respawn_ns = now_ns;
        b->quick_deaths = 0;
        return;
    }
    uint64_t delay = BACKOFF_MIN_NS << (b->quick_deaths < 6 ? b->quick_deaths : 6);
    b->respawn_ns = now_ns + (delay < BACKOFF_MAX_NS ? delay : BACKOFF_MAX_NS);
    b->quick_deaths++;
}
