/* cli_array.c: the lanes CLI's array commands: map, reduce and acf (see cli.h).
 *
 * Design: each command reads its options from its table (cli_opts_next), reads its arrays with arrayio
 * (npy, raw or text; every .npy dtype the Python client sends, converted as it converts them, the
 * shape kept), describes the job for lanes_client (which picks the unary twin for a job that fits one
 * message, unless --stream), and hands the reply to the output writers (cli_output.c). map broadcasts
 * its inputs as numpy does and writes a .npy result of their broadcast shape, as the Python client's
 * map returns; reduce and acf read the elements in C order. A histogram without --range takes the
 * data's (min, max), numpy's default. Input errors exit 2 naming the file; server errors exit 1.
 */
#define _POSIX_C_SOURCE 200809L

#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PARAMS 32

/* ---- the files of the array commands: --dtype of the input, --out and --format of the result ---- */

typedef struct array_opts {
    lanes_dtype_t in_dtype;      /* of raw and text inputs (LANES_DTYPE_INVALID: not given) */
    const char *out_path;        /* NULL or "-": stdout */
    arrayio_format_t out_fmt;    /* --format, else (array_opts_finish) from the --out name; text on stdout */
    int have_format;
} array_opts_t;

#define ARRAY_OPTS_INIT {LANES_DTYPE_INVALID, NULL, ARRAYIO_FORMAT_TEXT, 0}

/* Applies an array file option. Returns 1 if 'name' is one (and valid), -1 after a usage error, 0 if
 * not (each command's table lists the ones it takes). */
static int array_option(const char *cmd, const char *name, const char *val, array_opts_t *ao)
{
    if (strcmp(name, "dtype") == 0) {
        ao->in_dtype = arrayio_dtype_parse(val);
        if (ao->in_dtype == LANES_DTYPE_INVALID)
            return cli_opts_usage_error(cmd, "bad --dtype '%s' (float64, float32, int64 or int32)", val), -1;
    } else if (strcmp(name, "out") == 0) {
        ao->out_path = val;
    } else if (strcmp(name, "format") == 0) {
        if (arrayio_format_parse(val, &ao->out_fmt))
            return cli_opts_usage_error(cmd, "bad --format '%s' (npy, raw or text)", val), -1;
        ao->have_format = 1;
    } else {
        return 0;
    }
    return 1;
}

/* After the options: whether the result goes to stdout; without --format, a file's name picks it. */
static int array_opts_finish(array_opts_t *ao)
{
    int to_stdout = !ao->out_path || strcmp(ao->out_path, "-") == 0;
    if (!ao->have_format && !to_stdout)
        ao->out_fmt = arrayio_format_from_path(ao->out_path);
    return to_stdout;
}

/* ---- reading inputs ---- */

/* Reads one --in argument: .npy (or any file with the npy magic), text (.txt, .csv, "-") or raw. */
static int read_input(const char *cmd, const char *path, lanes_dtype_t dtype, arrayio_array_t *a)
{
    lanes_error_t err = {0};
    arrayio_format_t fmt = arrayio_format_from_path(path);
    if (arrayio_read_path(path, fmt, dtype, a, &err) != 0) {
        if (fmt == ARRAYIO_FORMAT_RAW && dtype == LANES_DTYPE_INVALID && strstr(err.msg, "needs a dtype"))
            return cli_opts_usage_error(cmd, "%s; give --dtype (raw input: a name not ending in .npy, .txt or .csv)",
                               err.msg);
        fprintf(stderr, "%s: %s\n", cmd, err.msg);
        return EXIT_USAGE;
    }
    return EXIT_OK;
}

/* ---- map ---- */

