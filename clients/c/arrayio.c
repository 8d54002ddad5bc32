/* arrayio: .npy, raw and text array files for the C clients (see arrayio.h for the formats).
 *
 * Design: npy is read straight from the FILE into the array's buffer (header first, then exactly the
 * bytes the shape asks for), so a large file of a wire dtype in C order is held once in memory; a
 * file of another dtype or byte order is converted element by element into a second buffer (the
 * Python client's wire_dtype() conversions), and a Fortran-ordered one is then reordered to C order
 * (one more buffer). Raw and text are slurped whole:
 * a raw slurp becomes the array's buffer as is; text is tokenised in place (the slurp is
 * NUL-terminated so strtod/strtoll stop at the token's end) into a growing array. The .npy header is a
 * Python dict literal; a small parser accepts exactly the keys numpy writes (descr, fortran_order,
 * shape) with string, boolean and tuple values, and names what it did not understand.
 */
#define _POSIX_C_SOURCE 200809L

#include "arrayio.h"

#include <ctype.h>
#include <errno.h>
#include <float.h>
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
#define NPY_MAX_DIMS ARRAYIO_MAX_DIMS
#define NPY_MAX_ITEMSIZE 16

void arrayio_array_free(arrayio_array_t *a)
{
    if (!a)
        return;
    free(a->data);
    a->data = NULL;
    a->n = 0;
    a->ndim = 0;
    a->file_dtype[0] = '\0';
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
    lanes_dtype_t dtype; /* the wire dtype the data becomes */
    char kind;           /* the file's element kind: 'f', 'i', 'u' or 'b' */
    size_t itemsize;     /* the file's bytes per element */
    int swap;            /* the file's elements are big-endian */
    int fortran;
    size_t n, ndim, dims[NPY_MAX_DIMS];
    char descr[16];
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

/* numpy's float128 on x86-64 is the x87 80-bit extended format padded to 16 bytes: C's long double. */
#if LDBL_MANT_DIG == 64 && LDBL_MAX_EXP == 16384 && defined(__SIZEOF_LONG_DOUBLE__) && __SIZEOF_LONG_DOUBLE__ == 16
#define ARRAYIO_HAVE_F16 1
#else
#define ARRAYIO_HAVE_F16 0
#endif

#define NPY_DTYPES_ACCEPTED                                                                            \
    "float16, float32, float64, float128, int8 to int64, uint8 to uint64 and bool"

/* The wire dtype a file element of kind and size becomes: the Python client's wire_dtype(). */
static lanes_dtype_t npy_wire_dtype(char kind, size_t size)
{
    switch (kind) {
    case 'f':
        return size == 4 || size == 2 ? LANES_DTYPE_F32 : LANES_DTYPE_F64;
    case 'b':
        return LANES_DTYPE_I32;
    case 'i':
        return size == 8 ? LANES_DTYPE_I64 : LANES_DTYPE_I32;
    case 'u':
        return size <= 2 ? LANES_DTYPE_I32 : size == 4 ? LANES_DTYPE_I64 : LANES_DTYPE_F64;
    }
    return LANES_DTYPE_INVALID;
}

/* Parses a descr such as '<f8', '|u1', '>i2' into h (kind, itemsize, swap, dtype). */
static int descr_to_dtype(hparser_t *hp, const char *descr, npy_header_t *h)
{
    const char *p = descr;
    char order = '=';
    if (*p == '<' || *p == '>' || *p == '|' || *p == '=')
        order = *p++;
    char kind = *p ? *p++ : '\0';
    char *end;
    unsigned long size = isdigit((unsigned char)*p) ? strtoul(p, &end, 10) : 0;
    int sized = size > 0 && *end == '\0';
    if (kind == 'c')
        return lanes_error_set(hp->err, LANES_EINVAL,
                               "'%s': complex data ('%s') is not supported (lanes takes real numbers: "
                               "%s); save the real and imaginary parts as two arrays",
                               hp->name, descr, NPY_DTYPES_ACCEPTED);
    if (kind == 'O')
        return lanes_error_set(hp->err, LANES_EINVAL,
                               "'%s': object arrays ('%s') are not supported (only %s)", hp->name, descr,
                               NPY_DTYPES_ACCEPTED);
    int ok = sized && ((kind == 'f' && (size == 2 || size == 4 || size == 8 || (ARRAYIO_HAVE_F16 && size == 16))) ||
                       ((kind == 'i' || kind == 'u') && (size == 1 || size == 2 || size == 4 || size == 8)) ||
                       (kind == 'b' && size == 1));
    if (!ok)
        return lanes_error_set(hp->err, LANES_EINVAL, "'%s': dtype '%s' is not supported (only %s)", hp->name,
                               descr, NPY_DTYPES_ACCEPTED);
    h->kind = kind;
    h->itemsize = size;
    h->swap = order == '>' && size > 1;
    h->dtype = npy_wire_dtype(kind, size);
    snprintf(h->descr, sizeof h->descr, "%.15s", descr); /* a valid descr has at most 4 characters */
    return 0;
}

/* Parses the header dict (text, len bytes) into h. */
static int npy_parse_dict(const char *text, size_t len, const char *name, npy_header_t *h,
                          lanes_error_t *err)
{
    hparser_t hp = {text, text + len, name, err};
    memset(h, 0, sizeof *h);
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
                                           "'%s': structured dtypes are not supported (only %s)", name,
                                           NPY_DTYPES_ACCEPTED);
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
    if ((rc = descr_to_dtype(&hp, descr, h)) != 0)
        return rc;

    size_t n = 1;
    for (size_t i = 0; i < ndim; i++) {
        if (dims[i] != 0 && n > SIZE_MAX / dims[i])
            return hp_fail(&hp, "the shape's element count overflows");
        n *= dims[i];
    }
    if (n > SIZE_MAX / NPY_MAX_ITEMSIZE)
        return hp_fail(&hp, "the shape's byte count overflows");
    h->fortran = fortran;
    h->ndim = ndim;
    memcpy(h->dims, dims, ndim * sizeof *dims);
    h->n = n;
    return 0;
}

