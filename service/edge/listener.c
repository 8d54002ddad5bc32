/* Listening sockets, the accept thread and the connection budget (see listener.h for the design). */
#define _GNU_SOURCE
#include "listener.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

#define MAX_LISTENERS 8
#define PEER_CAP 64

/* A kept connection, in a table indexed by its descriptor number (small and dense). */
typedef struct conn {
    int used;
    ino_t ino;      /* the socket's inode: tells our connection from a reused descriptor number */
    char peer[PEER_CAP];
} conn_t;

#define PRUNE_EVERY 256 /* accepts between full scans (a scan also runs before any refusal) */

static struct {
    int fds[MAX_LISTENERS];
    int n_fds;
    int wake[2];            /* a pipe: stop writes a byte */
    int reserve_fd;         /* held open to be released when accept4 fails with EMFILE */
    pthread_t thread;
    int started;
    lanes_listener_conn_fn on_connection;
    void *arg;
    char listen[256];
    long nofile;            /* RLIMIT_NOFILE soft limit */
    int fd_reserve;         /* descriptors kept free for everything else */
    int limit;              /* effective max connections */
    pthread_mutex_t mu;     /* guards conns, n_conns, n_open, refused, accepts */
    conn_t *conns;          /* indexed by fd; n_conns entries */
    int n_conns;
    int n_open;
    unsigned accepts;
    unsigned long long refused;
    unsigned long long refused_in_burst;
    int in_burst;           /* a refusal was logged and no connection has been kept since */
    int emfile_logged;
} L = {.n_fds = 0, .wake = {-1, -1}, .reserve_fd = -1, .mu = PTHREAD_MUTEX_INITIALIZER};

long lanes_listener_raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return 1024;
    if (rl.rlim_cur < rl.rlim_max) {
        rlim_t old = rl.rlim_cur;
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) == 0)
            lanes_log(LANES_LOG_INFO, 0, "raised the open-file limit (RLIMIT_NOFILE) from %llu to its hard limit %llu",
                      (unsigned long long)old, (unsigned long long)rl.rlim_max);
        else
            lanes_log(LANES_LOG_WARN, errno, "setrlimit(RLIMIT_NOFILE) to %llu failed", (unsigned long long)rl.rlim_max);
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    return rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > (1L << 30) ? (1L << 30) : (long)rl.rlim_cur;
}

/* Descriptors this process has open now (/proc/self/fd, less the directory's own). */
static int count_open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n - 1;
}

/* With L.mu held: forgets connections whose descriptor gRPC has closed. */
static void prune_locked(void)
{
    for (int fd = 0; fd < L.n_conns; fd++) {
        conn_t *c = &L.conns[fd];
        if (!c->used)
            continue;
        struct stat st;
        if (fstat(fd, &st) != 0 || st.st_ino != c->ino || !S_ISSOCK(st.st_mode)) {
            c->used = 0;
            L.n_open--;
        }
    }
}

/* With L.mu held: makes room for descriptor fd in the table. Returns 0 or -1 (out of memory). */
static int grow_locked(int fd)
{
    if (fd < L.n_conns)
        return 0;
    int n = L.n_conns ? L.n_conns : 64;
    while (n <= fd)
        n *= 2;
    conn_t *t = realloc(L.conns, sizeof *t * (size_t)n);
    if (!t)
        return -1;
    memset(t + L.n_conns, 0, sizeof *t * (size_t)(n - L.n_conns));
    L.conns = t;
    L.n_conns = n;
    return 0;
}

