/* text_format.c (base library): the course's output formats of lanes/text_format.h: Python's repr() of
 * a float (the one implementation: the kernels' messages, e.g. the reducer's "supplied range of [0.0,
 * inf]", and the .dat line both use it) and the word count's .dat line. The word ACF's CSV row is in
 * kernels/cpu/text_acf.c, which owns the ACF object.
 *
 * Design: repr() is the shortest decimal that reads back to the same double. We try %.{p}e for
 * p = 1 .. 17 significant digits and keep the first that strtod() maps back to v (glibc's printf
 * rounds correctly, so that is the nearest p-digit decimal, which is what Python's dtoa picks), then
 * lay the digits out by Python's rules for repr: scientific when the decimal exponent is < -4 or
 * >= 16 (mantissa without a trailing ".0", exponent signed with at least two digits), positional
 * otherwise with ".0" added to integers.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lanes/text_format.h"

int lanes_py_float_repr(double v, char *buf, size_t cap)
{
    char out[48];
    if (isnan(v))
        return snprintf(buf, cap, "nan");
    if (isinf(v))
        return snprintf(buf, cap, v < 0 ? "-inf" : "inf");
    if (v == 0)
        return snprintf(buf, cap, signbit(v) ? "-0.0" : "0.0");

    char tmp[40];
    for (int p = 1; p <= 17; p++) {
        snprintf(tmp, sizeof tmp, "%.*e", p - 1, v);
        if (strtod(tmp, NULL) == v)
            break;
    }
    /* tmp: [-]d[.ddd]e[+-]xx */
    const char *s = tmp;
    int neg = 0;
    if (*s == '-') {
        neg = 1;
        s++;
    }
    char digits[20];
    size_t nd = 0;
    for (; *s && *s != 'e'; s++)
        if (*s != '.')
            digits[nd++] = *s;
    while (nd > 1 && digits[nd - 1] == '0')
        nd--;
    int exp = atoi(s + 1);

    size_t o = 0;
    if (neg)
        out[o++] = '-';
    if (exp < -4 || exp >= 16) {
        out[o++] = digits[0];
        if (nd > 1) {
            out[o++] = '.';
            memcpy(out + o, digits + 1, nd - 1);
            o += nd - 1;
        }
        o += (size_t)snprintf(out + o, sizeof out - o, "e%c%02d", exp < 0 ? '-' : '+',
                              exp < 0 ? -exp : exp);
    } else if (exp < 0) {
        out[o++] = '0';
        out[o++] = '.';
        for (int k = 0; k < -exp - 1; k++)
            out[o++] = '0';
        memcpy(out + o, digits, nd);
        o += nd;
    } else {
        size_t ip = (size_t)exp + 1;  /* digits before the point */
        for (size_t k = 0; k < ip; k++)
            out[o++] = k < nd ? digits[k] : '0';
        out[o++] = '.';
        if (nd > ip) {
            memcpy(out + o, digits + ip, nd - ip);
            o += nd - ip;
        } else {
            out[o++] = '0';
        }
    }
    out[o] = '\0';
    return snprintf(buf, cap, "%s", out);
}

int lanes_word_dat_line(const lanes_word_entry_t *e, uint64_t total, char *buf, size_t cap)
{
    if (!e || !e->word)
        return LANES_EINVAL;
    char pct[48];
    /* Python: count / total * 100, two roundings in that order. */
    double p = total ? (double)e->count / (double)total * 100.0 : NAN;
    lanes_py_float_repr(p, pct, sizeof pct);
    return snprintf(buf, cap, "%.*s %llu %s\n", (int)e->len, e->word, (unsigned long long)e->count,
                    pct);
}