/* ---- npy data: conversion to a wire dtype, Fortran to C order ---- */

/* IEEE binary16 to float: exact (every half is a float). */
static float half_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h >> 15) << 31, exp = (h >> 10) & 0x1f, mant = h & 0x3ff, bits;
    if (exp == 0x1f) {
        bits = sign | 0x7f800000u | (mant << 13); /* inf, nan (payload kept) */
    } else if (exp != 0) {
        bits = sign | ((exp + 112) << 23) | (mant << 13);
    } else if (mant == 0) {
        bits = sign;
    } else {
        /* subnormal: mant * 2^-24, normalised */
        int e = -1;
        do {
            mant <<= 1;
            e++;
        } while (!(mant & 0x400));
        bits = sign | ((uint32_t)(112 - e) << 23) | ((mant & 0x3ff) << 13);
    }
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

/* Whether the file's elements are already the wire layout (a wire dtype, little-endian). */
static int npy_is_wire(const npy_header_t *h)
{
    return !h->swap && ((h->kind == 'f' && (h->itemsize == 8 || h->itemsize == 4)) ||
                        (h->kind == 'i' && (h->itemsize == 8 || h->itemsize == 4)));
}

/* Converts n file elements at src into h->dtype at dst, as numpy's astype(wire_dtype) does. */
static void npy_convert(const npy_header_t *h, const unsigned char *src, unsigned char *dst, size_t n)
{
    size_t is = h->itemsize, es = lanes_dtype_size(h->dtype);
    unsigned char e[NPY_MAX_ITEMSIZE];
    for (size_t i = 0; i < n; i++, src += is, dst += es) {
        if (h->swap)
            for (size_t k = 0; k < is; k++)
                e[k] = src[is - 1 - k];
        else
            memcpy(e, src, is);
        int64_t iv = 0;
        double dv = 0;
        int is_int = 1;
        switch (h->kind) {
        case 'b':
            iv = e[0] != 0;
            break;
        case 'i':
            if (is == 1) {
                int8_t v;
                memcpy(&v, e, 1);
                iv = v;
            } else if (is == 2) {
                int16_t v;
                memcpy(&v, e, 2);
                iv = v;
            } else if (is == 4) {
                int32_t v;
                memcpy(&v, e, 4);
                iv = v;
            } else {
                memcpy(&iv, e, 8);
            }
            break;
        case 'u':
            if (is == 1) {
                iv = e[0];
            } else if (is == 2) {
                uint16_t v;
                memcpy(&v, e, 2);
                iv = v;
            } else if (is == 4) {
                uint32_t v;
                memcpy(&v, e, 4);
                iv = v;
            } else {
                uint64_t v;
                memcpy(&v, e, 8);
                dv = (double)v; /* round to nearest, as numpy's astype(float64) */
                is_int = 0;
            }
            break;
        default: /* 'f' */
            is_int = 0;
            if (is == 2) {
                uint16_t v;
                memcpy(&v, e, 2);
                float f = half_to_float(v);
                memcpy(dst, &f, 4);
                continue;
            } else if (is == 4) {
                memcpy(dst, e, 4);
                continue;
            } else if (is == 8) {
                memcpy(&dv, e, 8);
            } else {
#if ARRAYIO_HAVE_F16
                long double v;
                memcpy(&v, e, sizeof v);
                dv = (double)v;
#endif
            }
        }
        if (!is_int) {
            memcpy(dst, &dv, 8);
        } else if (h->dtype == LANES_DTYPE_I64) {
            memcpy(dst, &iv, 8);
        } else {
            int32_t w = (int32_t)iv; /* in range: only types of at most 31 value bits come here */
            memcpy(dst, &w, 4);
        }
    }
}