static void format_peer(const struct sockaddr_storage *ss, char *buf, size_t cap)
{
    char host[NI_MAXHOST], serv[NI_MAXSERV];
    if (getnameinfo((const struct sockaddr *)ss, ss->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                                                           : sizeof(struct sockaddr_in),
                    host, sizeof host, serv, sizeof serv, NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
        snprintf(buf, cap, "unknown peer");
        return;
    }
    snprintf(buf, cap, ss->ss_family == AF_INET6 ? "[%s]:%s" : "%s:%s", host, serv);
}

/* Keeps or refuses one accepted connection. Accept thread. */
static void take_connection(int fd, const struct sockaddr_storage *ss)
{
    char peer[PEER_CAP];
    format_peer(ss, peer, sizeof peer);
    struct stat st;
    if (fstat(fd, &st) != 0) {
        close(fd);
        return;
    }
    pthread_mutex_lock(&L.mu);
    /* A descriptor number we still list belongs to a connection gRPC has closed. */
    if (fd < L.n_conns && L.conns[fd].used) {
        L.conns[fd].used = 0;
        L.n_open--;
    }
    if (L.n_open >= L.limit || ++L.accepts % PRUNE_EVERY == 0)
        prune_locked();
    /* Descriptors are counted (a walk of /proc/self/fd) only once connections hold half the budget. */
    int open_fds = L.n_open * 2 >= L.limit ? count_open_fds() : -1;
    const char *why = NULL;
    char whybuf[200];
    if (L.n_open >= L.limit) {
        snprintf(whybuf, sizeof whybuf, "%d connections are open, the limit (max_connections) is %d", L.n_open,
                 L.limit);
        why = whybuf;
    } else if (open_fds >= 0 && open_fds + L.fd_reserve > L.nofile) {
        snprintf(whybuf, sizeof whybuf,
                 "%d descriptors are open and %d are kept free below the open-file limit %ld (raise it: ulimit -n)",
                 open_fds, L.fd_reserve, L.nofile);
        why = whybuf;
    }
    if (why) {
        L.refused++;
        L.refused_in_burst++;
        int first = !L.in_burst;
        L.in_burst = 1;
        pthread_mutex_unlock(&L.mu);
        close(fd);
        if (first)
            lanes_log(LANES_LOG_WARN, 0, "refusing new connections (the first from %s): %s", peer, why);
        return;
    }
    if (grow_locked(fd) != 0) {
        pthread_mutex_unlock(&L.mu);
        close(fd);
        lanes_log(LANES_LOG_ERR, 0, "out of memory for the connection table: closed a connection from %s", peer);
        return;
    }
    L.conns[fd].used = 1;
    L.conns[fd].ino = st.st_ino;
    snprintf(L.conns[fd].peer, sizeof L.conns[fd].peer, "%s", peer);
    L.n_open++;
    unsigned long long burst = L.in_burst ? L.refused_in_burst : 0;
    L.in_burst = 0;
    L.refused_in_burst = 0;
    L.emfile_logged = 0;
    pthread_mutex_unlock(&L.mu);
    if (burst)
        lanes_log(LANES_LOG_WARN, 0, "accepting connections again (%llu refused since the limit was reached)", burst);
    if (ss->ss_family == AF_INET || ss->ss_family == AF_INET6) {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    L.on_connection(fd, peer, L.arg);
}

/* accept4 failed with EMFILE/ENFILE: release the reserve descriptor, accept and close the waiting
 * connection, take the reserve back. Returns 0 if the backlog moved, -1 if it could not. */
static int shed_one(int lfd)
{
    int why = errno;
    pthread_mutex_lock(&L.mu);
    int first = !L.emfile_logged;
    L.emfile_logged = 1;
    L.refused++;
    pthread_mutex_unlock(&L.mu);
    if (first)
        lanes_log(LANES_LOG_WARN, why, "accept4() failed: closing new connections until descriptors are free");
    if (L.reserve_fd < 0)
        return -1;
    close(L.reserve_fd);
    int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    if (fd >= 0)
        close(fd);
    L.reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    return fd >= 0 ? 0 : -1;
}

static void *accept_main(void *arg)
{
    (void)arg;
    struct pollfd pfd[MAX_LISTENERS + 1];
    for (;;) {
        int n = 0;
        pfd[n++] = (struct pollfd){.fd = L.wake[0], .events = POLLIN};
        for (int i = 0; i < L.n_fds; i++)
            pfd[n++] = (struct pollfd){.fd = L.fds[i], .events = POLLIN};
        int backoff = 0;
        if (poll(pfd, (nfds_t)n, -1) < 0) {
            if (errno == EINTR)
                continue;
            lanes_log(LANES_LOG_ERR, errno, "poll() of the listening sockets failed");
            backoff = 1;
        }
        if (pfd[0].revents)
            break;
        for (int i = 1; i < n && !backoff; i++) {
            if (!(pfd[i].revents & POLLIN))
                continue;
            for (int k = 0; k < 64; k++) { /* a bounded batch per socket, then poll again */
                struct sockaddr_storage ss;
                socklen_t sl = sizeof ss;
                int fd = accept4(pfd[i].fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
                if (fd >= 0) {
                    take_connection(fd, &ss);
                    continue;
                }
                if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO || errno == EPERM)
                    continue;
                if (errno == EAGAIN || errno == EWOULDBLOCK)
                    break;
                if ((errno == EMFILE || errno == ENFILE) && shed_one(pfd[i].fd) == 0)
                    continue;
                lanes_log(LANES_LOG_WARN, errno, "accept4() failed");
                backoff = 1;
                break;
            }
        }
        if (backoff) {
            /* Out of memory or descriptors with nothing to release: wait a little (or for stop). */
            struct pollfd w = {.fd = L.wake[0], .events = POLLIN};
            if (poll(&w, 1, 100) > 0)
                break;
            if (L.reserve_fd < 0)
                L.reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        }
    }
    return NULL;
}

/* Splits "HOST:PORT" / "[V6]:PORT" into host and port. Returns 0 or -1. */
static int split_address(const char *listen, char *host, size_t host_cap, char *port, size_t port_cap)
{
    const char *colon = strrchr(listen, ':');
    if (!colon || !colon[1])
        return -1;
    const char *h = listen;
    size_t hl = (size_t)(colon - listen);
    if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') {
        h++;
        hl -= 2;
    } else if (memchr(h, ':', hl)) {
        return -1; /* a bare IPv6 address needs brackets */
    }
    if (hl >= host_cap || strlen(colon + 1) >= port_cap)
        return -1;
    memcpy(host, h, hl);
    host[hl] = 0;
    snprintf(port, port_cap, "%s", colon + 1);
    for (const char *p = port; *p; p++)
        if (*p < '0' || *p > '9')
            return -1;
    return 0;
}

static int bound_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0)
        return 0;
    return ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                          : ((struct sockaddr_in *)&ss)->sin_port);
}

