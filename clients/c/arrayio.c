/* arrayio: .npy, raw and text array files for the C clients (see arrayio.h for the formats).
 *
 * Design: npy is read straight from the FILE into the array's buffer (header first, then exactly the
 * bytes the shape asks for), so a large file is held once in memory. Raw and text are slurped whole:
 * a raw slurp becomes the array's buffer as is; text is tokenised in place (the slurp is
 * NUL-terminated so strtod/strtoll stop at the token's end) into a growing array. The .npy header is a
 * Python dict literal; a small parser accepts exactly the keys numpy writes (descr, fortran_order,
 * shape) with string, boolean and tuple values, and names what it did not understand.
 */
#define _POSIX_C_SOURCE 200809L

#include "arrayio.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "arrayio assumes a little-endian host"
#endif

#define NPY_MAGIC "\x93NUMPY"
#define NPY_MAGIC_LEN 6
#define NPY_MAX_HEADER (16u << 20) /* a sane bound on the dict's length */
#define NPY_MAX_DIMS 64

void arrayio_array_free(arrayio_array_t *a)
{
    if (!a)
        return;
    free(a->data);
    a->data = NULL;
    a->n = 0;
    a->dtype = LANES_DTYPE_INVALID;
}

int arrayio_format_parse(const char *name, arrayio_format_t *fmt)
{
    if (!name)
        return LANES_EINVAL;
    if (strcmp(name, "npy") == 0)
        *fmt = ARRAYIO_FORMAT_NPY;
    else if (strcmp(name, "raw") == 0 || strcmp(name, "bin") == 0)
        *fmt = ARRAYIO_FORMAT_RAW;
    else if (strcmp(name, "text") == 0 || strcmp(name, "txt") == 0)
        *fmt = ARRAYIO_FORMAT_TEXT;
    else
        return LANES_EINVAL;
    return 0;
}

const char *arrayio_format_name(arrayio_format_t fmt)
{
    switch (fmt) {
    case ARRAYIO_FORMAT_NPY:
        return "npy";
    case ARRAYIO_FORMAT_RAW:
        return "raw";
    case ARRAYIO_FORMAT_TEXT:
        return "text";
    }
    return "invalid";
}

static int ends_with_ci(const char *s, const char *suffix)
{
    size_t ls = strlen(s), lx = strlen(suffix);
    return ls >= lx && strcasecmp(s + ls - lx, suffix) == 0;
}

arrayio_format_t arrayio_format_from_path(const char *path)
{
    if (!path || strcmp(path, "-") == 0)
        return ARRAYIO_FORMAT_TEXT;
    if (ends_with_ci(path, ".npy"))
        return ARRAYIO_FORMAT_NPY;
    if (ends_with_ci(path, ".txt") || ends_with_ci(path, ".csv"))
        return ARRAYIO_FORMAT_TEXT;
    return ARRAYIO_FORMAT_RAW;
}

lanes_dtype_t arrayio_dtype_parse(const char *name)
{
    static const struct {
        const char *name;
        lanes_dtype_t dt;
    } table[] = {
        {"float64", LANES_DTYPE_F64}, {"f8", LANES_DTYPE_F64},     {"double", LANES_DTYPE_F64},
        {"float32", LANES_DTYPE_F32}, {"f4", LANES_DTYPE_F32},     {"float", LANES_DTYPE_F32},
        {"int64", LANES_DTYPE_I64},   {"i8", LANES_DTYPE_I64},     {"int32", LANES_DTYPE_I32},
        {"i4", LANES_DTYPE_I32},
    };
    if (!name)
        return LANES_DTYPE_INVALID;
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (strcmp(name, table[i].name) == 0)
            return table[i].dt;
    return LANES_DTYPE_INVALID;
}

/* ---- slurping ---- */

/* Reads the rest of f into a malloc'd buffer with one spare byte set to NUL (not counted in *len).
 * Returns 0 or a negative code with err set. */
