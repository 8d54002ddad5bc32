/* lanes: the command-line client of the lanes daemon.
 *
 *   lanes [--server HOST:PORT] [--timeout SECONDS] COMMAND [ARGS...]
 *   commands: info, health, map, reduce, acf, wordcount, wordacf, corpus (each takes --help)
 *
 * Design: one function per command, each driven by a small table of its options (which also prints
 * its help), parsed by one iterator that understands "--name value", "--name=value" and "--". The
 * global options are accepted before the command and among its options. This file holds main, the
 * command table and the info and health commands; the options are cli_opts.c's, the array commands
 * (map, reduce, acf) cli_array.c's, the text commands (wordcount, wordacf, corpus, on one runner)
 * cli_text.c's and every output format cli_output.c's (cli.h lists them). Arrays are read and written
 * by arrayio (npy, raw, text), which converts every .npy dtype the Python client sends as it does and
 * keeps the shape: map broadcasts its inputs as numpy and writes a .npy result of their broadcast
 * shape, as the Python client's map returns; reduce and acf read the elements in C order. The calls
 * go through lanes_client. Exit codes: 0 ok; 2 usage or input
 * error (the message names the argument or file); 1 a server or transport error, printed as
 * "lanes: <STATUS_NAME>: <server message>", or an output file that cannot be written.
 */
#define _POSIX_C_SOURCE 200809L

#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grpc/health/v1/health.pb-c.h"

/* ---- info ---- */

static const optspec_t info_opts[] = {
    {"json", NULL, "print the reply as one JSON object"},
    GLOBAL_OPTSPECS,
    {NULL, NULL, NULL},
};

static int cmd_info(globals_t *g, int argc, char **argv)
{
    optiter_t it = {argc, argv, 0, 0, "lanes info"};
    const optspec_t *spec;
    const char *val;
    int json = 0, k, rc;
    while ((k = cli_opts_next(&it, info_opts, &spec, &val)) != OPT_END) {
        if (k == OPT_ERROR)
            return EXIT_USAGE;
        if (k == OPT_POSITIONAL)
            return cli_opts_usage_error(it.cmd, "unexpected argument '%s'", val);
        if (strcmp(spec->name, "help") == 0) {
            printf("Usage: lanes info [--json]\nPrints the daemon's version, backends, devices, threads, "
                   "limits, functions and ops.\n\nOptions:\n");
            cli_opts_print(stdout, info_opts);
            return EXIT_OK;
        }
        if (strcmp(spec->name, "json") == 0)
            json = 1;
        else if ((rc = cli_opts_global(it.cmd, g, spec->name, val)) < 0)
            return EXIT_USAGE;
    }
    lanes_client_t *c = cli_opts_connect(g);
    lanes_client_status_t st;
    Lanes__V1__InfoResponse *r;
    if (lanes_client_info(c, &r, &st) != GRPC_STATUS_OK) {
        lanes_client_free(c);
        return cli_output_server_error(&st);
    }
    if (json)
        cli_output_info_json(stdout, r);
    else
        cli_output_info_text(stdout, r);
    protobuf_c_message_free_unpacked(&r->base, NULL);
    lanes_client_free(c);
    return EXIT_OK;
}

/* ---- health ---- */

static const optspec_t health_opts[] = {
    {"service", "NAME", "the service to check (default \"\": the whole server)"},
    GLOBAL_OPTSPECS,
    {NULL, NULL, NULL},
};