static void close_listeners(void)
{
    for (int i = 0; i < L.n_fds; i++)
        close(L.fds[i]);
    L.n_fds = 0;
}

int lanes_listener_open(const char *address, int max_connections, int *port, char *err, size_t err_cap)
{
    char host[256], serv[16];
    snprintf(L.listen, sizeof L.listen, "%s", address);
    if (split_address(address, host, sizeof host, serv, sizeof serv) != 0) {
        snprintf(err, err_cap, "cannot listen on %s: not an address of the form HOST:PORT or [IPV6]:PORT", address);
        return -1;
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE};
    struct addrinfo *res = NULL;
    int gai = getaddrinfo(host[0] ? host : NULL, serv, &hints, &res);
    if (gai != 0) {
        snprintf(err, err_cap, "cannot listen on %s: %s", address, gai_strerror(gai));
        return -1;
    }
    int the_port = atoi(serv);
    int first_errno = 0, has_v4 = 0;
    for (struct addrinfo *a = res; a; a = a->ai_next)
        has_v4 |= a->ai_family == AF_INET;
    for (struct addrinfo *a = res; a && L.n_fds < MAX_LISTENERS; a = a->ai_next) {
        if (a->ai_family != AF_INET && a->ai_family != AF_INET6)
            continue;
        if (the_port) {
            if (a->ai_family == AF_INET)
                ((struct sockaddr_in *)a->ai_addr)->sin_port = htons((uint16_t)the_port);
            else
                ((struct sockaddr_in6 *)a->ai_addr)->sin6_port = htons((uint16_t)the_port);
        }
        int fd = socket(a->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            first_errno = first_errno ? first_errno : errno;
            continue;
        }
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one); /* never SO_REUSEPORT */
        if (a->ai_family == AF_INET6 && has_v4) /* both families listed: one socket each */
            setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
        if (bind(fd, a->ai_addr, a->ai_addrlen) != 0 || listen(fd, SOMAXCONN) != 0) {
            first_errno = first_errno ? first_errno : errno;
            close(fd);
            continue;
        }
        the_port = bound_port(fd);
        L.fds[L.n_fds++] = fd;
    }
    freeaddrinfo(res);
    if (L.n_fds == 0) {
        const char *why = first_errno == EADDRINUSE      ? "address in use"
                          : first_errno == EADDRNOTAVAIL ? "no such address on this machine"
                          : first_errno == EACCES        ? "permission denied (ports below 1024 need privileges)"
                                                         : strerror(first_errno ? first_errno : EINVAL);
        snprintf(err, err_cap, "cannot listen on %s: %s", address, why);
        return -1;
    }
    L.nofile = lanes_listener_raise_nofile();
    L.fd_reserve = (int)(L.nofile / 16 > 16 ? (L.nofile / 16 < 1024 ? L.nofile / 16 : 1024) : 16);
    long by_fds = L.nofile - L.fd_reserve - 16; /* 16: what an idle daemon holds itself */
    if (by_fds < 1)
        by_fds = 1;
    L.limit = max_connections > 0 && max_connections < by_fds ? max_connections : (int)by_fds;
    if (pipe2(L.wake, O_CLOEXEC) != 0) {
        snprintf(err, err_cap, "cannot listen on %s: pipe2() failed: %s", address, strerror(errno));
        close_listeners();
        return -1;
    }
    L.reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    *port = the_port;
    return 0;
}