static int slurp(FILE *f, const char *name, char **buf_out, size_t *len_out, lanes_error_t *err)
{
    size_t cap = 1 << 16, len = 0;
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
        long pos = ftell(f);
        size_t rest = (size_t)st.st_size - (pos > 0 ? (size_t)pos : 0);
        cap = rest + 1;
    }
    char *buf = malloc(cap);
    if (!buf)
        return lanes_error_set(err, LANES_ENOMEM, "'%s': out of memory reading %zu bytes", name, cap);
    for (;;) {
        if (len + 1 >= cap) {
            /* Full: peek before growing, so a file whose size was known is not doubled for nothing. */
            int c = fgetc(f);
            if (c == EOF) {
                if (ferror(f)) {
                    int e = errno;
                    free(buf);
                    return lanes_error_set(err, LANES_EINVAL, "cannot read '%s': %s", name, strerror(e));
                }
                break;
            }
            ungetc(c, f);
            size_t ncap = cap * 2;
            char *nb = realloc(buf, ncap);
            if (!nb) {
                free(buf);
                return lanes_error_set(err, LANES_ENOMEM, "'%s': out of memory reading %zu bytes", name,
                                       ncap);
            }
            buf = nb;
            cap = ncap;
        }
        size_t got = fread(buf + len, 1, cap - 1 - len, f);
        len += got;
        if (got == 0) {
            if (ferror(f)) {
                int e = errno;
                free(buf);
                return lanes_error_set(err, LANES_EINVAL, "cannot read '%s': %s", name, strerror(e));
            }
            break;
        }
    }
    buf[len] = '\0';
    *buf_out = buf;
    *len_out = len;
    return 0;
}

/* ---- npy header ---- */

typedef struct npy_header {
    lanes_dtype_t dtype;
    size_t n;
} npy_header_t;

typedef struct hparser {
    const char *p, *end;
    const char *name;
    lanes_error_t *err;
} hparser_t;

static void hp_skip_ws(hparser_t *hp)
{
    while (hp->p < hp->end && (*hp->p == ' ' || *hp->p == '\t' || *hp->p == '\n' || *hp->p == '\r'))
        hp->p++;
}

static int hp_fail(hparser_t *hp, const char *what)
{
    return lanes_error_set(hp->err, LANES_EINVAL, "'%s': bad .npy header: %s", hp->name, what);
}

/* Parses a quoted Python string into out (cap bytes, NUL-terminated). */
static int hp_string(hparser_t *hp, char *out, size_t cap)
{
    hp_skip_ws(hp);
    if (hp->p >= hp->end || (*hp->p != '\'' && *hp->p != '"'))
        return -1;
    char q = *hp->p++;
    size_t k = 0;
    while (hp->p < hp->end && *hp->p != q) {
        if (k + 1 >= cap)
            return -1;
        out[k++] = *hp->p++;
    }
    if (hp->p >= hp->end)
        return -1;
    hp->p++;
    out[k] = '\0';
    return 0;
}

static int hp_expect(hparser_t *hp, char c)
{
    hp_skip_ws(hp);
    if (hp->p < hp->end && *hp->p == c) {
        hp->p++;
        return 0;
    }
    return -1;
}