static const optspec_t map_opts[] = {
    {"in", "FILE", "an input array: .npy, .txt/.csv text, '-' text on stdin, else raw;\n"
                   "repeat it for functions of several arrays (power x y); several\n"
                   "inputs broadcast together as numpy's do, and a .npy result has\n"
                   "their shape (raw and text results are flat, in C order)"},
    {"param", "NAME=VALUE", "a scalar parameter (power: n; affine: a, b); repeatable"},
    {"out", "FILE", "where to write the result ('-' or none: text on stdout)"},
    {"out-dtype", "float64|float32", "the result's dtype (default float64)"},
    {"format", "npy|raw|text", "the output format (default from the --out name:\n"
                               ".npy npy, .txt/.csv text, else raw)"},
    {"dtype", "DTYPE", "dtype of raw and text inputs: float64, float32, int64, int32\n"
                       "(text defaults to float64); a .npy file carries its own dtype\n"
                       "(the ones 'lanes map --help' lists)"},
    {"chunk-bytes", "N", "payload per message, all inputs together (default 1M; at most 4M)"},
    {"backend", "NAME", "auto (default), inline, cpu, process-pool or cuda"},
    {"stream", NULL, "use the streaming call even for a job that fits one message"},
    {"summary", NULL, "print the job summary on stderr"},
    GLOBAL_OPTSPECS,
    {NULL, NULL, NULL},
};

