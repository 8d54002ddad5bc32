/* lanesd configuration (see config.h): one table drives every source, validation and printing. */
#define _POSIX_C_SOURCE 200809L
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lanes/bytes.h"
#include "log.h"

/* CFG_INT_AUTO: an integer, or "auto" stored as -1. */
typedef enum { CFG_STRING, CFG_INT, CFG_INT_AUTO, CFG_BYTES, CFG_DOUBLE, CFG_LEVEL } cfg_type_t;

typedef struct cfg_key {
    const char *name;
    cfg_type_t type;
    size_t offset;
    size_t size;        /* strings: buffer size */
    double min, max;    /* numbers */
    const char *deflt;
    const char *help;
} cfg_key_t;

#define F(field) offsetof(lanes_config_t, field), sizeof(((lanes_config_t *)0)->field)

/* Default inline threshold: measured with lanes-bench-kernels on a 2-core machine (docs in README). */
static const cfg_key_t g_keys[] = {
    {"listen", CFG_STRING, F(listen), 0, 0, "127.0.0.1:50051", "address to serve on (host:port; port 0 picks one)"},
    {"port_file", CFG_STRING, F(port_file), 0, 0, "", "write the bound port to this file once listening"},
    {"threads", CFG_INT, F(threads), 0, 1024, "0", "OpenMP threads of one pool job (0: all online CPUs)"},
    {"pool_workers", CFG_INT, F(pool_workers), 1, 64, "1", "pool jobs that run at the same time"},
    {"cq_threads", CFG_INT, F(cq_threads), 1, 64, "2", "gRPC completion-queue threads"},
    {"max_calls", CFG_INT, F(max_calls), 1, 1000000, "1024",
     "concurrent job calls; more get RESOURCE_EXHAUSTED (Health and Info have a budget of their own)"},
    {"max_connections", CFG_INT, F(max_connections), 0, 1000000, "0",
     "open client connections; more are closed at once and logged (0: as many as the open-file limit allows)"},
    {"idle_timeout_seconds", CFG_DOUBLE, F(idle_timeout_seconds), 0, 86400, "300",
     "a stream that sends nothing (or reads no reply) for this long is ended with DEADLINE_EXCEEDED (0: never)"},
    {"chunk_bytes", CFG_BYTES, F(chunk_bytes), 4096, 4194304, "1MiB",
     "preferred chunk payload, and the largest reply payload per message"},
    {"max_message_bytes", CFG_BYTES, F(max_message_bytes), 65536, 1073741824, "4160KiB",
     "largest request message accepted (4 MiB of payload plus framing)"},
    {"inline_threshold", CFG_BYTES, F(inline_threshold), 0, 1e15, "16384",
     "chunks with fewer elements than this run inline, without the OpenMP pool (0: the cost model decides)"},
    {"grace_seconds", CFG_DOUBLE, F(grace_seconds), 0, 3600, "5", "on SIGTERM/SIGINT, time given to in-flight calls"},
    {"log_level", CFG_LEVEL, F(log_level), 0, 0, "info", "error, warn, info or debug"},
    {"proc_workers", CFG_INT_AUTO, F(proc_workers), 0, 64, "auto",
     "worker processes for Corpus documents (auto: online CPUs, at most 8; 0: no process pool)"},
    {"worker_memory_mb", CFG_INT, F(worker_memory_mb), 0, 1048576, "4096",
     "each worker process's memory for one document, in MiB (its mapping included; 0: no limit)"},
    {"worker_retries", CFG_INT, F(worker_retries), 0, 3, "1",
     "runs of a document again on a fresh worker after its worker crashed or was killed"},
    {"max_doc_bytes", CFG_BYTES, F(max_doc_bytes), 1, 68719476736.0, "1GiB", "largest document accepted (a Corpus document, a WordCount or WordAcf text)"},
    {"calibration_file", CFG_STRING, F(calibration_file), 0, 0, "",
     "the router's cost constants, written by lanesd --calibrate (a bad file is fatal at start)"},
    {"calibrate_at_start", CFG_INT, F(calibrate_at_start), 0, 1, "0",
     "1: without calibration_file, measure the router's cpu constants at start (under 1 s); 0: built-in ones"},
    {"gpu_threshold", CFG_BYTES, F(gpu_threshold), 0, 1e15, "0",
     "pieces with at least this many elements run on cuda when a device is up (0: the cost model decides)"},
    {"gpu_devices", CFG_INT_AUTO, F(gpu_devices), 0, 16, "auto",
     "CUDA devices to use, one GPU worker process each (auto: all the workers' probe finds; 0: no CUDA)"},
    {"gpu_arena_mb", CFG_INT, F(gpu_arena_mb), 16, 65536, "256",
     "shared memory per device between lanesd and its GPU worker, in MiB (bounds one GPU command)"},
    {"gpu_timeout_s", CFG_DOUBLE, F(gpu_timeout_s), 1, 86400, "120",
     "a GPU command not answered within this many seconds: its worker is killed and the device restarted"},
};
#undef F
#define N_KEYS (sizeof g_keys / sizeof g_keys[0])