static int descr_to_dtype(hparser_t *hp, const char *descr, lanes_dtype_t *dt)
{
    static const struct {
        const char *code;
        lanes_dtype_t dt;
    } ok[] = {{"f8", LANES_DTYPE_F64}, {"f4", LANES_DTYPE_F32}, {"i8", LANES_DTYPE_I64}, {"i4", LANES_DTYPE_I32}};
    if (descr[0] == '<') {
        for (size_t i = 0; i < 4; i++)
            if (strcmp(descr + 1, ok[i].code) == 0) {
                *dt = ok[i].dt;
                return 0;
            }
    } else if (descr[0] == '>') {
        for (size_t i = 0; i < 4; i++)
            if (strcmp(descr + 1, ok[i].code) == 0)
                return lanes_error_set(hp->err, LANES_EINVAL,
                                       "'%s': big-endian data ('%s') is not supported; convert it with "
                                       "a.astype('<%s')",
                                       hp->name, descr, ok[i].code);
    }
    if (strchr(descr, 'O'))
        return lanes_error_set(hp->err, LANES_EINVAL,
                               "'%s': object arrays ('%s') are not supported (only <f8, <f4, <i8, <i4)",
                               hp->name, descr);
    return lanes_error_set(hp->err, LANES_EINVAL,
                           "'%s': dtype '%s' is not supported (only <f8, <f4, <i8, <i4)", hp->name, descr);
}

/* Parses the header dict (text, len bytes) into h. */
static int npy_parse_dict(const char *text, size_t len, const char *name, npy_header_t *h,
                          lanes_error_t *err)
{
    hparser_t hp = {text, text + len, name, err};
    int have_descr = 0, have_order = 0, have_shape = 0, fortran = 0, rc;
    size_t dims[NPY_MAX_DIMS], ndim = 0;
    char key[64], descr[64];

    if (hp_expect(&hp, '{'))
        return hp_fail(&hp, "it does not start with '{'");
    for (;;) {
        hp_skip_ws(&hp);
        if (hp.p < hp.end && *hp.p == '}')
            break;
        if (hp_string(&hp, key, sizeof key))
            return hp_fail(&hp, "expected a quoted key");
        if (hp_expect(&hp, ':'))
            return hp_fail(&hp, "expected ':' after a key");
        hp_skip_ws(&hp);
        if (strcmp(key, "descr") == 0) {
            if (hp_string(&hp, descr, sizeof descr)) {
                if (hp.p < hp.end && *hp.p == '[')
                    return lanes_error_set(err, LANES_EINVAL,
                                           "'%s': structured dtypes are not supported (only <f8, <f4, "
                                           "<i8, <i4)",
                                           name);
                return hp_fail(&hp, "'descr' is not a string");
            }
            have_descr = 1;
        } else if (strcmp(key, "fortran_order") == 0) {
            if ((size_t)(hp.end - hp.p) >= 4 && memcmp(hp.p, "True", 4) == 0) {
                fortran = 1;
                hp.p += 4;
            } else if ((size_t)(hp.end - hp.p) >= 5 && memcmp(hp.p, "False", 5) == 0) {
                fortran = 0;
                hp.p += 5;
            } else {
                return hp_fail(&hp, "'fortran_order' is not True or False");
            }
            have_order = 1;
        } else if (strcmp(key, "shape") == 0) {
            if (hp_expect(&hp, '('))
                return hp_fail(&hp, "'shape' is not a tuple");
            for (;;) {
                hp_skip_ws(&hp);
                if (hp.p < hp.end && *hp.p == ')') {
                    hp.p++;
                    break;
                }
                if (hp.p >= hp.end || !isdigit((unsigned char)*hp.p))
                    return hp_fail(&hp, "'shape' holds something other than non-negative integers");
                unsigned long long v = 0;
                while (hp.p < hp.end && isdigit((unsigned char)*hp.p)) {
                    unsigned d = (unsigned)(*hp.p++ - '0');
                    if (v > (ULLONG_MAX - d) / 10)
                        return hp_fail(&hp, "a 'shape' extent is too large");
                    v = v * 10 + d;
                }
                if (hp.p < hp.end && *hp.p == 'L') /* Python 2 long suffix */
                    hp.p++;
                if (ndim == NPY_MAX_DIMS)
                    return hp_fail(&hp, "'shape' has too many dimensions");
                if (v > SIZE_MAX)
                    return hp_fail(&hp, "a 'shape' extent is too large");
                dims[ndim++] = (size_t)v;
                hp_skip_ws(&hp);
                if (hp.p < hp.end && *hp.p == ',')
                    hp.p++;
                else if (hp.p < hp.end && *hp.p == ')')
                    continue;
                else
                    return hp_fail(&hp, "'shape' is not a tuple of integers");
            }
            have_shape = 1;
        } else {
            char msg[128];
            snprintf(msg, sizeof msg, "unexpected key '%s'", key);
            return hp_fail(&hp, msg);
        }
        hp_skip_ws(&hp);
        if (hp.p < hp.end && *hp.p == ',') {
            hp.p++;
            continue;
        }
        if (hp.p < hp.end && *hp.p == '}')
            break;
        return hp_fail(&hp, "expected ',' or '}' after a value");
    }
    if (!have_descr || !have_order || !have_shape)
        return hp_fail(&hp, !have_descr ? "no 'descr' key" : !have_order ? "no 'fortran_order' key"
                                                                         : "no 'shape' key");
    if ((rc = descr_to_dtype(&hp, descr, &h->dtype)) != 0)
        return rc;

    size_t n = 1, big = 0;
    for (size_t i = 0; i < ndim; i++) {
        if (dims[i] > 1)
            big++;
        if (dims[i] != 0 && n > SIZE_MAX / dims[i])
            return hp_fail(&hp, "the shape's element count overflows");
        n *= dims[i];
    }
    if (n > SIZE_MAX / lanes_dtype_size(h->dtype))
        return hp_fail(&hp, "the shape's byte count overflows");
    if (fortran && big > 1)
        return lanes_error_set(err, LANES_EINVAL,
                               "'%s': Fortran-ordered arrays are not supported; save it with "
                               "np.save(f, np.ascontiguousarray(a))",
                               name);
    h->n = n;
    return 0;
}