int cli_array_map(globals_t *g, int argc, char **argv)
{
    optiter_t it = {argc, argv, 0, 0, "lanes map"};
    const optspec_t *spec;
    const char *val, *function = NULL, *ins[LANES_MAP_MAX_INPUTS];
    size_t n_in = 0, n_params = 0;
    lanes_param_t params[MAX_PARAMS];
    char param_names[MAX_PARAMS][64];
    char in_names[LANES_MAP_MAX_INPUTS][64];
    int named_inputs = 0;
    lanes_dtype_t out_dtype = LANES_DTYPE_F64;
    int handled, k;
    job_opts_t jo = {0};
    array_opts_t ao = ARRAY_OPTS_INIT;

    while ((k = cli_opts_next(&it, map_opts, &spec, &val)) != OPT_END) {
        if (k == OPT_ERROR)
            return EXIT_USAGE;
        if (k == OPT_POSITIONAL) {
            if (function)
                return cli_opts_usage_error(it.cmd, "unexpected argument '%s' (the function is '%s')", val, function);
            function = val;
            continue;
        }
        const char *o = spec->name;
        if (strcmp(o, "help") == 0) {
            printf("Usage: lanes map FUNCTION --in [NAME=]X [--in [NAME=]Y] [--param NAME=VALUE]... [--out FILE]\n"
                   "Applies FUNCTION elementwise (square, cube, power, sqrt, exp, log, abs, sin, cos, "
                   "affine;\n'lanes info' lists them), or an expression over the inputs (named x, y, z, ... "
                   "or NAME=),\nand writes one output element per input element. Several inputs broadcast together as\n"
                   "in numpy; a .npy result has the inputs' (broadcast) shape. A .npy input may hold float16,\n"
                   "float32, float64, float128, int8 to int64, uint8 to uint64 or bool, in either byte order\n"
                   "and C or Fortran order; it is converted as the Python client converts it: float16 to\n"
                   "float32, float128 to float64, bool, int8, int16, uint8 and uint16 to int32, uint32 to\n"
                   "int64, uint64 to float64 (complex and other dtypes are refused).\n"
                   "  lanes map 'x*x + 1' --in x.npy --out y.npy\n"
                   "  lanes map 'where(a > b, a, b) * k' --in a=a.npy --in b=b.npy --param k=2\n"
                   "Examples:\n  lanes map square --in x.npy --out y.npy\n"
                   "  lanes map power --in x.npy --param n=3\n  lanes map power --in x.npy --in y.npy\n"
                   "  lanes map affine --in x.txt --param a=2 --param b=-1 --out -\n\nOptions:\n");
            cli_opts_print(stdout, map_opts);
            return EXIT_OK;
        } else if (strcmp(o, "in") == 0) {
            if (n_in == LANES_MAP_MAX_INPUTS)
                return cli_opts_usage_error(it.cmd, "too many --in (at most %d)", LANES_MAP_MAX_INPUTS);
            /* --in NAME=FILE names the input in an expression */
            size_t id = 0;
            while ((val[id] == '_' || isalpha((unsigned char)val[id]) || (id && isdigit((unsigned char)val[id]))))
                id++;
            if (id > 0 && id < 64 && val[id] == '=' && val[id + 1]) {
                memcpy(in_names[n_in], val, id);
                in_names[n_in][id] = 0;
                named_inputs = 1;
                val += id + 1;
            } else {
                in_names[n_in][0] = 0;
            }
            ins[n_in++] = val;
        } else if (strcmp(o, "param") == 0) {
            const char *eq = strchr(val, '=');
            double v;
            if (!eq || eq == val || (size_t)(eq - val) >= sizeof param_names[0] || cli_opts_parse_double(eq + 1, &v))
                return cli_opts_usage_error(it.cmd, "bad --param '%s' (expected NAME=NUMBER, e.g. n=3)", val);
            if (n_params == MAX_PARAMS)
                return cli_opts_usage_error(it.cmd, "too many --param (at most %d)", MAX_PARAMS);
            memcpy(param_names[n_params], val, (size_t)(eq - val));
            param_names[n_params][eq - val] = '\0';
            params[n_params].name = param_names[n_params];
            params[n_params].value = v;
            n_params++;
        } else if (strcmp(o, "out-dtype") == 0) {
            out_dtype = arrayio_dtype_parse(val);
            if (out_dtype != LANES_DTYPE_F64 && out_dtype != LANES_DTYPE_F32)
                return cli_opts_usage_error(it.cmd, "bad --out-dtype '%s' (float64 or float32)", val);
        } else if ((handled = array_option(it.cmd, o, val, &ao)) != 0 ||
                   (handled = cli_opts_job(it.cmd, o, val, &jo)) != 0) {
            if (handled < 0)
                return EXIT_USAGE;
        } else if (cli_opts_global(it.cmd, g, o, val) < 0) {
            return EXIT_USAGE;
        }
    }
    if (!function)
        return cli_opts_usage_error(it.cmd, "missing FUNCTION (e.g. 'lanes map square --in x.npy')");
    if (n_in == 0)
        return cli_opts_usage_error(it.cmd, "missing --in (at least one input array)");
    array_opts_finish(&ao);
    size_t stdin_uses = 0;
    for (size_t i = 0; i < n_in; i++)
        stdin_uses += strcmp(ins[i], "-") == 0;
    if (stdin_uses > 1)
        return cli_opts_usage_error(it.cmd, "'--in -' (stdin) can be given only once");

    arrayio_array_t arrays[LANES_MAP_MAX_INPUTS];
    memset(arrays, 0, sizeof arrays);
    int rc = EXIT_OK;
    void *out = NULL;
    lanes_client_t *c = NULL;
    for (size_t i = 0; i < n_in && rc == EXIT_OK; i++)
        rc = read_input(it.cmd, ins[i], ao.in_dtype, &arrays[i]);
    /* The inputs broadcast together as numpy's (and so the Python client's) map does; the result has
     * their broadcast shape. */
    size_t shape[ARRAYIO_MAX_DIMS], ndim = 0;
    if (rc == EXIT_OK) {
        const arrayio_array_t *ptrs[LANES_MAP_MAX_INPUTS];
        lanes_error_t err = {0};
        for (size_t i = 0; i < n_in; i++)
            ptrs[i] = &arrays[i];
        if (arrayio_broadcast_shape(ptrs, ins, n_in, shape, &ndim, &err) != 0) {
            fprintf(stderr, "%s: %s\n", it.cmd, err.msg);
            rc = EXIT_USAGE;
        }
        for (size_t i = 0; i < n_in && rc == EXIT_OK; i++)
            if (arrayio_broadcast_to(&arrays[i], shape, ndim, ins[i], &err) != 0) {
                fprintf(stderr, "%s: %s\n", it.cmd, err.msg);
                rc = err.code == LANES_ENOMEM ? EXIT_SERVER : EXIT_USAGE;
            }
    }
    if (rc != EXIT_OK)
        goto done;

    size_t n = arrays[0].n, out_es = lanes_dtype_size(out_dtype);
    out = malloc(n ? n * out_es : 1);
    if (!out) {
        fprintf(stderr, "%s: out of memory for %zu results\n", it.cmd, n);
        rc = EXIT_SERVER;
        goto done;
    }
    lanes_client_map_job_t job;
    memset(&job, 0, sizeof job);
    job.function = function;
    job.params = params;
    job.n_params = n_params;
    job.n_inputs = n_in;
    for (size_t i = 0; named_inputs && i < n_in; i++)
        job.in_names[i] = in_names[i][0] ? in_names[i] : NULL;
    for (size_t i = 0; i < n_in; i++) {
        job.in_dtypes[i] = arrays[i].dtype;
        job.inputs[i] = arrays[i].data;
    }
    job.n = n;
    job.out_dtype = out_dtype;
    job.backend = jo.backend;
    job.chunk_bytes = (size_t)jo.chunk_bytes;
    job.out = out;
    job.call = jo.stream ? LANES_CLIENT_CALL_STREAM : LANES_CLIENT_CALL_AUTO;

    c = cli_opts_connect(g);
    lanes_client_status_t st;
    lanes_client_summary_t summary;
    if (lanes_client_map(c, &job, &summary, &st) != GRPC_STATUS_OK) {
        rc = cli_output_server_error(&st);
        goto done;
    }
    if (jo.want_summary)
        cli_output_summary(stderr, &summary);
    lanes_error_t err = {0};
    if (arrayio_write_path_nd(ao.out_path ? ao.out_path : "-", ao.out_fmt, out_dtype, out, shape, ndim, &err) != 0) {
        fprintf(stderr, "lanes: %s\n", err.msg);
        rc = EXIT_SERVER;
    }
done:
    lanes_client_free(c);
    free(out);
    for (size_t i = 0; i < n_in; i++)
        arrayio_array_free(&arrays[i]);
    return rc;
}