int lanes_errf(char *err, size_t cap, const char *fmt, ...)
{
    if (err && cap) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, cap, fmt, ap);
        va_end(ap);
    }
    return -1;
}

char *lanes_trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = 0;
    return s;
}

static const cfg_key_t *find_key(const char *name)
{
    for (size_t i = 0; i < N_KEYS; i++)
        if (strcmp(g_keys[i].name, name) == 0)
            return &g_keys[i];
    return NULL;
}

int lanes_config_set(lanes_config_t *cfg, const char *key, const char *value, const char *origin, char *err,
                     size_t err_cap)
{
    const cfg_key_t *k = find_key(key);
    if (!k)
        return lanes_errf(err, err_cap, "%s: unknown key '%s' (see lanesd --help)", origin, key);
    char *field = (char *)cfg + k->offset;
    double v = 0;
    char *end = NULL;
    switch (k->type) {
    case CFG_STRING:
        if (strlen(value) >= k->size)
            return lanes_errf(err, err_cap, "%s: %s: value is longer than %zu characters", origin, key, k->size - 1);
        memcpy(field, value, strlen(value) + 1);
        return 0;
    case CFG_LEVEL: {
        lanes_log_level_t lvl;
        if (lanes_log_parse_level(value, &lvl) != 0)
            return lanes_errf(err, err_cap, "%s: %s: '%s' is not one of error, warn, info, debug", origin, key, value);
        *(int *)field = (int)lvl;
        return 0;
    }
    case CFG_INT_AUTO:
        if (strcmp(value, "auto") == 0) {
            *(int *)field = -1;
            return 0;
        }
        /* fall through */
    case CFG_INT:
        errno = 0;
        v = (double)strtol(value, &end, 10);
        if (end == value || *end || errno)
            return lanes_errf(err, err_cap, "%s: %s: '%s' is not an integer%s", origin, key, value,
                        k->type == CFG_INT_AUTO ? " or auto" : "");
        break;
    case CFG_BYTES:
        if (lanes_bytes_parse(value, &v) != 0) /* "1048576", "1MiB", "64KiB", "1M", "2G" (lanes/bytes.h) */
            return lanes_errf(err, err_cap, "%s: %s: '%s' is not a byte count (examples: 1048576, 64KiB, 1MiB)", origin,
                        key, value);
        break;
    case CFG_DOUBLE:
        errno = 0;
        v = strtod(value, &end);
        if (end == value || *end || errno || !isfinite(v))
            return lanes_errf(err, err_cap, "%s: %s: '%s' is not a number", origin, key, value);
        break;
    }
    if (v < k->min)
        return lanes_errf(err, err_cap, "%s: %s: %s is below the minimum %.15g", origin, key, value, k->min);
    if (v > k->max)
        return lanes_errf(err, err_cap, "%s: %s: %s is above the maximum %.15g", origin, key, value, k->max);
    if (k->type == CFG_INT || k->type == CFG_INT_AUTO)
        *(int *)field = (int)v;
    else if (k->type == CFG_BYTES)
        *(uint64_t *)field = (uint64_t)v;
    else
        *(double *)field = v;
    return 0;
}