/* Checks the 8-byte prefix (magic + version) and returns the width of the length field (2 or 4). */
static int npy_check_prefix(const unsigned char *pre, size_t len, const char *name, lanes_error_t *err)
{
    if (len < 8 || memcmp(pre, NPY_MAGIC, NPY_MAGIC_LEN) != 0)
        return lanes_error_set(err, LANES_EINVAL, "'%s' is not a .npy file (no \\x93NUMPY magic)", name);
    if (pre[6] == 1)
        return 2;
    if (pre[6] == 2 || pre[6] == 3)
        return 4;
    return lanes_error_set(err, LANES_EINVAL, "'%s': .npy format version %u.%u is not supported", name,
                           pre[6], pre[7]);
}

static size_t npy_hlen(const unsigned char *p, int width)
{
    if (width == 2)
        return (size_t)p[0] | (size_t)p[1] << 8;
    return (size_t)p[0] | (size_t)p[1] << 8 | (size_t)p[2] << 16 | (size_t)p[3] << 24;
}

int arrayio_read_npy_buffer(const void *buf, size_t len, const char *name, arrayio_array_t *out,
                            lanes_error_t *err)
{
    const unsigned char *b = buf;
    npy_header_t h;
    memset(out, 0, sizeof *out);
    int width = npy_check_prefix(b, len, name, err);
    if (width < 0)
        return width;
    if (len < 8 + (size_t)width)
        return lanes_error_set(err, LANES_EINVAL, "'%s' is truncated inside the .npy header", name);
    size_t hlen = npy_hlen(b + 8, width), off = 8 + (size_t)width;
    if (hlen > len - off)
        return lanes_error_set(err, LANES_EINVAL, "'%s' is truncated inside the .npy header", name);
    int rc = npy_parse_dict((const char *)b + off, hlen, name, &h, err);
    if (rc)
        return rc;
    off += hlen;
    size_t bytes = h.n * lanes_dtype_size(h.dtype);
    if (bytes > len - off)
        return lanes_error_set(err, LANES_EINVAL,
                               "'%s' is truncated: its header promises %zu elements (%zu bytes) but only "
                               "%zu bytes follow",
                               name, h.n, bytes, len - off);
    void *data = NULL;
    if (bytes) {
        data = malloc(bytes);
        if (!data)
            return lanes_error_set(err, LANES_ENOMEM, "'%s': out of memory for %zu bytes", name, bytes);
        memcpy(data, b + off, bytes);
    }
    out->dtype = h.dtype;
    out->n = h.n;
    out->data = data;
    return 0;
}