/* ---- reduce ---- */

static const optspec_t reduce_opts[] = {
    {"in", "FILE", "the input array (.npy, .txt/.csv text, '-' text on stdin, else raw)"},
    {"dtype", "DTYPE", "dtype of a raw or text input: float64, float32, int64, int32\n"
                       "(text defaults to float64); a .npy file carries its own dtype\n"
                       "(the ones 'lanes map --help' lists)"},
    {"ddof", "D", "var and std: delta degrees of freedom, as numpy's ddof (default 0)"},
    {"bins", "N", "histogram: number of equal-width bins (default 10)"},
    {"range", "LO:HI", "histogram: the range of the bins (default: the data's min:max, as numpy)"},
    {"chunk-bytes", "N", "payload per message (default 1M; at most 4M)"},
    {"backend", "NAME", "auto (default), inline, cpu, process-pool or cuda"},
    {"stream", NULL, "use the streaming call even for a job that fits one message"},
    {"summary", NULL, "print the job summary on stderr"},
    GLOBAL_OPTSPECS,
    {NULL, NULL, NULL},
};

static int parse_range(const char *s, double *lo, double *hi)
{
    char *end;
    errno = 0;
    *lo = strtod(s, &end);
    if (end == s || *end != ':' || errno == ERANGE)
        return -1;
    return cli_opts_parse_double(end + 1, hi);
}

/* The (min, max) of a's values as doubles, (0, 1) when empty. Returns -1 if either is not finite. */
static int data_range(const arrayio_array_t *a, double *lo, double *hi)
{
    if (a->n == 0) {
        *lo = 0;
        *hi = 1;
        return 0;
    }
    double mn = INFINITY, mx = -INFINITY;
    int nan = 0;
    for (size_t i = 0; i < a->n; i++) {
        double v;
        switch (a->dtype) {
        case LANES_DTYPE_F64:
            v = ((const double *)a->data)[i];
            break;
        case LANES_DTYPE_F32:
            v = ((const float *)a->data)[i];
            break;
        case LANES_DTYPE_I64:
            v = (double)((const int64_t *)a->data)[i];
            break;
        default:
            v = ((const int32_t *)a->data)[i];
            break;
        }
        if (isnan(v))
            nan = 1;
        if (v < mn)
            mn = v;
        if (v > mx)
            mx = v;
    }
    *lo = nan ? NAN : mn; /* numpy's min and max propagate NaN */
    *hi = nan ? NAN : mx;
    return isfinite(*lo) && isfinite(*hi) ? 0 : -1;
}

