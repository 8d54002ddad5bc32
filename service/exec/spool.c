/* Document spools (see spool.h): memfd_create, write(2), then seals; a table of the spools' fds for
 * lanes_spool_usage(). */
#define _GNU_SOURCE
#include "spool.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define SPOOL_SEALS (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL)
#define SPOOL_NAME "lanes-doc" /* memfd_create()'s name, as /proc/PID/fd shows it */

/* The spools' memfds, for lanes_spool_usage(): an fd is live while fstat() on it still finds the
 * file it was created as (same device and inode); one its owner closed (or whose number now names
 * another file) is dropped at the next walk. Walked at every init too, so the table holds the live
 * spools plus those closed since the last init or usage call. */
typedef struct live_spool {
    int fd;
    dev_t dev;
    ino_t ino;
} live_spool_t;

static pthread_mutex_t g_live_mu = PTHREAD_MUTEX_INITIALIZER;
static live_spool_t *g_live;
static size_t g_live_n, g_live_cap;

static int live_same(const live_spool_t *l, struct stat *st)
{
    return fstat(l->fd, st) == 0 && st->st_dev == l->dev && st->st_ino == l->ino;
}

/* Drops closed entries, then adds fd (not added when out of memory: it is then not counted). */
static void live_add(int fd)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return;
    pthread_mutex_lock(&g_live_mu);
    size_t keep = 0;
    for (size_t i = 0; i < g_live_n; i++) {
        struct stat other;
        if (g_live[i].fd != fd && live_same(&g_live[i], &other))
            g_live[keep++] = g_live[i];
    }
    g_live_n = keep;
    if (g_live_n == g_live_cap) {
        size_t cap = g_live_cap ? 2 * g_live_cap : 16;
        live_spool_t *t = realloc(g_live, cap * sizeof *t);
        if (t) {
            g_live = t;
            g_live_cap = cap;
        }
    }
    if (g_live_n < g_live_cap)
        g_live[g_live_n++] = (live_spool_t){.fd = fd, .dev = st.st_dev, .ino = st.st_ino};
    pthread_mutex_unlock(&g_live_mu);
}

int lanes_spool_init(lanes_spool_t *s, const char *name, uint64_t max_bytes, lanes_error_t *err)
{
    memset(s, 0, sizeof *s);
    s->fd = -1;
    s->max_bytes = max_bytes;
    snprintf(s->name, sizeof s->name, "%s", name ? name : "");
    s->fd = memfd_create(SPOOL_NAME, MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (s->fd < 0)
        return lanes_error_set(err, LANES_ENOMEM, "memfd_create() for document '%s' failed: %s", s->name,
                               strerror(errno));
    live_add(s->fd);
    return 0;
}

int lanes_spool_append(lanes_spool_t *s, const void *data, size_t len, lanes_error_t *err)
{
    if (s->fd < 0)
        return lanes_error_set(err, LANES_EINVAL, "document '%s': append after finish", s->name);
    if (len > s->max_bytes || s->len > s->max_bytes - len)
        return lanes_error_set(err, LANES_EINVAL, "document '%s' is larger than the maximum of %llu bytes "
                               "(max_doc_bytes)", s->name, (unsigned long long)s->max_bytes);
    const char *p = data;
    while (len > 0) {
        ssize_t w = write(s->fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return lanes_error_set(err, LANES_ENOMEM, "write() of document '%s' to its memfd failed: %s", s->name,
                                   w < 0 ? strerror(errno) : "no progress");
        p += w;
        len -= (size_t)w;
        s->len += (uint64_t)w;
    }
    return 0;
}

int lanes_spool_finish(lanes_spool_t *s, int *fd, uint64_t *len, lanes_error_t *err)
{
    if (s->fd < 0)
        return lanes_error_set(err, LANES_EINVAL, "document '%s': finished twice", s->name);
    if (fcntl(s->fd, F_ADD_SEALS, SPOOL_SEALS) != 0)
        return lanes_error_set(err, LANES_EINVAL, "fcntl(F_ADD_SEALS) on document '%s' failed: %s", s->name,
                               strerror(errno));
    *fd = s->fd;
    *len = s->len;
    s->fd = -1;
    return 0;
}

void lanes_spool_free(lanes_spool_t *s)
{
    if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
}

int lanes_spool_from_bytes(const char *name, const void *data, size_t len, lanes_error_t *err)
{
    lanes_spool_t s;
    int fd = -1;
    uint64_t n = 0;
    int rc = lanes_spool_init(&s, name, UINT64_MAX, err);
    if (rc == 0)
        rc = lanes_spool_append(&s, data, len, err);
    if (rc == 0)
        rc = lanes_spool_finish(&s, &fd, &n, err);
    lanes_spool_free(&s);
    return rc == 0 ? fd : rc;
}

int lanes_spool_usage(uint64_t *bytes, unsigned *files)
{
    *bytes = 0;
    *files = 0;
    pthread_mutex_lock(&g_live_mu);
    size_t keep = 0;
    for (size_t i = 0; i < g_live_n; i++) {
        struct stat st;
        if (!live_same(&g_live[i], &st))
            continue; /* its owner closed it */
        *bytes += (uint64_t)st.st_blocks * 512u;
        (*files)++;
        g_live[keep++] = g_live[i];
    }
    g_live_n = keep;
    pthread_mutex_unlock(&g_live_mu);
    return 0;
}