static int npy_read_file(FILE *f, const char *name, arrayio_array_t *out, lanes_error_t *err)
{
    unsigned char pre[12];
    npy_header_t h;
    size_t got = fread(pre, 1, 8, f);
    int width = npy_check_prefix(pre, got, name, err);
    if (width < 0)
        return width;
    if (fread(pre + 8, 1, (size_t)width, f) != (size_t)width)
        return lanes_error_set(err, LANES_EINVAL, "'%s' is truncated inside the .npy header", name);
    size_t hlen = npy_hlen(pre + 8, width);
    if (hlen > NPY_MAX_HEADER)
        return lanes_error_set(err, LANES_EINVAL, "'%s': .npy header of %zu bytes is too long", name, hlen);
    char *text = malloc(hlen ? hlen : 1);
    if (!text)
        return lanes_error_set(err, LANES_ENOMEM, "'%s': out of memory", name);
    if (fread(text, 1, hlen, f) != hlen) {
        free(text);
        return lanes_error_set(err, LANES_EINVAL, "'%s' is truncated inside the .npy header", name);
    }
    int rc = npy_parse_dict(text, hlen, name, &h, err);
    free(text);
    if (rc)
        return rc;
    size_t bytes = h.n * lanes_dtype_size(h.dtype);
    void *data = NULL;
    if (bytes) {
        data = malloc(bytes);
        if (!data)
            return lanes_error_set(err, LANES_ENOMEM, "'%s': out of memory for %zu bytes", name, bytes);
        size_t have = fread(data, 1, bytes, f);
        if (have != bytes) {
            int e = ferror(f) ? errno : 0;
            free(data);
            if (e)
                return lanes_error_set(err, LANES_EINVAL, "cannot read '%s': %s", name, strerror(e));
            return lanes_error_set(err, LANES_EINVAL,
                                   "'%s' is truncated: its header promises %zu elements (%zu bytes) but "
                                   "only %zu bytes follow",
                                   name, h.n, bytes, have);
        }
    }
    out->dtype = h.dtype;
    out->n = h.n;
    out->data = data;
    return 0;
}

/* ---- raw and text ---- */

static int raw_from_buffer(char *buf, size_t len, const char *name, lanes_dtype_t dtype,
                           arrayio_array_t *out, lanes_error_t *err)
{
    size_t es = lanes_dtype_size(dtype);
    if (es == 0) {
        free(buf);
        return lanes_error_set(err, LANES_EINVAL, "'%s': raw input needs a dtype (float64, float32, int64 "
                                                  "or int32)", name);
    }
    if (len % es != 0) {
        free(buf);
        return lanes_error_set(err, LANES_EINVAL, "'%s' holds %zu bytes, not a whole number of %s "
                                                  "elements (%zu bytes each)",
                               name, len, lanes_dtype_name(dtype), es);
    }
    out->dtype = dtype;
    out->n = len / es;
    if (len == 0) {
        free(buf);
        buf = NULL;
    }
    out->data = buf; /* the slurp becomes the array (one spare byte at the end is harmless) */
    return 0;
}

static int is_sep(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f' || c == ',';
}

