/* Spawning helper processes (see helper_spawn.h). */
#define _GNU_SOURCE
#include "helper_spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

extern char **environ;

#define PATH_MAX_NAME 16 /* the kernel's TASK_COMM_LEN */

int lanes_spawn_helper(const char *exe, const char *argv0, const char *mode, const char *const *args,
                       const char *what, int *sock, pid_t *pid, char *err, size_t cap)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
        snprintf(err, cap, "socketpair() for %s failed: %s", what, strerror(errno));
        return -1;
    }
    /* The child's end arrives as fd 3 (4 if it already is 3: dup2 onto itself would keep CLOEXEC). */
    int child_fd = sv[1] == 3 ? 4 : 3;
    char fd_arg[16];
    snprintf(fd_arg, sizeof fd_arg, "%d", child_fd);
    char *argv[16];
    size_t k = 0;
    argv[k++] = (char *)argv0;
    argv[k++] = (char *)mode;
    argv[k++] = fd_arg;
    for (size_t i = 0; args && args[i] && k < 15; i++)
        argv[k++] = (char *)args[i];
    argv[k] = NULL;

    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&attr);
    posix_spawn_file_actions_adddup2(&fa, sv[1], child_fd);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
    posix_spawn_file_actions_addclosefrom_np(&fa, child_fd + 1);
#endif
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    pid_t p = 0;
    int rc = posix_spawn(&p, exe, &fa, &attr, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    close(sv[1]);
    if (rc != 0) {
        close(sv[0]);
        snprintf(err, cap, "posix_spawn() of %s (%s) failed: %s", what, exe, strerror(rc));
        return -1;
    }
    *sock = sv[0];
    *pid = p;
    return 0;
}

void lanes_spawn_exe(const char *exe, char *path, size_t path_cap, char *argv0, size_t argv0_cap)
{
    const char *e = exe ? exe : "/proc/self/exe";
    snprintf(path, path_cap, "%s", e);
    ssize_t len = exe ? -1 : readlink(e, argv0, argv0_cap - 1);
    if (len > 0)
        argv0[len] = 0;
    else
        snprintf(argv0, argv0_cap, "%s", e);
}

int lanes_set_process_name(const char *name)
{
    char buf[PATH_MAX_NAME];
    if (!name) {
        char path[4096];
        ssize_t len = readlink("/proc/self/exe", path, sizeof path - 1);
        if (len <= 0)
            return -1;
        path[len] = 0;
        /* A binary replaced on disk while running reads "/path/lanesd (deleted)". */
        char *deleted = strstr(path, " (deleted)");
        if (deleted && deleted[10] == 0)
            *deleted = 0;
        const char *slash = strrchr(path, '/');
        const char *base = slash ? slash + 1 : path;
        size_t n = strlen(base) < sizeof buf - 1 ? strlen(base) : sizeof buf - 1; /* the kernel cuts it too */
        memcpy(buf, base, n);
        buf[n] = 0;
        name = buf;
    }
    return prctl(PR_SET_NAME, (unsigned long)name, 0, 0, 0);
}