static int cmd_health(globals_t *g, int argc, char **argv)
{
    optiter_t it = {argc, argv, 0, 0, "lanes health"};
    const optspec_t *spec;
    const char *val, *service = "";
    int k;
    while ((k = cli_opts_next(&it, health_opts, &spec, &val)) != OPT_END) {
        if (k == OPT_ERROR)
            return EXIT_USAGE;
        if (k == OPT_POSITIONAL)
            return cli_opts_usage_error(it.cmd, "unexpected argument '%s'", val);
        if (strcmp(spec->name, "help") == 0) {
            printf("Usage: lanes health [--service NAME]\nAsks grpc.health.v1.Health/Check; prints SERVING "
                   "or NOT_SERVING (...) and exits 0 only when SERVING.\n\nOptions:\n");
            cli_opts_print(stdout, health_opts);
            return EXIT_OK;
        }
        if (strcmp(spec->name, "service") == 0)
            service = val;
        else if (cli_opts_global(it.cmd, g, spec->name, val) < 0)
            return EXIT_USAGE;
    }
    lanes_client_t *c = cli_opts_connect(g);
    lanes_client_status_t st;
    int serving;
    grpc_status_code code = lanes_client_health(c, service, &serving, &st);
    lanes_client_free(c);
    if (code != GRPC_STATUS_OK)
        return cli_output_server_error(&st);
    printf("%s\n", lanes_client_serving_name(serving));
    return serving == GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING ? EXIT_OK : EXIT_SERVER;
}

/* ---- main ---- */

typedef struct command {
    const char *name;
    int (*run)(globals_t *g, int argc, char **argv);
    const char *summary;
} command_t;

static const command_t commands[] = {
    {"info", cmd_info, "the daemon's version, backends, devices, limits, functions and ops"},
    {"health", cmd_health, "grpc.health.v1 check: SERVING or NOT_SERVING"},
    {"map", cli_array_map, "apply a function elementwise to arrays"},
    {"reduce", cli_array_reduce, "reduce an array to a value or a histogram"},
    {"acf", cli_array_acf, "autocorrelation of a series (statsmodels' acf)"},
    {"wordcount", cli_text_wordcount, "word count of a text: the course's .dat"},
    {"wordacf", cli_text_wordacf, "word autocorrelation of a text: the course's .csv"},
    {"corpus", cli_text_corpus, "many books at once: .dat and .csv each, and the Zipf table"},
    {NULL, NULL, NULL},
};

static void main_usage(FILE *f)
{
    fprintf(f, "Usage: lanes [--server HOST:PORT] [--timeout SECONDS] COMMAND [ARGS...]\n\n"
               "A client of the lanes compute daemon (lanesd).\n\nCommands:\n");
    for (const command_t *c = commands; c->name; c++)
        fprintf(f, "  %-10s %s\n", c->name, c->summary);
    fprintf(f, "\nOptions:\n");
    static const optspec_t g[] = {GLOBAL_OPTSPECS, {NULL, NULL, NULL}};
    cli_opts_print(f, g);
    fprintf(f, "\n'lanes COMMAND --help' describes a command. Exit status: 0 ok, 1 server or transport "
               "error,\n2 usage or input error.\n");
}

int main(int argc, char **argv)
{
    globals_t g = {getenv("LANES_SERVER"), 0};
    if (!g.server || !*g.server)
        g.server = DEFAULT_SERVER;
    static const optspec_t gopts[] = {GLOBAL_OPTSPECS, {NULL, NULL, NULL}};
    optiter_t it = {argc - 1, argv + 1, 0, 0, "lanes"};
    const optspec_t *spec;
    const char *val;
    int k;
    while ((k = cli_opts_next(&it, gopts, &spec, &val)) != OPT_END) {
        if (k == OPT_ERROR)
            return EXIT_USAGE;
        if (k == OPT_POSITIONAL) {
            if (strcmp(val, "help") == 0) {
                main_usage(stdout);
                return EXIT_OK;
            }
            for (const command_t *c = commands; c->name; c++)
                if (strcmp(c->name, val) == 0)
                    return c->run(&g, it.argc - it.i, it.argv + it.i);
            return cli_opts_usage_error("lanes", "unknown command '%s' (info, health, map, reduce, acf, wordcount, wordacf, corpus)", val);
        }
        if (strcmp(spec->name, "help") == 0) {
            main_usage(stdout);
            return EXIT_OK;
        }
        if (cli_opts_global("lanes", &g, spec->name, val) < 0)
            return EXIT_USAGE;
    }
    return cli_opts_usage_error("lanes", "missing COMMAND (info, health, map, reduce, acf, wordcount, wordacf, corpus)");
}