/* Tokenises a NUL-terminated buffer of numbers. Takes ownership of buf. */
static int text_from_buffer(char *buf, size_t len, const char *name, lanes_dtype_t dtype,
                            arrayio_array_t *out, lanes_error_t *err)
{
    if (dtype == LANES_DTYPE_INVALID)
        dtype = LANES_DTYPE_F64;
    size_t es = lanes_dtype_size(dtype);
    if (es == 0) {
        free(buf);
        return lanes_error_set(err, LANES_EINVAL, "'%s': bad dtype for text input", name);
    }
    size_t cap = 0, n = 0, line = 1;
    unsigned char *data = NULL;
    const char *p = buf, *end = buf + len;
    int rc = 0;
    while (p < end) {
        if (*p == '\n') {
            line++;
            p++;
            continue;
        }
        if (is_sep(*p)) {
            p++;
            continue;
        }
        if (*p == '#') {
            while (p < end && *p != '\n')
                p++;
            continue;
        }
        if (*p == '\0') {
            rc = lanes_error_set(err, LANES_EINVAL, "'%s' line %zu: a NUL byte in text input (is it a "
                                                    "binary file? give --format or a .npy name)",
                                 name, line);
            goto fail;
        }
        const char *tok = p;
        while (p < end && !is_sep(*p) && *p != '#' && *p != '\0')
            p++;
        size_t tlen = (size_t)(p - tok);
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 1024;
            unsigned char *nd = realloc(data, ncap * es);
            if (!nd) {
                rc = lanes_error_set(err, LANES_ENOMEM, "'%s': out of memory", name);
                goto fail;
            }
            data = nd;
            cap = ncap;
        }
        char *endp;
        int bad = 0;
        errno = 0;
        switch (dtype) {
        case LANES_DTYPE_F64: {
            double v = strtod(tok, &endp);
            bad = endp != p;
            memcpy(data + n * es, &v, es);
            break;
        }
        case LANES_DTYPE_F32: {
            float v = strtof(tok, &endp);
            bad = endp != p;
            memcpy(data + n * es, &v, es);
            break;
        }
        case LANES_DTYPE_I64:
        case LANES_DTYPE_I32: {
            long long v = strtoll(tok, &endp, 10);
            bad = endp != p || tlen == 0;
            if (!bad && (errno == ERANGE ||
                         (dtype == LANES_DTYPE_I32 && (v < INT32_MIN || v > INT32_MAX)))) {
                rc = lanes_error_set(err, LANES_EINVAL, "'%s' line %zu: '%.*s' is out of range for %s",
                                     name, line, (int)(tlen > 64 ? 64 : tlen), tok,
                                     lanes_dtype_name(dtype));
                goto fail;
            }
            if (dtype == LANES_DTYPE_I64) {
                int64_t w = (int64_t)v;
                memcpy(data + n * es, &w, es);
            } else {
                int32_t w = (int32_t)v;
                memcpy(data + n * es, &w, es);
            }
            break;
        }
        default:
            bad = 1;
        }
        if (bad) {
            rc = lanes_error_set(err, LANES_EINVAL, "'%s' line %zu: '%.*s' is not a valid %s", name, line,
                                 (int)(tlen > 64 ? 64 : tlen), tok, lanes_dtype_name(dtype));
            goto fail;
        }
        n++;
    }
    free(buf);
    out->dtype = dtype;
    out->n = n;
    out->data = n ? data : NULL;
    if (!n)
        free(data);
    return 0;
fail:
    free(buf);
    free(data);
    return rc;
}

static int read_format(FILE *f, const char *name, arrayio_format_t fmt, lanes_dtype_t dtype,
                       arrayio_array_t *out, lanes_error_t *err)
{
    char *buf;
    size_t len;
    int rc;
    if (fmt == ARRAYIO_FORMAT_NPY)
        return npy_read_file(f, name, out, err);
    if (fmt == ARRAYIO_FORMAT_RAW && lanes_dtype_size(dtype) == 0)
        return lanes_error_set(err, LANES_EINVAL,
                               "'%s': raw input needs a dtype (float64, float32, int64 or int32)", name);
    if ((rc = slurp(f, name, &buf, &len, err)) != 0)
        return rc;
    if (fmt == ARRAYIO_FORMAT_RAW)
        return raw_from_buffer(buf, len, name, dtype, out, err);
    return text_from_buffer(buf, len, name, dtype, out, err);
}

