/* Starting helper processes of the daemon (the process pool's workers, the GPU workers) safely. The
 * supervisor (supervisor.h) is its one caller: it greets, reaps, describes and respawns them.
 *
 * Design: the daemon has gRPC, OpenMP and pool threads by the time it starts helpers, so it never
 * forks bare: it posix_spawn()s its own binary in a worker mode, with one end of a SOCK_SEQPACKET
 * socketpair as a numbered fd, stdin from /dev/null, every other fd closed, and signals reset (the
 * daemon blocks SIGTERM/SIGINT and ignores SIGPIPE; a helper starts clean). The helper asks for
 * SIGKILL when the spawning thread ends (PR_SET_PDEATHSIG, in the helper's own main).
 */
#ifndef LANES_HELPER_SPAWN_H
#define LANES_HELPER_SPAWN_H

#include <stddef.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Spawns 'exe' with argv = {argv0, mode, FD, args..., NULL}, where FD is the number of the child's end
 * of a new socketpair (args: NULL-terminated, may be empty). On success returns 0 with the daemon's
 * end (close-on-exec) in *sock and the child's pid in *pid; else -1 with a message naming 'what'.
 * Thread-safe (the child dies with the calling thread if it sets PDEATHSIG). */
int lanes_spawn_helper(const char *exe, const char *argv0, const char *mode, const char *const *args,
                       const char *what, int *sock, pid_t *pid, char *err, size_t cap);

/* The binary helpers run from: 'exe', or this process's own (/proc/self/exe) when exe is NULL, into
 * path; and the argv[0] they show in ps: exe, or the path /proc/self/exe points to. Thread-safe. */
void lanes_spawn_exe(const char *exe, char *path, size_t path_cap, char *argv0, size_t argv0_cap);

/* Sets the calling process's name, the one ps, top, ss -p and pgrep -x show (at most 15 bytes: longer
 * names are cut), to 'name', or to the base name of this process's binary when name is NULL (the
 * daemon re-executes itself through /proc/self/exe, whose name would otherwise be "exe"). Call
 * early in main, before threads start: they inherit it. Returns 0 or -1 (errno set). */
int lanes_set_process_name(const char *name);

#ifdef __cplusplus
}
#endif

#endif /* LANES_HELPER_SPAWN_H */