/* Copies a Fortran-ordered array of extents dims[0 .. ndim-1] (es bytes each) at src into C order at dst. */
static void fortran_to_c(const unsigned char *src, unsigned char *dst, size_t es, const size_t *dims, size_t ndim,
                         size_t n)
{
    size_t fs[NPY_MAX_DIMS], idx[NPY_MAX_DIMS] = {0}, off = 0;
    for (size_t j = 0; j < ndim; j++)
        fs[j] = j ? fs[j - 1] * dims[j - 1] : 1;
    for (size_t i = 0; i < n; i++) {
        memcpy(dst + i * es, src + off * es, es);
        for (size_t j = ndim; j-- > 0;) {
            if (++idx[j] < dims[j]) {
                off += fs[j];
                break;
            }
            off -= (dims[j] - 1) * fs[j];
            idx[j] = 0;
        }
    }
}

/* Makes out from the file's element bytes raw (h->n elements of h->itemsize; taken over: kept as the
 * array's buffer or freed): converted to the wire dtype and reordered to C order as needed. */
static int npy_finish(const npy_header_t *h, void *raw, const char *name, arrayio_array_t *out, lanes_error_t *err)
{
    size_t es = lanes_dtype_size(h->dtype), big = 0;
    void *data = raw;
    for (size_t i = 0; i < h->ndim; i++)
        big += h->dims[i] > 1;
    if (h->n && !npy_is_wire(h)) {
        data = malloc(h->n * es);
        if (!data) {
            free(raw);
            return lanes_error_set(err, LANES_ENOMEM, "'%s': out of memory for %zu bytes", name, h->n * es);
        }
        npy_convert(h, raw, data, h->n);
        free(raw);
    }
    if (h->n && h->fortran && big > 1) {
        void *c = malloc(h->n * es);
        if (!c) {
            free(data);
            return lanes_error_set(err, LANES_ENOMEM, "'%s': out of memory for %zu bytes", name, h->n * es);
        }
        fortran_to_c(data, c, es, h->dims, h->ndim, h->n);
        free(data);
        data = c;
    }
    if (!h->n) {
        free(data);
        data = NULL;
    }
    out->dtype = h->dtype;
    out->n = h->n;
    out->data = data;
    out->ndim = h->ndim;
    memcpy(out->shape, h->dims, h->ndim * sizeof *h->dims);
    memcpy(out->file_dtype, h->descr, sizeof out->file_dtype);
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
    size_t bytes = h.n * h.itemsize;
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
    return npy_finish(&h, data, name, out, err);
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
    size_t bytes = h.n * h.itemsize;
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
    return npy_finish(&h, data, name, out, err);
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
    out->ndim = 1;
    out->shape[0] = out->n;
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
    out->ndim = 1;
    out->shape[0] = n;
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

char *arrayio_shape_str(const size_t *shape, size_t ndim, char *buf, size_t cap)
{
    size_t used = 0;
    if (cap == 0)
        return buf;
    buf[0] = '\0';
#define SHAPE_PUT(...)                                                                                 \
    do {                                                                                               \
        int w_ = snprintf(buf + used, cap - used, __VA_ARGS__);                                        \
        if (w_ < 0 || (size_t)w_ >= cap - used)                                                        \
            return buf;                                                                                \
        used += (size_t)w_;                                                                            \
    } while (0)
    SHAPE_PUT("(");
    for (size_t i = 0; i < ndim; i++)
        SHAPE_PUT("%s%zu", i ? ", " : "", shape[i]);
    SHAPE_PUT("%s)", ndim == 1 ? "," : "");
#undef SHAPE_PUT
    return buf;
}

size_t arrayio_npy_header_nd(char *buf, size_t cap, lanes_dtype_t dtype, const size_t *shape, size_t ndim,
                             int version)
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
    if (ndim > ARRAYIO_MAX_DIMS)
        return 0;
    char dict[ARRAYIO_NPY_HEADER_MAX - 64], tuple[ARRAYIO_NPY_HEADER_MAX - 128];
    arrayio_shape_str(shape, ndim, tuple, sizeof tuple);
    int dl = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': %s, }", descr,
                      tuple);
    if (dl < 0 || (size_t)dl >= sizeof dict)
        return 0;
    if (version == 0)
        version = 1; /* a header of at most 64 dimensions always fits in 65535 bytes */
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