int arrayio_read(FILE *f, const char *name, arrayio_format_t fmt, lanes_dtype_t dtype,
                 arrayio_array_t *out, lanes_error_t *err)
{
    memset(out, 0, sizeof *out);
    return read_format(f, name, fmt, dtype, out, err);
}

int arrayio_read_path(const char *path, arrayio_format_t fmt, lanes_dtype_t dtype, arrayio_array_t *out,
                      lanes_error_t *err)
{
    memset(out, 0, sizeof *out);
    if (strcmp(path, "-") == 0) {
        /* stdin cannot be rewound: slurp it, then sniff the buffer. */
        char *buf;
        size_t len;
        int rc = slurp(stdin, "<stdin>", &buf, &len, err);
        if (rc)
            return rc;
        if (len >= NPY_MAGIC_LEN && memcmp(buf, NPY_MAGIC, NPY_MAGIC_LEN) == 0) {
            rc = arrayio_read_npy_buffer(buf, len, "<stdin>", out, err);
            free(buf);
            return rc;
        }
        if (fmt == ARRAYIO_FORMAT_NPY) {
            free(buf);
            return lanes_error_set(err, LANES_EINVAL, "'<stdin>' is not a .npy file (no \\x93NUMPY magic)");
        }
        if (fmt == ARRAYIO_FORMAT_RAW)
            return raw_from_buffer(buf, len, "<stdin>", dtype, out, err);
        return text_from_buffer(buf, len, "<stdin>", dtype, out, err);
    }
    FILE *f = fopen(path, "rb");
    if (!f)
        return lanes_error_set(err, LANES_EINVAL, "cannot open '%s': %s", path, strerror(errno));
    char magic[NPY_MAGIC_LEN];
    size_t got = fread(magic, 1, sizeof magic, f);
    if (got == sizeof magic && memcmp(magic, NPY_MAGIC, NPY_MAGIC_LEN) == 0)
        fmt = ARRAYIO_FORMAT_NPY;
    int rc;
    if (fseek(f, 0, SEEK_SET) != 0)
        rc = lanes_error_set(err, LANES_EINVAL, "cannot rewind '%s': %s", path, strerror(errno));
    else
        rc = read_format(f, path, fmt, dtype, out, err);
    fclose(f);
    return rc;
}

/* ---- writing ---- */

size_t arrayio_npy_header(char *buf, size_t cap, lanes_dtype_t dtype, size_t n, int version)
{
    const char *descr;
    switch (dtype) {
    case LANES_DTYPE_F64:
        descr = "<f8";
        break;
    case LANES_DTYPE_F32:
        descr = "<f4";
        break;
    case LANES_DTYPE_I64:
        descr = "<i8";
        break;
    case LANES_DTYPE_I32:
        descr = "<i4";
        break;
    default:
        return 0;
    }
    char dict[128];
    int dl = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (%zu,), }",
                      descr, n);
    if (dl < 0 || (size_t)dl >= sizeof dict)
        return 0;
    if (version == 0)
        version = 1; /* a 1-D header always fits in 65535 bytes */
    if (version != 1 && version != 2)
        return 0;
    size_t pre = version == 1 ? 10 : 12;
    size_t total = pre + (size_t)dl + 1; /* + '\n' */
    total = (total + 63) / 64 * 64;      /* numpy aligns the data to 64 bytes */
    if (total > cap)
        return 0;
    size_t hlen = total - pre;
    memcpy(buf, NPY_MAGIC, NPY_MAGIC_LEN);
    buf[6] = (char)version;
    buf[7] = 0;
    if (version == 1) {
        buf[8] = (char)(hlen & 0xff);
        buf[9] = (char)(hlen >> 8);
    } else {
        buf[8] = (char)(hlen & 0xff);
        buf[9] = (char)((hlen >> 8) & 0xff);
        buf[10] = (char)((hlen >> 16) & 0xff);
        buf[11] = (char)((hlen >> 24) & 0xff);
    }
    memcpy(buf + pre, dict, (size_t)dl);
    memset(buf + pre + dl, ' ', total - pre - (size_t)dl - 1);
    buf[total - 1] = '\n';
    return total;
}

