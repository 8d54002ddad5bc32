/* Expression compiler front end: source text -> tokens -> tree -> folded tree (lanes/expr.h).
 *
 * Design: a hand-written lexer feeds a recursive-descent parser with one function per precedence
 * level, loosest first, as Python's grammar:
 *
 *   or_expr  := and_expr ('or' and_expr)*
 *   and_expr := not_expr ('and' not_expr)*
 *   not_expr := 'not' not_expr | compare
 *   compare  := sum [('<' | '<=' | '>' | '>=' | '==' | '!=') sum]       (a second one is an error)
 *   sum      := term (('+' | '-') term)*
 *   term     := factor (('*' | '/' | '%') factor)*
 *   factor   := ('-' | '+') factor | power
 *   power    := primary ['**' factor]           (so -x**2 is -(x**2), 2**-1 and 2**3**2 work)
 *   primary  := number | name | name '(' [or_expr (',' or_expr)*] ')' | '(' or_expr ')'
 *
 * Nodes are built straight into one arena of lanes_expr_node_t sized from the source length (every
 * node consumes at least one character of source, so it cannot overflow), names are resolved and
 * arities checked as the parser meets them, and the map API's aliases are expanded on the spot:
 * square(x) = x**2, cube(x) = (x*x)*x, power(x, n) = x**n, affine(x, a, b) = a*x + b. Then constant
 * subtrees (no input, parameter or i) are folded with lanes__expr_apply(), the function the VM's
 * scalars use too, so folding never changes a result; where() with a constant condition becomes the
 * chosen branch. The folded tree is copied, children first, into an array of exactly its size, the
 * one lanes_expr_root() shows, and handed to expr_vm.c for its program.
 *
 * Safety: the source is read through its length only (strlen once, then bounds-checked indexes).
 * Recursion is bounded: the parser counts its nesting (parentheses, calls, unary operators, '**') and
 * fails past 2 * LANES_EXPR_MAX_DEPTH, and every node's height is checked against
 * LANES_EXPR_MAX_DEPTH as it is made, so the later tree walks (folding, copying, the VM's compiler)
 * recurse at most that deep. "((((...." of any length fails cleanly at nesting 129.
 *
 * Errors: the first failure wins; its message is "<problem> at column N" (or "at end of expression")
 * followed by the source (an excerpt of about 70 characters around the column if longer, control
 * characters shown as spaces, bytes >= 0x80 as '?') and a caret line under the column. Errors about
 * the declared inputs and parameters have no column (0) and no caret. Every message fits
 * lanes_error_t.msg: names and numbers quoted from the source are shortened.
 *
 * Numbers are read with strtod on a copy of the token, so a host that changes LC_NUMERIC away from
 * "C" would break them; lanes never calls setlocale.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/expr_internal.h"

#define EXPR_PI 3.141592653589793
#define EXPR_E 2.718281828459045
/* Parser nesting allowed: parentheses count here but not in the tree's height. */
#define EXPR_MAX_NESTING (2 * LANES_EXPR_MAX_DEPTH)
/* Characters of a name or number quoted in a message. */
#define EXPR_QUOTE_MAX 40
/* Characters of source shown in an excerpt. */
#define EXPR_EXCERPT 70

/* ---- functions ---- */

typedef enum fn_kind {
    FN_CALL,   /* a LANES_EXPR_CALL of fn */
    FN_WHERE,
    FN_SQUARE, /* aliases */
    FN_CUBE,
    FN_POWER,
    FN_AFFINE,
} fn_kind_t;

typedef struct fn_entry {
    const char *name;
    fn_kind_t kind;
    int fn;
    int arity;
} fn_entry_t;

static const fn_entry_t g_fns[] = {
    {"abs", FN_CALL, LANES_FN_ABS, 1},       {"sqrt", FN_CALL, LANES_FN_SQRT, 1},
    {"cbrt", FN_CALL, LANES_FN_CBRT, 1},     {"exp", FN_CALL, LANES_FN_EXP, 1},
    {"expm1", FN_CALL, LANES_FN_EXPM1, 1},   {"log", FN_CALL, LANES_FN_LOG, 1},
    {"log1p", FN_CALL, LANES_FN_LOG1P, 1},   {"log2", FN_CALL, LANES_FN_LOG2, 1},
    {"log10", FN_CALL, LANES_FN_LOG10, 1},   {"sin", FN_CALL, LANES_FN_SIN, 1},
    {"cos", FN_CALL, LANES_FN_COS, 1},       {"tan", FN_CALL, LANES_FN_TAN, 1},
    {"asin", FN_CALL, LANES_FN_ASIN, 1},     {"acos", FN_CALL, LANES_FN_ACOS, 1},
    {"atan", FN_CALL, LANES_FN_ATAN, 1},     {"atan2", FN_CALL, LANES_FN_ATAN2, 2},
    {"sinh", FN_CALL, LANES_FN_SINH, 1},     {"cosh", FN_CALL, LANES_FN_COSH, 1},
    {"tanh", FN_CALL, LANES_FN_TANH, 1},     {"floor", FN_CALL, LANES_FN_FLOOR, 1},
    {"ceil", FN_CALL, LANES_FN_CEIL, 1},     {"round", FN_CALL, LANES_FN_ROUND, 1},
    {"trunc", FN_CALL, LANES_FN_TRUNC, 1},   {"min", FN_CALL, LANES_FN_MIN, 2},
    {"max", FN_CALL, LANES_FN_MAX, 2},       {"pow", FN_CALL, LANES_FN_POW, 2},
    {"hypot", FN_CALL, LANES_FN_HYPOT, 2},   {"clip", FN_CALL, LANES_FN_CLIP, 3},
    {"where", FN_WHERE, 0, 3},               {"square", FN_SQUARE, 0, 1},
    {"cube", FN_CUBE, 0, 1},                 {"power", FN_POWER, 0, 2},
    {"affine", FN_AFFINE, 0, 3},
};
#define N_FNS (sizeof g_fns / sizeof g_fns[0])