int cli_array_reduce(globals_t *g, int argc, char **argv)
{
    optiter_t it = {argc, argv, 0, 0, "lanes reduce"};
    const optspec_t *spec;
    const char *val, *op = NULL, *in = NULL;
    array_opts_t ao = ARRAY_OPTS_INIT;
    double ddof = 0, lo = 0, hi = 0;
    uint64_t bins = 0;
    int has_range = 0, handled, k;
    job_opts_t jo = {0};

    while ((k = cli_opts_next(&it, reduce_opts, &spec, &val)) != OPT_END) {
        if (k == OPT_ERROR)
            return EXIT_USAGE;
        if (k == OPT_POSITIONAL) {
            if (op)
                return cli_opts_usage_error(it.cmd, "unexpected argument '%s' (the op is '%s')", val, op);
            op = val;
            continue;
        }
        const char *o = spec->name;
        if (strcmp(o, "help") == 0) {
            printf("Usage: lanes reduce OP --in X [--ddof D] [--bins N] [--range LO:HI]\n"
                   "Reduces an array to one value: sum, min, max, mean, var, std, count, argmin, argmax,\n"
                   "or histogram (printed as lines 'lo hi count'). Integers print as integers, floats\n"
                   "with %%.17g.\nExamples:\n  lanes reduce sum --in x.npy\n  lanes reduce var --in x.npy "
                   "--ddof 1\n  lanes reduce histogram --in x.npy --bins 5 --range 0:1\n\nOptions:\n");
            cli_opts_print(stdout, reduce_opts);
            return EXIT_OK;
        } else if (strcmp(o, "in") == 0) {
            if (in)
                return cli_opts_usage_error(it.cmd, "only one --in is allowed");
            in = val;
        } else if (strcmp(o, "ddof") == 0) {
            if (cli_opts_parse_double(val, &ddof) || !isfinite(ddof))
                return cli_opts_usage_error(it.cmd, "bad --ddof '%s' (a number)", val);
        } else if (strcmp(o, "bins") == 0) {
            if (cli_opts_parse_u64(val, &bins) || bins == 0 || bins > UINT32_MAX)
                return cli_opts_usage_error(it.cmd, "bad --bins '%s' (a positive integer)", val);
        } else if (strcmp(o, "range") == 0) {
            if (parse_range(val, &lo, &hi))
                return cli_opts_usage_error(it.cmd, "bad --range '%s' (expected LO:HI, e.g. 0:1)", val);
            has_range = 1;
        } else if ((handled = array_option(it.cmd, o, val, &ao)) != 0 ||
                   (handled = cli_opts_job(it.cmd, o, val, &jo)) != 0) {
            if (handled < 0)
                return EXIT_USAGE;
        } else if (cli_opts_global(it.cmd, g, o, val) < 0) {
            return EXIT_USAGE;
        }
    }
    if (!op)
        return cli_opts_usage_error(it.cmd, "missing OP (e.g. 'lanes reduce sum --in x.npy')");
    if (!in)
        return cli_opts_usage_error(it.cmd, "missing --in (the input array)");
    arrayio_array_t a;
    int rc = read_input(it.cmd, in, ao.in_dtype, &a);
    if (rc != EXIT_OK)
        return rc;
    int range_from_data = 0;
    if (strcmp(op, "histogram") == 0 && !has_range) {
        /* numpy.histogram's default range: the data's (min, max), (0, 1) when empty. */
        if (data_range(&a, &lo, &hi) != 0) {
            fprintf(stderr, "%s: autodetected range of [%.17g, %.17g] is not finite; give --range LO:HI\n",
                    it.cmd, lo, hi);
            arrayio_array_free(&a);
            return EXIT_USAGE;
        }
        has_range = 1;
        range_from_data = 1;
    }
    lanes_client_reduce_job_t job;
    memset(&job, 0, sizeof job);
    job.op = op;
    job.dtype = a.dtype;
    job.ddof = ddof;
    job.bins = (uint32_t)bins;
    job.has_range = has_range;
    job.lo = lo;
    job.hi = hi;
    job.range_from_data = range_from_data;
    job.call = jo.stream ? LANES_CLIENT_CALL_STREAM : LANES_CLIENT_CALL_AUTO;
    job.backend = jo.backend;
    job.chunk_bytes = (size_t)jo.chunk_bytes;
    job.data = a.data;
    job.n = a.n;

    lanes_client_t *c = cli_opts_connect(g);
    lanes_client_status_t st;
    lanes_client_reduce_reply_t reply;
    if (lanes_client_reduce(c, &job, &reply, &st) != GRPC_STATUS_OK) {
        rc = cli_output_server_error(&st);
    } else {
        cli_output_reduce(stdout, &reply);
        if (jo.want_summary)
            cli_output_summary(stderr, &reply.summary);
        if (fflush(stdout) != 0) {
            fprintf(stderr, "lanes: cannot write to stdout: %s\n", strerror(errno));
            rc = EXIT_SERVER;
        }
    }
    lanes_client_reduce_reply_free(&reply);
    lanes_client_free(c);
    arrayio_array_free(&a);
    return rc;
}