static int write_failed(const char *name, lanes_error_t *err)
{
    return lanes_error_set(err, LANES_EINVAL, "cannot write '%s': %s", name, strerror(errno ? errno : EIO));
}

static int write_text(FILE *f, const char *name, lanes_dtype_t dtype, const void *data, size_t n,
                      lanes_error_t *err)
{
    char buf[1 << 16];
    size_t used = 0;
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++) {
        if (sizeof buf - used < 64) {
            if (fwrite(buf, 1, used, f) != used)
                return write_failed(name, err);
            used = 0;
        }
        int w;
        switch (dtype) {
        case LANES_DTYPE_F64: {
            double v;
            memcpy(&v, p + i * 8, 8);
            w = snprintf(buf + used, sizeof buf - used, "%.17g\n", v);
            break;
        }
        case LANES_DTYPE_F32: {
            float v;
            memcpy(&v, p + i * 4, 4);
            w = snprintf(buf + used, sizeof buf - used, "%.9g\n", (double)v);
            break;
        }
        case LANES_DTYPE_I64: {
            int64_t v;
            memcpy(&v, p + i * 8, 8);
            w = snprintf(buf + used, sizeof buf - used, "%" PRId64 "\n", v);
            break;
        }
        case LANES_DTYPE_I32: {
            int32_t v;
            memcpy(&v, p + i * 4, 4);
            w = snprintf(buf + used, sizeof buf - used, "%" PRId32 "\n", v);
            break;
        }
        default:
            return lanes_error_set(err, LANES_EINVAL, "cannot write '%s': bad dtype", name);
        }
        used += (size_t)w;
    }
    if (used && fwrite(buf, 1, used, f) != used)
        return write_failed(name, err);
    return 0;
}

int arrayio_write(FILE *f, const char *name, arrayio_format_t fmt, lanes_dtype_t dtype, const void *data,
                  size_t n, lanes_error_t *err)
{
    size_t es = lanes_dtype_size(dtype);
    if (es == 0)
        return lanes_error_set(err, LANES_EINVAL, "cannot write '%s': bad dtype", name);
    errno = 0;
    if (fmt == ARRAYIO_FORMAT_TEXT) {
        int rc = write_text(f, name, dtype, data, n, err);
        if (rc)
            return rc;
    } else {
        if (fmt == ARRAYIO_FORMAT_NPY) {
            char hdr[256];
            size_t hl = arrayio_npy_header(hdr, sizeof hdr, dtype, n, 0);
            if (hl == 0 || fwrite(hdr, 1, hl, f) != hl)
                return write_failed(name, err);
        }
        if (n && fwrite(data, es, n, f) != n)
            return write_failed(name, err);
    }
    if (fflush(f) != 0 || ferror(f))
        return write_failed(name, err);
    return 0;
}

int arrayio_write_path(const char *path, arrayio_format_t fmt, lanes_dtype_t dtype, const void *data,
                       size_t n, lanes_error_t *err)
{
    if (strcmp(path, "-") == 0)
        return arrayio_write(stdout, "<stdout>", fmt, dtype, data, n, err);
    FILE *f = fopen(path, "wb");
    if (!f)
        return lanes_error_set(err, LANES_EINVAL, "cannot create '%s': %s", path, strerror(errno));
    int rc = arrayio_write(f, path, fmt, dtype, data, n, err);
    if (fclose(f) != 0 && rc == 0)
        rc = write_failed(path, err);
    return rc;
}
