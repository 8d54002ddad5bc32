/* Document spools (see spool.h): memfd_create, write(2), then seals. */
#define _GNU_SOURCE
#include "spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define SPOOL_SEALS (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL)
/* memfd_create()'s name, as /proc/self/fd shows it ("/memfd:lanes-doc (deleted)"). */
#define SPOOL_NAME "lanes-doc"
#define SPOOL_LINK "/memfd:" SPOOL_NAME " "

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
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return -1;
    const int self = dirfd(d);
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        char *end;
        long fd = strtol(e->d_name, &end, 10);
        if (*end || end == e->d_name || fd < 0 || fd == self)
            continue;
        char link[64];
        ssize_t n = readlinkat(self, e->d_name, link, sizeof link - 1);
        if (n <= 0)
            continue;
        link[n] = 0;
        if (strncmp(link, SPOOL_LINK, sizeof SPOOL_LINK - 1) != 0)
            continue;
        struct stat st;
        if (fstat((int)fd, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        *bytes += (uint64_t)st.st_blocks * 512u;
        (*files)++;
    }
    closedir(d);
    return 0;
}