static const char *const g_fn_names[N_FNS + 1] = {
    "abs",   "sqrt", "cbrt",  "exp",  "expm1", "log",   "log1p",  "log2", "log10", "sin",   "cos",
    "tan",   "asin", "acos",  "atan", "atan2", "sinh",  "cosh",   "tanh", "floor", "ceil",  "round",
    "trunc", "min",  "max",   "pow",  "hypot", "clip",  "where",  "square", "cube", "power", "affine",
    NULL,
};

const char *const *lanes_expr_function_names(void) { return g_fn_names; }

/* The entry for name[0..len), or NULL. */
static const fn_entry_t *fn_find(const char *name, size_t len)
{
    for (size_t k = 0; k < N_FNS; k++)
        if (strlen(g_fns[k].name) == len && memcmp(g_fns[k].name, name, len) == 0)
            return &g_fns[k];
    return NULL;
}

static int is_keyword(const char *s, size_t len)
{
    return (len == 3 && memcmp(s, "and", 3) == 0) || (len == 2 && memcmp(s, "or", 2) == 0) ||
           (len == 3 && memcmp(s, "not", 3) == 0);
}

static int is_reserved(const char *s, size_t len)
{
    return (len == 2 && memcmp(s, "pi", 2) == 0) || (len == 1 && (s[0] == 'e' || s[0] == 'i'));
}

static int is_alpha_(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
static int is_digit(char c) { return c >= '0' && c <= '9'; }
static int is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

/* ---- tokens ---- */

typedef enum tok_kind {
    TOK_END,
    TOK_NUM,
    TOK_NAME,
    TOK_LPAREN,
    TOK_RPAREN,
    TOK_COMMA,
    TOK_PLUS,
    TOK_MINUS,
    TOK_STAR,
    TOK_SLASH,
    TOK_PERCENT,
    TOK_POW,
    TOK_LT,
    TOK_LE,
    TOK_GT,
    TOK_GE,
    TOK_EQ,
    TOK_NE,
} tok_kind_t;

typedef struct token {
    tok_kind_t kind;
    size_t pos, len; /* 0-based offset into the source, length in characters */
    double value;    /* TOK_NUM */
} token_t;

typedef struct parser {
    const char *src;
    size_t len;
    size_t pos; /* lexer position */
    token_t tok;

    const lanes_expr_input_t *inputs;
    size_t n_inputs;
    const char *const *params;
    size_t n_params;

    lanes_expr_node_t *nodes; /* arena */
    int *heights;             /* per arena node */
    size_t n_nodes, cap;
    int nesting;

    lanes_error_t *err;
    int failed;
} parser_t;

/* ---- messages ---- */

/* Appends at most max characters of s[0..len) to buf (cap bytes, NUL-terminated), "..." if cut. */
static void quote(char *buf, size_t cap, const char *s, size_t len)
{
    size_t max = len > EXPR_QUOTE_MAX ? EXPR_QUOTE_MAX : len;
    size_t j = 0;
    for (size_t k = 0; k < max && j + 1 < cap; k++) {
        unsigned char c = (unsigned char)s[k];
        buf[j++] = (c < 0x20 || c >= 0x7f) ? '?' : (char)c;
    }
    if (max < len)
        for (int k = 0; k < 3 && j + 1 < cap; k++)
            buf[j++] = '.';
    buf[j] = '\0';
}

/* Sets the parser's error (first one only): fmt's text, then " at column N" (or " at end of
 * expression") when 'where' is set, then 'tail', then the excerpt and caret line. col is 1-based;
 * col == len + 1 is the end of the source. */
static void fail(parser_t *p, size_t col, int where, const char *tail, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 5, 6)))
#endif
    ;

static void fail(parser_t *p, size_t col, int where, const char *tail, const char *fmt, ...)
{
    if (p->failed)
        return;
    p->failed = 1;
    if (!p->err)
        return;
    char line[320];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    size_t n = strlen(line);
    if (where) {
        if (col == p->len + 1)
            snprintf(line + n, sizeof line - n, " at end of expression");
        else
            snprintf(line + n, sizeof line - n, " at column %zu", col);
        n = strlen(line);
    }
    if (tail)
        snprintf(line + n, sizeof line - n, "%s", tail);

    /* excerpt: [start, end) of the source around pos = col - 1 */
    size_t pos = col - 1;
    size_t start = 0, end = p->len;
    if (p->len > EXPR_EXCERPT + 2) {
        start = pos > EXPR_EXCERPT / 2 ? pos - EXPR_EXCERPT / 2 : 0;
        end = start + EXPR_EXCERPT;
        if (end > p->len) {
            end = p->len;
            start = end - EXPR_EXCERPT;
        }
    }
    char excerpt[EXPR_EXCERPT + 16], caret[EXPR_EXCERPT + 16];
    size_t j = 0;
    if (start > 0)
        j += (size_t)snprintf(excerpt, sizeof excerpt, "...");
    size_t caret_at = j + (pos - start);
    for (size_t k = start; k < end; k++) {
        unsigned char c = (unsigned char)p->src[k];
        excerpt[j++] = c >= 0x80 ? '?' : (c < 0x20 || c == 0x7f) ? ' ' : (char)c;
    }
    if (end < p->len)
        for (int k = 0; k < 3; k++)
            excerpt[j++] = '.';
    excerpt[j] = '\0';
    for (size_t k = 0; k < caret_at && k < sizeof caret - 2; k++)
        caret[k] = ' ';
    size_t c = caret_at < sizeof caret - 2 ? caret_at : sizeof caret - 2;
    caret[c] = '^';
    caret[c + 1] = '\0';
    lanes_error_set(p->err, LANES_EINVAL, "%s\n  %s\n  %s", line, excerpt, caret);
    p->err->column = (int)col;
}