int lanes_listener_start(lanes_listener_conn_fn on_connection, void *arg, char *err, size_t err_cap)
{
    L.on_connection = on_connection;
    L.arg = arg;
    int rc = pthread_create(&L.thread, NULL, accept_main, NULL);
    if (rc != 0) {
        snprintf(err, err_cap, "pthread_create() of the accept thread failed: %s", strerror(rc));
        return -1;
    }
    L.started = 1;
    lanes_log(LANES_LOG_DEBUG, 0, "accepting at most %d connections on %s (open-file limit %ld, %d kept free)",
              L.limit, L.listen, L.nofile, L.fd_reserve);
    return 0;
}

void lanes_listener_stop(void)
{
    if (!L.started)
        return;
    L.started = 0;
    char b = 1;
    if (write(L.wake[1], &b, 1) != 1)
        lanes_log(LANES_LOG_ERR, errno, "write() to the accept thread's pipe failed");
    pthread_join(L.thread, NULL);
    close_listeners();
    close(L.wake[0]);
    close(L.wake[1]);
    if (L.reserve_fd >= 0)
        close(L.reserve_fd);
    L.reserve_fd = -1;
}

void lanes_listener_peer(const char *grpc_peer, char *buf, size_t cap)
{
    buf[0] = 0;
    if (!grpc_peer || strncmp(grpc_peer, "fd:", 3) != 0)
        return;
    int fd = atoi(grpc_peer + 3);
    pthread_mutex_lock(&L.mu);
    if (fd >= 0 && fd < L.n_conns && L.conns[fd].used)
        snprintf(buf, cap, "%s", L.conns[fd].peer);
    pthread_mutex_unlock(&L.mu);
}

void lanes_listener_connections(int *open, int *limit, unsigned long long *refused)
{
    pthread_mutex_lock(&L.mu);
    prune_locked();
    *open = L.n_open;
    *limit = L.limit;
    *refused = L.refused;
    pthread_mutex_unlock(&L.mu);
}
