/* bytes.c: the byte-count parser of lanes/bytes.h.
 *
 * Design: strtod() reads the number (so a configuration may say "1.5MiB" or "1e6"), then one pass
 * over the unit: an optional K/M/G, an optional "i", an optional "B", in that order and nothing after.
 * This grammar is the union of the two parsers it replaced (lanesd's config.c, which took fractions,
 * white space before the unit and G; the CLI's, which took a bare "i" or "iB" after the digits), so
 * every spelling either accepted before is still accepted, with the same value.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "lanes/bytes.h"
#include "lanes/error.h"

int lanes_bytes_parse(const char *s, double *out)
{
    if (!s || !*s)
        return LANES_EINVAL;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || errno || !isfinite(v))
        return LANES_EINVAL;
    while (isspace((unsigned char)*end))
        end++;
    double mult = 1;
    switch (toupper((unsigned char)*end)) {
    case 'K': mult = 1024.0; end++; break;
    case 'M': mult = 1024.0 * 1024; end++; break;
    case 'G': mult = 1024.0 * 1024 * 1024; end++; break;
    default: break;
    }
    if (*end == 'i' || *end == 'I')
        end++;
    if (*end == 'b' || *end == 'B')
        end++;
    if (*end)
        return LANES_EINVAL;
    v *= mult;
    if (v != floor(v))
        return LANES_EINVAL;
    *out = v;
    return 0;
}