void lanes_config_defaults(lanes_config_t *cfg)
{
    char err[256];
    memset(cfg, 0, sizeof *cfg);
    for (size_t i = 0; i < N_KEYS; i++) {
        int rc = lanes_config_set(cfg, g_keys[i].name, g_keys[i].deflt, "default", err, sizeof err);
        (void)rc; /* the table's defaults are valid: test_config checks it */
    }
}

static int load_file(lanes_config_t *cfg, const char *path, char *err, size_t cap)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return lanes_errf(err, cap, "config file %s: cannot open: %s", path, strerror(errno));
    char line[1024];
    int lineno = 0, rc = 0;
    while (rc == 0 && fgets(line, sizeof line, f)) {
        lineno++;
        char *hash = strchr(line, '#');
        if (hash)
            *hash = 0;
        char *s = lanes_trim(line);
        if (!*s)
            continue;
        char origin[600];
        snprintf(origin, sizeof origin, "config file %s line %d", path, lineno);
        char *eq = strchr(s, '=');
        if (!eq) {
            rc = lanes_errf(err, cap, "%s: expected 'key = value', got '%s'", origin, s);
            break;
        }
        *eq = 0;
        char *key = lanes_trim(s), *value = lanes_trim(eq + 1);
        size_t vl = strlen(value);
        if (vl >= 2 && value[0] == '"' && value[vl - 1] == '"') {
            value[vl - 1] = 0;
            value++;
        }
        rc = lanes_config_set(cfg, key, value, origin, err, cap);
    }
    fclose(f);
    return rc;
}

void lanes_config_format(const lanes_config_t *cfg, char *out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < N_KEYS && n < cap; i++) {
        const cfg_key_t *k = &g_keys[i];
        const char *field = (const char *)cfg + k->offset;
        int m = 0;
        switch (k->type) {
        case CFG_STRING: m = snprintf(out + n, cap - n, "%s = \"%s\"\n", k->name, field); break;
        case CFG_INT: m = snprintf(out + n, cap - n, "%s = %d\n", k->name, *(const int *)field); break;
        case CFG_INT_AUTO:
            if (*(const int *)field < 0)
                m = snprintf(out + n, cap - n, "%s = auto\n", k->name);
            else
                m = snprintf(out + n, cap - n, "%s = %d\n", k->name, *(const int *)field);
            break;
        case CFG_BYTES:
            m = snprintf(out + n, cap - n, "%s = %llu\n", k->name, (unsigned long long)*(const uint64_t *)field);
            break;
        case CFG_DOUBLE: m = snprintf(out + n, cap - n, "%s = %g\n", k->name, *(const double *)field); break;
        case CFG_LEVEL:
            m = snprintf(out + n, cap - n, "%s = %s\n", k->name,
                         lanes_log_level_name((lanes_log_level_t) * (const int *)field));
            break;
        }
        if (m < 0)
            break;
        n += (size_t)m;
    }
}

static void format_help(char *out, size_t cap)
{
    size_t n = 0;
    int m = snprintf(out, cap,
                     "usage: lanesd [--config FILE] [--KEY VALUE | --KEY=VALUE]... [--print-config] [--version]\n"
                     "       lanesd --calibrate [FILE] [--config FILE] [--KEY VALUE]...  (measure the router's\n"
                     "       cost constants, print them and write FILE: calibration_file or lanes-calibration.txt)\n"
                     "Serves lanes jobs over gRPC: Map and MapOnce (elementwise expressions and functions),\n"
                     "Reduce and ReduceOnce (reductions and histograms), Acf and AcfOnce (autocorrelation),\n"
                     "WordCount, WordAcf and their Once twins, and Corpus (many documents on a process pool);\n"
                     "Info, Echo and grpc.health.v1.Health for operators.\n\n"
                     "Each KEY may also come from a config file ('key = value' lines) or the environment\n"
                     "(LANES_KEY); flags override the environment, which overrides the file.\n\n");
    if (m > 0)
        n = (size_t)m;
    for (size_t i = 0; i < N_KEYS && n < cap; i++) {
        char flag[64];
        snprintf(flag, sizeof flag, "--%s", g_keys[i].name);
        for (char *p = flag + 2; *p; p++)
            if (*p == '_')
                *p = '-';
        m = snprintf(out + n, cap - n, "  %-22s %s (default %s)\n", flag, g_keys[i].help,
                     *g_keys[i].deflt ? g_keys[i].deflt : "none");
        if (m < 0)
            break;
        n += (size_t)m;
    }
}