size_t arrayio_npy_header(char *buf, size_t cap, lanes_dtype_t dtype, size_t n, int version)
{
    return arrayio_npy_header_nd(buf, cap, dtype, &n, 1, version);
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

int arrayio_write_nd(FILE *f, const char *name, arrayio_format_t fmt, lanes_dtype_t dtype, const void *data,
                     const size_t *shape, size_t ndim, lanes_error_t *err)
{
    size_t es = lanes_dtype_size(dtype), n = 1;
    if (es == 0)
        return lanes_error_set(err, LANES_EINVAL, "cannot write '%s': bad dtype", name);
    if (ndim > ARRAYIO_MAX_DIMS)
        return lanes_error_set(err, LANES_EINVAL, "cannot write '%s': %zu dimensions (at most %d)", name, ndim,
                               ARRAYIO_MAX_DIMS);
    for (size_t i = 0; i < ndim; i++)
        n *= shape[i];
    errno = 0;
    if (fmt == ARRAYIO_FORMAT_TEXT) {
        int rc = write_text(f, name, dtype, data, n, err);
        if (rc)
            return rc;
    } else {
        if (fmt == ARRAYIO_FORMAT_NPY) {
            char hdr[ARRAYIO_NPY_HEADER_MAX];
            size_t hl = arrayio_npy_header_nd(hdr, sizeof hdr, dtype, shape, ndim, 0);
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

int arrayio_write(FILE *f, const char *name, arrayio_format_t fmt, lanes_dtype_t dtype, const void *data,
                  size_t n, lanes_error_t *err)
{
    return arrayio_write_nd(f, name, fmt, dtype, data, &n, 1, err);
}

int arrayio_write_path_nd(const char *path, arrayio_format_t fmt, lanes_dtype_t dtype, const void *data,
                          const size_t *shape, size_t ndim, lanes_error_t *err)
{
    if (strcmp(path, "-") == 0)
        return arrayio_write_nd(stdout, "<stdout>", fmt, dtype, data, shape, ndim, err);
    FILE *f = fopen(path, "wb");
    if (!f)
        return lanes_error_set(err, LANES_EINVAL, "cannot create '%s': %s", path, strerror(errno));
    int rc = arrayio_write_nd(f, path, fmt, dtype, data, shape, ndim, err);
    if (fclose(f) != 0 && rc == 0)
        rc = write_failed(path, err);
    return rc;
}

int arrayio_write_path(const char *path, arrayio_format_t fmt, lanes_dtype_t dtype, const void *data,
                       size_t n, lanes_error_t *err)
{
    return arrayio_write_path_nd(path, fmt, dtype, data, &n, 1, err);
}

/* ---- broadcasting ---- */

int arrayio_broadcast_shape(const arrayio_array_t *const *arrays, const char *const *names, size_t k,
                            size_t *shape, size_t *ndim, lanes_error_t *err)
{
    size_t nd = 0;
    for (size_t i = 0; i < k; i++)
        if (arrays[i]->ndim > nd)
            nd = arrays[i]->ndim;
    for (size_t d = 0; d < nd; d++)
        shape[d] = 1;
    for (size_t i = 0; i < k; i++) {
        const arrayio_array_t *a = arrays[i];
        for (size_t j = 0; j < a->ndim; j++) {
            size_t d = nd - a->ndim + j, ext = a->shape[j];
            if (ext == shape[d] || ext == 1)
                continue;
            if (shape[d] == 1) {
                shape[d] = ext;
                continue;
            }
            /* name the first array that set this extent, and this one */
            size_t first = 0;
            while (first < i) {
                const arrayio_array_t *b = arrays[first];
                if (b->ndim >= nd - d && b->shape[b->ndim - (nd - d)] == shape[d])
                    break;
                first++;
            }
            char s1[256], s2[256];
            return lanes_error_set(err, LANES_EINVAL,
                                   "inputs cannot be broadcast together: '%s' has shape %s, '%s' has shape %s",
                                   names[first], arrayio_shape_str(arrays[first]->shape, arrays[first]->ndim,
                                                                   s1, sizeof s1),
                                   names[i], arrayio_shape_str(a->shape, a->ndim, s2, sizeof s2));
        }
    }
    *ndim = nd;
    return 0;
}

int arrayio_broadcast_to(arrayio_array_t *a, const size_t *shape, size_t ndim, const char *name,
                         lanes_error_t *err)
{
    if (a->ndim > ndim || ndim > ARRAYIO_MAX_DIMS)
        return lanes_error_set(err, LANES_EINVAL, "'%s' cannot be broadcast to %zu dimensions", name, ndim);
    int same = a->ndim == ndim;
    size_t n = 1;
    for (size_t d = 0; d < ndim; d++) {
        n *= shape[d];
        if (same && a->shape[d] != shape[d])
            same = 0;
    }
    if (same)
        return 0;
    /* the source's strides (in elements) per output dimension: 0 where it is broadcast */
    size_t stride[ARRAYIO_MAX_DIMS], idx[ARRAYIO_MAX_DIMS] = {0}, s = 1;
    for (size_t d = ndim; d-- > 0;) {
        size_t j = d + a->ndim - ndim; /* wraps for a missing dimension (d < ndim - a->ndim) */
        size_t ext = d >= ndim - a->ndim ? a->shape[j] : 1;
        if (ext != 1 && ext != shape[d])
            return lanes_error_set(err, LANES_EINVAL, "'%s' cannot be broadcast to that shape", name);
        stride[d] = ext == 1 ? 0 : s;
        s *= ext;
    }
    size_t es = lanes_dtype_size(a->dtype);
    unsigned char *dst = NULL;
    if (n) {
        if (n > SIZE_MAX / es || !(dst = malloc(n * es)))
            return lanes_error_set(err, LANES_ENOMEM, "'%s': out of memory broadcasting it to %zu elements",
                                   name, n);
        const unsigned char *src = a->data;
        size_t off = 0;
        for (size_t i = 0; i < n; i++) {
            memcpy(dst + i * es, src + off * es, es);
            for (size_t d = ndim; d-- > 0;) {
                if (++idx[d] < shape[d]) {
                    off += stride[d];
                    break;
                }
                off -= (shape[d] - 1) * stride[d];
                idx[d] = 0;
            }
        }
    }
    free(a->data);
    a->data = dst;
    a->n = n;
    a->ndim = ndim;
    memcpy(a->shape, shape, ndim * sizeof *shape);
    return 0;
}