/* ---- acf ---- */

static const optspec_t acf_opts[] = {
    {"nlags", "N", "lags 0 .. N (default statsmodels': min(int(10*log10(n)), n-1))"},
    {"adjusted", NULL, "divide lag k by n - k instead of n"},
    {"alpha", "A", "Bartlett confidence intervals at level 1 - A (0 < A < 1)"},
    {"qstat", NULL, "Ljung-Box Q statistics and their p-values"},
    {"method", "auto|direct|fft", "how lags are computed (default auto: direct for few lags)"},
    {"out", "FILE", "where to write the result ('-' or none: text on stdout)"},
    {"format", "npy|raw|text", "the output format (default from the --out name:\n"
                               ".npy npy, .txt/.csv text, else raw)"},
    {"dtype", "DTYPE", "dtype of a raw or text input: float64, float32, int64, int32\n"
                       "(text defaults to float64); a .npy file carries its own dtype\n"
                       "(the ones 'lanes map --help' lists)"},
    {"chunk-bytes", "N", "payload per message (default 1M; at most 4M)"},
    {"backend", "NAME", "auto (default), inline, cpu, process-pool or cuda"},
    {"stream", NULL, "use the streaming call even for a job that fits one message"},
    {"summary", NULL, "print the job summary on stderr"},
    GLOBAL_OPTSPECS,
    {NULL, NULL, NULL},
};

static int parse_acf_method(const char *s, int *out)
{
    static const char *const names[] = {"auto", "direct", "fft"};
    for (int i = 0; i < 3; i++)
        if (strcmp(s, names[i]) == 0) {
            *out = i; /* Lanes__V1__AcfSpec__Method: 0 auto, 1 direct, 2 fft */
            return 0;
        }
    return -1;
}