/* "--chunk-bytes" -> "chunk_bytes"; returns 0 if the flag names a key. */
static int flag_to_key(const char *flag, char *key, size_t cap)
{
    if (strncmp(flag, "--", 2) != 0 || strlen(flag + 2) >= cap)
        return -1;
    strcpy(key, flag + 2);
    for (char *p = key; *p; p++)
        if (*p == '-')
            *p = '_';
    return find_key(key) ? 0 : -1;
}

int lanes_config_load(lanes_config_t *cfg, int argc, char **argv, char **envp, char *err, size_t err_cap,
                      char *out, size_t out_cap)
{
    lanes_config_defaults(cfg);
    const char *config_path = NULL;
    int print_config = 0;

    /* First pass over argv: actions and --config. */
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            format_help(out, out_cap);
            return 1;
        }
        if (strcmp(a, "--version") == 0) {
            snprintf(out, out_cap, "lanesd %s\n", LANES_VERSION);
            return 1;
        }
        if (strcmp(a, "--print-config") == 0)
            print_config = 1;
        else if (strcmp(a, "--config") == 0) {
            if (i + 1 >= argc)
                return lanes_errf(err, err_cap, "--config needs a file name");
            config_path = argv[++i];
        } else if (strncmp(a, "--config=", 9) == 0)
            config_path = a + 9;
    }
    if (!config_path && envp) {
        for (char **e = envp; *e; e++)
            if (strncmp(*e, "LANES_CONFIG=", 13) == 0 && (*e)[13])
                config_path = *e + 13;
    }
    if (config_path && load_file(cfg, config_path, err, err_cap) != 0)
        return -1;

    /* Environment: LANES_<KEY>. Unknown LANES_ variables are left alone (clients use LANES_SERVER). */
    if (envp) {
        for (size_t k = 0; k < N_KEYS; k++) {
            char name[64];
            snprintf(name, sizeof name, "LANES_%s", g_keys[k].name);
            for (char *p = name; *p; p++)
                *p = (char)toupper((unsigned char)*p);
            size_t nl = strlen(name);
            for (char **e = envp; *e; e++) {
                if (strncmp(*e, name, nl) == 0 && (*e)[nl] == '=') {
                    char origin[96];
                    snprintf(origin, sizeof origin, "environment %s", name);
                    if (lanes_config_set(cfg, g_keys[k].name, *e + nl + 1, origin, err, err_cap) != 0)
                        return -1;
                }
            }
        }
    }

    /* Flags. */
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--print-config") == 0)
            continue;
        if (strcmp(a, "--config") == 0) {
            i++;
            continue;
        }
        if (strncmp(a, "--config=", 9) == 0)
            continue;
        char flag[80], key[80];
        const char *value;
        const char *eq = strchr(a, '=');
        if (eq) {
            size_t fl = (size_t)(eq - a);
            if (fl >= sizeof flag)
                return lanes_errf(err, err_cap, "unknown option '%s' (see lanesd --help)", a);
            memcpy(flag, a, fl);
            flag[fl] = 0;
            value = eq + 1;
        } else {
            snprintf(flag, sizeof flag, "%s", a);
            value = NULL;
        }
        if (flag_to_key(flag, key, sizeof key) != 0)
            return lanes_errf(err, err_cap, "unknown option '%s' (see lanesd --help)", a);
        if (!value) {
            if (i + 1 >= argc)
                return lanes_errf(err, err_cap, "option %s needs a value", flag);
            value = argv[++i];
        }
        char origin[96];
        snprintf(origin, sizeof origin, "option %s", flag);
        if (lanes_config_set(cfg, key, value, origin, err, err_cap) != 0)
            return -1;
    }

    if (cfg->chunk_bytes + 1024 > cfg->max_message_bytes)
        return lanes_errf(err, err_cap, "chunk_bytes (%llu) must be at least 1 KiB below max_message_bytes (%llu)",
                    (unsigned long long)cfg->chunk_bytes, (unsigned long long)cfg->max_message_bytes);
    if (print_config) {
        lanes_config_format(cfg, out, out_cap);
        return 1;
    }
    return 0;
}