/* A declaration error: no column, no excerpt. */
static void fail_decl(parser_t *p, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

static void fail_decl(parser_t *p, const char *fmt, ...)
{
    if (p->failed)
        return;
    p->failed = 1;
    if (!p->err)
        return;
    char line[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    lanes_error_set(p->err, LANES_EINVAL, "%s", line);
}

/* "name 'y'", "number '12'", "'+'", "'and'" for the current token (not TOK_END). */
static void tok_describe(const parser_t *p, const token_t *t, char *buf, size_t cap)
{
    char q[EXPR_QUOTE_MAX + 8];
    quote(q, sizeof q, p->src + t->pos, t->len);
    if (t->kind == TOK_NUM)
        snprintf(buf, cap, "number '%s'", q);
    else if (t->kind == TOK_NAME && !is_keyword(p->src + t->pos, t->len))
        snprintf(buf, cap, "name '%s'", q);
    else
        snprintf(buf, cap, "'%s'", q);
}

/* "unexpected X at column N" (or "expected a value at end of expression"), with a hint. */
static void fail_unexpected(parser_t *p, const char *hint)
{
    if (p->tok.kind == TOK_END) {
        fail(p, p->len + 1, 1, hint, "expected a value");
        return;
    }
    char d[EXPR_QUOTE_MAX + 24];
    tok_describe(p, &p->tok, d, sizeof d);
    fail(p, p->tok.pos + 1, 1, hint, "unexpected %s", d);
}

/* ---- lexer ---- */

/* Reads the next token into p->tok; on a bad character or number sets the error (kind TOK_END). */
static void lex_next(parser_t *p)
{
    const char *s = p->src;
    size_t n = p->len, k = p->pos;
    while (k < n && is_space(s[k]))
        k++;
    token_t t = {TOK_END, k, 0, 0.0};
    if (k >= n) {
        t.pos = n;
        p->tok = t;
        p->pos = n;
        return;
    }
    char c = s[k];
    char c1 = k + 1 < n ? s[k + 1] : '\0';
    if (is_digit(c) || (c == '.' && is_digit(c1))) {
        size_t b = k;
        while (k < n && is_digit(s[k]))
            k++;
        if (k < n && s[k] == '.') {
            k++;
            while (k < n && is_digit(s[k]))
                k++;
        }
        int bad = 0;
        if (k < n && (s[k] == 'e' || s[k] == 'E')) {
            size_t m = k + 1;
            if (m < n && (s[m] == '+' || s[m] == '-'))
                m++;
            if (m < n && is_digit(s[m])) {
                while (m < n && is_digit(s[m]))
                    m++;
                k = m;
            } else {
                bad = 1;
            }
        }
        if (bad || (k < n && (is_alpha_(s[k]) || is_digit(s[k]) || s[k] == '.'))) {
            size_t e = k;
            while (e < n && (is_alpha_(s[e]) || is_digit(s[e]) || s[e] == '.'))
                e++;
            char q[EXPR_QUOTE_MAX + 8];
            quote(q, sizeof q, s + b, e - b);
            fail(p, b + 1, 1, NULL, "invalid number '%s'", q);
            p->tok = t;
            return;
        }
        char stackbuf[64];
        char *buf = k - b < sizeof stackbuf ? stackbuf : malloc(k - b + 1);
        if (!buf) {
            fail(p, b + 1, 1, NULL, "out of memory reading a number");
            p->tok = t;
            return;
        }
        memcpy(buf, s + b, k - b);
        buf[k - b] = '\0';
        t.value = strtod(buf, NULL);
        if (buf != stackbuf)
            free(buf);
        t.kind = TOK_NUM;
        t.pos = b;
        t.len = k - b;
        p->tok = t;
        p->pos = k;
        return;
    }
    if (is_alpha_(c)) {
        size_t b = k;
        while (k < n && (is_alpha_(s[k]) || is_digit(s[k])))
            k++;
        t.kind = TOK_NAME;
        t.len = k - b;
        p->tok = t;
        p->pos = k;
        return;
    }
    t.len = 1;
    const char *hint = NULL;
    switch (c) {
    case '(': t.kind = TOK_LPAREN; break;
    case ')': t.kind = TOK_RPAREN; break;
    case ',': t.kind = TOK_COMMA; break;
    case '+': t.kind = TOK_PLUS; break;
    case '-': t.kind = TOK_MINUS; break;
    case '%': t.kind = TOK_PERCENT; break;
    case '*':
        if (c1 == '*') {
            t.kind = TOK_POW;
            t.len = 2;
        } else {
            t.kind = TOK_STAR;
        }
        break;
    case '/':
        if (c1 == '/') {
            t.len = 2;
            hint = " (floor division is not supported: write floor(a / b))";
        } else {
            t.kind = TOK_SLASH;
        }
        break;
    case '<':
        if (c1 == '=') {
            t.kind = TOK_LE;
            t.len = 2;
        } else {
            t.kind = TOK_LT;
        }
        break;
    case '>':
        if (c1 == '=') {
            t.kind = TOK_GE;
            t.len = 2;
        } else {
            t.kind = TOK_GT;
        }
        break;
    case '=':
        if (c1 == '=') {
            t.kind = TOK_EQ;
            t.len = 2;
        } else {
            hint = " (use '==' to compare)";
        }
        break;
    case '!':
        if (c1 == '=') {
            t.kind = TOK_NE;
            t.len = 2;
        } else {
            hint = " (use 'not')";
        }
        break;
    case '&': hint = " (use 'and')"; break;
    case '|': hint = " (use 'or')"; break;
    case '^': hint = " (use '**' for powers)"; break;
    default: break;
    }
    if (t.kind == TOK_END) {
        unsigned char uc = (unsigned char)c;
        if (uc > 0x20 && uc < 0x7f) {
            char q[8];
            quote(q, sizeof q, s + k, t.len);
            fail(p, k + 1, 1, hint, "unexpected character '%s'", q);
        } else {
            fail(p, k + 1, 1, hint, "unexpected character 0x%02x", uc);
        }
        p->tok = t;
        return;
    }
    p->tok = t;
    p->pos = k + t.len;
}

static int tok_is_word(const parser_t *p, const char *w)
{
    size_t n = strlen(w);
    return p->tok.kind == TOK_NAME && p->tok.len == n && memcmp(p->src + p->tok.pos, w, n) == 0;
}

/* ---- nodes ---- */

/* A new node of op with the given arguments; col is the column where its text starts, err_col where
 * a "too deep" error points. NULL on error. */
static lanes_expr_node_t *node_new(parser_t *p, lanes_expr_op_t op, size_t col, size_t err_col, int n_args,
                                   lanes_expr_node_t *a0, lanes_expr_node_t *a1, lanes_expr_node_t *a2)
{
    if (p->failed)
        return NULL;
    if (p->n_nodes >= p->cap) { /* cannot happen: a node per character at most */
        fail(p, col, 1, NULL, "expression too large");
        return NULL;
    }
    lanes_expr_node_t *args[3] = {a0, a1, a2};
    int h = 0;
    for (int k = 0; k < n_args; k++) {
        int hk = p->heights[args[k] - p->nodes];
        h = hk > h ? hk : h;
    }
    h += 1;
    if (h > LANES_EXPR_MAX_DEPTH) {
        fail(p, err_col, 1, NULL, "expression too deep (limit %d)", LANES_EXPR_MAX_DEPTH);
        return NULL;
    }
    lanes_expr_node_t *nd = &p->nodes[p->n_nodes];
    p->heights[p->n_nodes] = h;
    p->n_nodes++;
    memset(nd, 0, sizeof *nd);
    nd->op = op;
    nd->n_args = n_args;
    for (int k = 0; k < n_args; k++)
        nd->args[k] = args[k];
    nd->column = (int)col;
    return nd;
}

static lanes_expr_node_t *node_const(parser_t *p, double v, size_t col)
{
    lanes_expr_node_t *nd = node_new(p, LANES_EXPR_CONST, col, col, 0, NULL, NULL, NULL);
    if (nd)
        nd->value = v;
    return nd;
}

static int nest_enter(parser_t *p, size_t col)
{
    if (++p->nesting > EXPR_MAX_NESTING) {
        fail(p, col, 1, NULL, "expression too deep (limit %d)", LANES_EXPR_MAX_DEPTH);
        return 0;
    }
    return 1;
}

/* ---- parser: each returns its node (NULL on error) and the column where its text starts ---- */

static lanes_expr_node_t *parse_or(parser_t *p, size_t *start);

/* Appends printf output to buf[*len .. cap), never past it (a cut text stays NUL-terminated). */
static void append(char *buf, size_t cap, size_t *len, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

static void append(char *buf, size_t cap, size_t *len, const char *fmt, ...)
{
    if (*len + 1 >= cap)
        return;
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(buf + *len, cap - *len, fmt, ap);
    va_end(ap);
    if (w < 0)
        return;
    *len = *len + (size_t)w < cap ? *len + (size_t)w : cap - 1;
}

/* " (inputs: x, y; parameters: n)" for an unknown name, into buf; "...)" ends a list that is cut. */
static void names_list(const parser_t *p, char *buf, size_t cap)
{
    size_t j = 0;
    buf[0] = '\0';
    append(buf, cap, &j, " (inputs: %s", p->n_inputs ? "" : "none");
    for (size_t k = 0; k < p->n_inputs; k++) {
        char q[EXPR_QUOTE_MAX + 8];
        quote(q, sizeof q, p->inputs[k].name, strlen(p->inputs[k].name));
        append(buf, cap, &j, "%s%s", k ? ", " : "", q);
    }
    append(buf, cap, &j, "; parameters: %s", p->n_params ? "" : "none");
    for (size_t k = 0; k < p->n_params; k++) {
        char q[EXPR_QUOTE_MAX + 8];
        quote(q, sizeof q, p->params[k], strlen(p->params[k]));
        append(buf, cap, &j, "%s%s", k ? ", " : "", q);
    }
    append(buf, cap, &j, ")");
    if (j + 1 >= cap && cap > 5) /* cut: close it visibly */
        memcpy(buf + cap - 5, "...)", 5);
}

/* A call: the name token is current and p->tok is '(' next. */
static lanes_expr_node_t *parse_call(parser_t *p, const fn_entry_t *fn, size_t col)
{
    lex_next(p); /* '(' */
    if (!nest_enter(p, col))
        return NULL;
    lex_next(p);
    lanes_expr_node_t *args[3] = {NULL, NULL, NULL};
    int n = 0;
    if (!p->failed && p->tok.kind != TOK_RPAREN) {
        for (;;) {
            size_t s;
            lanes_expr_node_t *a = parse_or(p, &s);
            if (!a)
                return NULL;
            if (n < 3)
                args[n] = a;
            n++;
            if (p->tok.kind != TOK_COMMA)
                break;
            lex_next(p);
        }
    }
    if (p->failed)
        return NULL;
    if (p->tok.kind != TOK_RPAREN) {
        if (p->tok.kind == TOK_END)
            fail(p, p->len + 1, 1, NULL, "expected ')'");
        else
            fail_unexpected(p, " (expected ',' or ')')");
        return NULL;
    }
    lex_next(p);
    p->nesting--;
    if (n != fn->arity) {
        fail(p, col, 1, NULL, "function '%s' takes %d argument%s, got %d", fn->name, fn->arity,
             fn->arity == 1 ? "" : "s", n);
        return NULL;
    }
    lanes_expr_node_t *nd = NULL, *k;
    switch (fn->kind) {
    case FN_CALL:
        nd = node_new(p, LANES_EXPR_CALL, col, col, n, args[0], args[1], args[2]);
        if (nd)
            nd->slot = fn->fn;
        break;
    case FN_WHERE:
        nd = node_new(p, LANES_EXPR_WHERE, col, col, 3, args[0], args[1], args[2]);
        break;
    case FN_SQUARE:
        k = node_const(p, 2.0, col);
        nd = k ? node_new(p, LANES_EXPR_POW, col, col, 2, args[0], k, NULL) : NULL;
        break;
    case FN_CUBE:
        /* (x*x)*x, as the map API's named cube, so both give the same bits (pow(x, 3) can differ). */
        k = node_new(p, LANES_EXPR_MUL, col, col, 2, args[0], args[0], NULL);
        nd = k ? node_new(p, LANES_EXPR_MUL, col, col, 2, k, args[0], NULL) : NULL;
        break;
    case FN_POWER:
        nd = node_new(p, LANES_EXPR_POW, col, col, 2, args[0], args[1], NULL);
        break;
    case FN_AFFINE:
        k = node_new(p, LANES_EXPR_MUL, col, col, 2, args[1], args[0], NULL);
        nd = k ? node_new(p, LANES_EXPR_ADD, col, col, 2, k, args[2], NULL) : NULL;
        break;
    }
    return nd;
}

static lanes_expr_node_t *parse_primary(parser_t *p, size_t *start)
{
    if (p->failed)
        return NULL;
    token_t t = p->tok;
    size_t col = t.pos + 1;
    *start = col;
    if (t.kind == TOK_NUM) {
        lex_next(p);
        return node_const(p, t.value, col);
    }
    if (t.kind == TOK_LPAREN) {
        if (!nest_enter(p, col))
            return NULL;
        lex_next(p);
        size_t s;
        lanes_expr_node_t *nd = parse_or(p, &s);
        if (!nd)
            return NULL;
        if (p->tok.kind != TOK_RPAREN) {
            if (p->tok.kind == TOK_END)
                fail(p, p->len + 1, 1, NULL, "expected ')'");
            else
                fail_unexpected(p, " (expected ')')");
            return NULL;
        }
        lex_next(p);
        p->nesting--;
        return nd;
    }
    if (t.kind != TOK_NAME || is_keyword(p->src + t.pos, t.len)) {
        fail_unexpected(p, NULL);
        return NULL;
    }
    const char *name = p->src + t.pos;
    char q[EXPR_QUOTE_MAX + 8];
    quote(q, sizeof q, name, t.len);
    const fn_entry_t *fn = fn_find(name, t.len);
    /* a call? */
    size_t after = p->pos;
    while (after < p->len && is_space(p->src[after]))
        after++;
    if (after < p->len && p->src[after] == '(') {
        if (!fn) {
            fail(p, col, 1, NULL, "unknown function '%s'", q);
            return NULL;
        }
        return parse_call(p, fn, col);
    }
    if (fn) {
        fail(p, col, 1, NULL, "function '%s' needs its arguments: %s(...)", q, q);
        return NULL;
    }
    lex_next(p);
    for (size_t k = 0; k < p->n_inputs; k++) {
        if (strlen(p->inputs[k].name) == t.len && memcmp(p->inputs[k].name, name, t.len) == 0) {
            lanes_expr_node_t *nd = node_new(p, LANES_EXPR_INPUT, col, col, 0, NULL, NULL, NULL);
            if (nd)
                nd->slot = (int)k;
            return nd;
        }
    }
    for (size_t k = 0; k < p->n_params; k++) {
        if (strlen(p->params[k]) == t.len && memcmp(p->params[k], name, t.len) == 0) {
            lanes_expr_node_t *nd = node_new(p, LANES_EXPR_PARAM, col, col, 0, NULL, NULL, NULL);
            if (nd)
                nd->slot = (int)k;
            return nd;
        }
    }
    if (t.len == 2 && memcmp(name, "pi", 2) == 0)
        return node_const(p, EXPR_PI, col);
    if (t.len == 1 && name[0] == 'e')
        return node_const(p, EXPR_E, col);
    if (t.len == 1 && name[0] == 'i')
        return node_new(p, LANES_EXPR_INDEX, col, col, 0, NULL, NULL, NULL);
    char list[240];
    names_list(p, list, sizeof list);
    fail(p, col, 1, list, "unknown name '%s'", q);
    return NULL;
}

static lanes_expr_node_t *parse_factor(parser_t *p, size_t *start);

static lanes_expr_node_t *parse_power(parser_t *p, size_t *start)
{
    lanes_expr_node_t *base = parse_primary(p, start);
    if (!base || p->tok.kind != TOK_POW)
        return base;
    size_t op_col = p->tok.pos + 1;
    if (!nest_enter(p, op_col))
        return NULL;
    lex_next(p);
    size_t s;
    lanes_expr_node_t *ex = parse_factor(p, &s);
    if (!ex)
        return NULL;
    p->nesting--;
    return node_new(p, LANES_EXPR_POW, *start, op_col, 2, base, ex, NULL);
}

static lanes_expr_node_t *parse_factor(parser_t *p, size_t *start)
{
    if (p->failed)
        return NULL;
    if (p->tok.kind != TOK_MINUS && p->tok.kind != TOK_PLUS)
        return parse_power(p, start);
    int neg = p->tok.kind == TOK_MINUS;
    size_t col = p->tok.pos + 1;
    *start = col;
    if (!nest_enter(p, col))
        return NULL;
    lex_next(p);
    size_t s;
    lanes_expr_node_t *a = parse_factor(p, &s);
    if (!a)
        return NULL;
    p->nesting--;
    return neg ? node_new(p, LANES_EXPR_NEG, col, col, 1, a, NULL, NULL) : a;
}

static lanes_expr_node_t *parse_term(parser_t *p, size_t *start)
{
    lanes_expr_node_t *left = parse_factor(p, start);
    while (left && (p->tok.kind == TOK_STAR || p->tok.kind == TOK_SLASH || p->tok.kind == TOK_PERCENT)) {
        lanes_expr_op_t op = p->tok.kind == TOK_STAR    ? LANES_EXPR_MUL
                             : p->tok.kind == TOK_SLASH ? LANES_EXPR_DIV
                                                        : LANES_EXPR_MOD;
        size_t op_col = p->tok.pos + 1, s;
        lex_next(p);
        lanes_expr_node_t *right = parse_factor(p, &s);
        if (!right)
            return NULL;
        left = node_new(p, op, *start, op_col, 2, left, right, NULL);
    }
    return left;
}

static lanes_expr_node_t *parse_sum(parser_t *p, size_t *start)
{
    lanes_expr_node_t *left = parse_term(p, start);
    while (left && (p->tok.kind == TOK_PLUS || p->tok.kind == TOK_MINUS)) {
        lanes_expr_op_t op = p->tok.kind == TOK_PLUS ? LANES_EXPR_ADD : LANES_EXPR_SUB;
        size_t op_col = p->tok.pos + 1, s;
        lex_next(p);
        lanes_expr_node_t *right = parse_term(p, &s);
        if (!right)
            return NULL;
        left = node_new(p, op, *start, op_col, 2, left, right, NULL);
    }
    return left;
}

static int tok_compare_op(tok_kind_t k, lanes_expr_op_t *op)
{
    switch (k) {
    case TOK_LT: *op = LANES_EXPR_LT; return 1;
    case TOK_LE: *op = LANES_EXPR_LE; return 1;
    case TOK_GT: *op = LANES_EXPR_GT; return 1;
    case TOK_GE: *op = LANES_EXPR_GE; return 1;
    case TOK_EQ: *op = LANES_EXPR_EQ; return 1;
    case TOK_NE: *op = LANES_EXPR_NE; return 1;
    default: return 0;
    }
}

static lanes_expr_node_t *parse_compare(parser_t *p, size_t *start)
{
    lanes_expr_node_t *left = parse_sum(p, start);
    lanes_expr_op_t op;
    if (!left || !tok_compare_op(p->tok.kind, &op))
        return left;
    size_t op_col = p->tok.pos + 1, s;
    lex_next(p);
    lanes_expr_node_t *right = parse_sum(p, &s);
    if (!right)
        return NULL;
    lanes_expr_op_t op2;
    if (tok_compare_op(p->tok.kind, &op2)) {
        fail(p, p->tok.pos + 1, 1, " (write a < b and b < c)", "comparisons cannot be chained");
        return NULL;
    }
    return node_new(p, op, *start, op_col, 2, left, right, NULL);
}

static lanes_expr_node_t *parse_not(parser_t *p, size_t *start)
{
    if (p->failed)
        return NULL;
    if (!tok_is_word(p, "not"))
        return parse_compare(p, start);
    size_t col = p->tok.pos + 1, s;
    *start = col;
    if (!nest_enter(p, col))
        return NULL;
    lex_next(p);
    lanes_expr_node_t *a = parse_not(p, &s);
    if (!a)
        return NULL;
    p->nesting--;
    return node_new(p, LANES_EXPR_NOT, col, col, 1, a, NULL, NULL);
}

static lanes_expr_node_t *parse_and(parser_t *p, size_t *start)
{
    lanes_expr_node_t *left = parse_not(p, start);
    while (left && tok_is_word(p, "and")) {
        size_t op_col = p->tok.pos + 1, s;
        lex_next(p);
        lanes_expr_node_t *right = parse_not(p, &s);
        if (!right)
            return NULL;
        left = node_new(p, LANES_EXPR_AND, *start, op_col, 2, left, right, NULL);
    }
    return left;
}

static lanes_expr_node_t *parse_or(parser_t *p, size_t *start)
{
    lanes_expr_node_t *left = parse_and(p, start);
    while (left && tok_is_word(p, "or")) {
        size_t op_col = p->tok.pos + 1, s;
        lex_next(p);
        lanes_expr_node_t *right = parse_and(p, &s);
        if (!right)
            return NULL;
        left = node_new(p, LANES_EXPR_OR, *start, op_col, 2, left, right, NULL);
    }
    return left;
}

/* ---- folding ---- */

static int node_is_leaf(const lanes_expr_node_t *nd)
{
    return nd->op == LANES_EXPR_CONST || nd->op == LANES_EXPR_INPUT || nd->op == LANES_EXPR_PARAM ||
           nd->op == LANES_EXPR_INDEX;
}

/* Folds nd's subtree in place (recursion depth <= the tree's height). */
static void fold(lanes_expr_node_t *nd)
{
    if (node_is_leaf(nd))
        return;
    int all_const = 1;
    for (int k = 0; k < nd->n_args; k++) {
        lanes_expr_node_t *a = (lanes_expr_node_t *)nd->args[k];
        fold(a);
        all_const &= a->op == LANES_EXPR_CONST;
    }
    if (nd->op == LANES_EXPR_WHERE && nd->args[0]->op == LANES_EXPR_CONST) {
        const lanes_expr_node_t *chosen = nd->args[0]->value != 0.0 ? nd->args[1] : nd->args[2];
        *nd = *chosen;
        return;
    }
    if (!all_const)
        return;
    double v[3] = {0, 0, 0};
    for (int k = 0; k < nd->n_args; k++)
        v[k] = nd->args[k]->value;
    nd->value = lanes__expr_apply(nd->op, nd->slot, v);
    nd->op = LANES_EXPR_CONST;
    nd->slot = 0;
    nd->n_args = 0;
    nd->args[0] = nd->args[1] = nd->args[2] = NULL;
}

static size_t count_nodes(const lanes_expr_node_t *nd)
{
    size_t c = 1;
    for (int k = 0; k < nd->n_args; k++)
        c += count_nodes(nd->args[k]);
    return c;
}

/* Copies nd's subtree into out (children first); returns the copy of nd. */
static lanes_expr_node_t *copy_tree(const lanes_expr_node_t *nd, lanes_expr_node_t *out, size_t *n)
{
    const lanes_expr_node_t *args[3] = {NULL, NULL, NULL};
    for (int k = 0; k < nd->n_args; k++)
        args[k] = copy_tree(nd->args[k], out, n);
    lanes_expr_node_t *c = &out[(*n)++];
    *c = *nd;
    for (int k = 0; k < 3; k++)
        c->args[k] = args[k];
    return c;
}

/* ---- declarations ---- */

static int name_valid(const char *s)
{
    if (!is_alpha_(s[0]))
        return 0;
    for (size_t k = 1; s[k]; k++)
        if (!is_alpha_(s[k]) && !is_digit(s[k]))
            return 0;
    return 1;
}

/* Checks one declared name; what is "input" or "parameter". */
static int decl_name_check(parser_t *p, const char *what, size_t idx, const char *name)
{
    if (!name || !*name) {
        fail_decl(p, "%s %zu has no name", what, idx);
        return 0;
    }
    char q[EXPR_QUOTE_MAX + 8];
    size_t len = strlen(name);
    quote(q, sizeof q, name, len);
    if (!name_valid(name)) {
        fail_decl(p, "%s name '%s' is not a valid name (letters, digits and '_', not starting with a digit)",
                  what, q);
        return 0;
    }
    if (is_reserved(name, len)) {
        fail_decl(p, "%s name '%s' is reserved (pi and e are constants, i is the element index)", what, q);
        return 0;
    }
    if (is_keyword(name, len)) {
        fail_decl(p, "%s name '%s' is a keyword", what, q);
        return 0;
    }
    if (fn_find(name, len)) {
        fail_decl(p, "%s name '%s' is the name of a function", what, q);
        return 0;
    }
    return 1;
}

static int decl_check(parser_t *p)
{
    if (p->n_inputs > LANES_EXPR_MAX_INPUTS) {
        fail_decl(p, "too many inputs (%zu, limit %d)", p->n_inputs, LANES_EXPR_MAX_INPUTS);
        return 0;
    }
    if (p->n_params > LANES_EXPR_MAX_PARAMS) {
        fail_decl(p, "too many parameters (%zu, limit %d)", p->n_params, LANES_EXPR_MAX_PARAMS);
        return 0;
    }
    if (p->n_inputs && !p->inputs) {
        fail_decl(p, "%zu inputs announced but none given", p->n_inputs);
        return 0;
    }
    if (p->n_params && !p->params) {
        fail_decl(p, "%zu parameters announced but none given", p->n_params);
        return 0;
    }
    for (size_t k = 0; k < p->n_inputs; k++) {
        const lanes_expr_input_t *in = &p->inputs[k];
        if (!decl_name_check(p, "input", k, in->name))
            return 0;
        char q[EXPR_QUOTE_MAX + 8];
        quote(q, sizeof q, in->name, strlen(in->name));
        if (in->kind != LANES_SOURCE_ARRAY && in->kind != LANES_SOURCE_RANGE && in->kind != LANES_SOURCE_UNIFORM &&
            in->kind != LANES_SOURCE_NORMAL) {
            fail_decl(p, "input '%s' has an invalid source kind (%d)", q, (int)in->kind);
            return 0;
        }
        if (in->kind == LANES_SOURCE_ARRAY && lanes_dtype_size(in->dtype) == 0) {
            fail_decl(p, "input '%s' has an invalid dtype (%d)", q, (int)in->dtype);
            return 0;
        }
        for (size_t j = 0; j < k; j++) {
            if (strcmp(p->inputs[j].name, in->name) == 0) {
                fail_decl(p, "name '%s' is given twice (inputs %zu and %zu)", q, j, k);
                return 0;
            }
        }
    }
    for (size_t k = 0; k < p->n_params; k++) {
        if (!decl_name_check(p, "parameter", k, p->params[k]))
            return 0;
        char q[EXPR_QUOTE_MAX + 8];
        quote(q, sizeof q, p->params[k], strlen(p->params[k]));
        for (size_t j = 0; j < p->n_inputs; j++) {
            if (strcmp(p->inputs[j].name, p->params[k]) == 0) {
                fail_decl(p, "name '%s' is given twice (input %zu and parameter %zu)", q, j, k);
                return 0;
            }
        }
        for (size_t j = 0; j < k; j++) {
            if (strcmp(p->params[j], p->params[k]) == 0) {
                fail_decl(p, "name '%s' is given twice (parameters %zu and %zu)", q, j, k);
                return 0;
            }
        }
    }
    return 1;
}

/* ---- compile ---- */

lanes_expr_t *lanes_expr_compile(const char *src, const lanes_expr_input_t *inputs, size_t n_inputs,
                                 const char *const *param_names, size_t n_params, lanes_error_t *err)
{
    if (err) {
        err->code = 0;
        err->msg[0] = '\0';
        err->column = 0;
    }
    parser_t p;
    memset(&p, 0, sizeof p);
    p.err = err;
    p.inputs = inputs;
    p.n_inputs = n_inputs;
    p.params = param_names;
    p.n_params = n_params;
    if (!src) {
        fail_decl(&p, "no expression given");
        return NULL;
    }
    if (!decl_check(&p))
        return NULL;
    p.src = src;
    p.len = strlen(src);
    if (p.len > LANES_EXPR_MAX_LENGTH) {
        fail(&p, LANES_EXPR_MAX_LENGTH + 1, 0, NULL, "expression too long (%zu characters, limit %d)", p.len,
             LANES_EXPR_MAX_LENGTH);
        return NULL;
    }

    p.cap = p.len + 8;
    p.nodes = malloc(p.cap * sizeof *p.nodes);
    p.heights = malloc(p.cap * sizeof *p.heights);
    lanes_expr_t *e = calloc(1, sizeof *e);
    if (!p.nodes || !p.heights || !e) {
        free(p.nodes);
        free(p.heights);
        free(e);
        lanes_error_set(err, LANES_ENOMEM, "out of memory compiling an expression");
        return NULL;
    }

    lex_next(&p);
    if (!p.failed && p.tok.kind == TOK_END)
        fail(&p, 1, 0, NULL, "empty expression");
    size_t start = 1;
    lanes_expr_node_t *root = p.failed ? NULL : parse_or(&p, &start);
    if (root && p.tok.kind != TOK_END)
        fail_unexpected(&p, NULL);
    if (p.failed || !root)
        goto fail;

    fold(root);
    size_t count = count_nodes(root);
    if (count > LANES_EXPR_MAX_NODES) {
        fail(&p, 1, 0, NULL, "expression too large (%zu nodes after folding, limit %d)", count,
             LANES_EXPR_MAX_NODES);
        goto fail;
    }
    e->nodes = malloc(count * sizeof *e->nodes);
    if (!e->nodes) {
        lanes_error_set(err, LANES_ENOMEM, "out of memory compiling an expression");
        goto fail;
    }
    e->n_nodes = 0;
    e->root = copy_tree(root, e->nodes, &e->n_nodes);
    e->n_inputs = n_inputs;
    e->n_params = n_params;
    for (size_t k = 0; k < n_inputs; k++) {
        e->kinds[k] = inputs[k].kind;
        e->dtypes[k] = inputs[k].kind == LANES_SOURCE_ARRAY ? inputs[k].dtype : LANES_DTYPE_INVALID;
    }
    for (size_t k = 0; k < e->n_nodes; k++)
        if (e->nodes[k].op == LANES_EXPR_INPUT)
            e->uses_input[e->nodes[k].slot] = 1;
    e->refs = 1;
    free(p.nodes);
    free(p.heights);
    if (lanes__expr_program_build(e) != 0) {
        lanes_expr_free(e);
        lanes_error_set(err, LANES_ENOMEM, "out of memory compiling an expression");
        return NULL;
    }
    return e;

fail:
    free(p.nodes);
    free(p.heights);
    free(e->nodes);
    free(e);
    return NULL;
}

void lanes_expr_free(lanes_expr_t *e)
{
    if (!e)
        return;
    lanes__expr_program_free(e);
    free(e->nodes);
    free(e);
}

const lanes_expr_node_t *lanes_expr_root(const lanes_expr_t *e) { return e ? e->root : NULL; }

int lanes_expr_uses_input(const lanes_expr_t *e, size_t slot)
{
    return e && slot < e->n_inputs && e->uses_input[slot] ? 1 : 0;
}