int cli_array_acf(globals_t *g, int argc, char **argv)
{
    optiter_t it = {argc, argv, 0, 0, "lanes acf"};
    const optspec_t *spec;
    const char *val, *in = NULL;
    array_opts_t ao = ARRAY_OPTS_INIT;
    int handled, k;
    job_opts_t jo = {0};
    lanes_client_acf_job_t job;
    memset(&job, 0, sizeof job);
    job.nlags = -1;

    while ((k = cli_opts_next(&it, acf_opts, &spec, &val)) != OPT_END) {
        if (k == OPT_ERROR)
            return EXIT_USAGE;
        if (k == OPT_POSITIONAL) {
            if (in)
                return cli_opts_usage_error(it.cmd, "unexpected argument '%s' (the input is '%s')", val, in);
            in = val;
            continue;
        }
        const char *o = spec->name;
        if (strcmp(o, "help") == 0) {
            printf("Usage: lanes acf FILE [--nlags N] [--adjusted] [--alpha A] [--qstat] [--method M] [--out FILE]\n"
                   "The autocorrelation of a series, as statsmodels.tsa.stattools.acf (FILE: .npy, .txt/.csv\n"
                   "text, '-' text on stdin, else raw with --dtype). Text output has one row per lag:\n"
                   "'lag acf [lower upper] [qstat pvalue]' (qstat and pvalue are nan at lag 0). npy and raw\n"
                   "output write the acf to FILE and, when asked for, FILE's stem + .confint (flat lower,\n"
                   "upper pairs), .qstat and .pvalues beside it: r.npy, r.confint.npy, r.qstat.npy ...\n"
                   "Examples:\n  lanes acf x.npy --nlags 40\n  lanes acf x.npy --alpha 0.05 --qstat --out r.npy\n"
                   "\nOptions:\n");
            cli_opts_print(stdout, acf_opts);
            return EXIT_OK;
        } else if (strcmp(o, "nlags") == 0) {
            uint64_t v;
            if (cli_opts_parse_u64(val, &v) || v > INT64_MAX)
                return cli_opts_usage_error(it.cmd, "bad --nlags '%s' (a non-negative integer)", val);
            job.nlags = (int64_t)v;
        } else if (strcmp(o, "adjusted") == 0) {
            job.adjusted = 1;
        } else if (strcmp(o, "alpha") == 0) {
            if (cli_opts_parse_double(val, &job.alpha) || !(job.alpha > 0 && job.alpha < 1))
                return cli_opts_usage_error(it.cmd, "bad --alpha '%s' (a number between 0 and 1, e.g. 0.05)", val);
        } else if (strcmp(o, "qstat") == 0) {
            job.qstat = 1;
        } else if (strcmp(o, "method") == 0) {
            if (parse_acf_method(val, &job.method))
                return cli_opts_usage_error(it.cmd, "bad --method '%s' (auto, direct or fft)", val);
        } else if ((handled = array_option(it.cmd, o, val, &ao)) != 0 ||
                   (handled = cli_opts_job(it.cmd, o, val, &jo)) != 0) {
            if (handled < 0)
                return EXIT_USAGE;
        } else if (cli_opts_global(it.cmd, g, o, val) < 0) {
            return EXIT_USAGE;
        }
    }
    if (!in)
        return cli_opts_usage_error(it.cmd, "missing FILE (the series, e.g. 'lanes acf x.npy')");
    int to_stdout = array_opts_finish(&ao);
    if (ao.out_fmt != ARRAYIO_FORMAT_TEXT && to_stdout && (job.alpha != 0 || job.qstat))
        return cli_opts_usage_error(it.cmd, "--alpha and --qstat with %s output need --out FILE (they go to files "
                                   "beside it)", arrayio_format_name(ao.out_fmt));
    arrayio_array_t a;
    int rc = read_input(it.cmd, in, ao.in_dtype, &a);
    if (rc != EXIT_OK)
        return rc;
    /* One series, as the Python client's acf(): a (n,) array, or one of shape (1, n), (n, 1) ... */
    size_t longest = 0;
    for (size_t d = 0; d < a.ndim; d++)
        longest = a.shape[d] > longest ? a.shape[d] : longest;
    if (a.ndim > 1 && a.n != longest) {
        char sh[256];
        fprintf(stderr, "%s: '%s' has shape %s: acf takes one series (a 1-D array)\n", it.cmd, in,
                arrayio_shape_str(a.shape, a.ndim, sh, sizeof sh));
        arrayio_array_free(&a);
        return EXIT_USAGE;
    }
    job.dtype = a.dtype;
    job.data = a.data;
    job.n = a.n;
    job.backend = jo.backend;
    job.chunk_bytes = (size_t)jo.chunk_bytes;
    job.call = jo.stream ? LANES_CLIENT_CALL_STREAM : LANES_CLIENT_CALL_AUTO;

    lanes_client_t *c = cli_opts_connect(g);
    lanes_client_status_t st;
    lanes_client_acf_reply_t reply;
    if (lanes_client_acf(c, &job, &reply, &st) != GRPC_STATUS_OK) {
        rc = cli_output_server_error(&st);
    } else {
        if (jo.want_summary) {
            fprintf(stderr, "acf: n %" PRIu64 ", nlags %" PRIu64 ", method %s\n", reply.n, reply.nlags, reply.method);
            cli_output_summary(stderr, &reply.summary);
        }
        int bad;
        if (ao.out_fmt == ARRAYIO_FORMAT_TEXT && to_stdout) {
            bad = cli_output_acf_text(stdout, &reply);
            if (bad)
                fprintf(stderr, "lanes: cannot write to stdout: %s\n", strerror(errno));
        } else if (ao.out_fmt == ARRAYIO_FORMAT_TEXT) {
            FILE *f = fopen(ao.out_path, "w");
            bad = !f || cli_output_acf_text(f, &reply) != 0;
            if (f && fclose(f) != 0)
                bad = 1;
            if (bad)
                fprintf(stderr, "lanes: cannot write '%s': %s\n", ao.out_path, strerror(errno));
        } else {
            bad = cli_output_acf_arrays(to_stdout ? "-" : ao.out_path, ao.out_fmt, &reply);
        }
        if (bad)
            rc = EXIT_SERVER;
    }
    lanes_client_acf_reply_free(&reply);
    lanes_client_free(c);
    arrayio_array_free(&a);
    return rc;
}

