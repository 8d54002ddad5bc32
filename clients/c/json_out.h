/* A little JSON output for the C clients (`lanes info --json`, `lanes-bench --json`): strings escaped
 * as JSON requires. Numbers and structure are written by the callers with fprintf. */
#ifndef LANES_JSON_OUT_H
#define LANES_JSON_OUT_H

#include <stdio.h>

/* Writes s (NULL as "") as a quoted JSON string: quotes and backslashes escaped, control characters
 * as \u00XX. Thread-safe as far as the FILE is. */
void json_write_string(FILE *f, const char *s);

#endif /* LANES_JSON_OUT_H */
