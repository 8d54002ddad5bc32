/* A bounded cache of compiled expressions: lanes_expr_acquire / lanes_expr_release.
 *
 * Design: a fixed table of EXPR_CACHE_SLOTS entries, each a key, its 64-bit FNV-1a hash, the compiled
 * expression and a last-use tick, all under one mutex. The key is the bytes of everything that
 * decides the compiled program: the source, each input's name, kind and (for arrays) dtype, and the
 * parameter names, each string NUL-terminated after a count, so distinct declarations cannot make
 * the same key. Parameter values and bindings come at evaluation and are not part of it.
 *
 * Lookup is a linear scan comparing hashes first (64 entries: far cheaper than any compile). A miss
 * compiles outside the lock, so a slow compile never blocks other lookups; if another thread
 * inserted the same key meanwhile, its expression wins and ours is freed. When the table is full
 * the least recently used entry is dropped.
 *
 * Ownership: an expression's refs count its holders: 1 for the cache entry, +1 per acquire. release
 * and eviction drop one; whoever drops the last frees it (outside the lock). So an entry evicted
 * while a job still uses it lives until that job releases it. Compiled expressions are immutable,
 * so sharing one between threads needs no further locking.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/expr_internal.h"

#define EXPR_CACHE_SLOTS 64

typedef struct cache_entry {
    unsigned char *key; /* NULL: empty slot */
    size_t key_len;
    uint64_t hash;
    uint64_t tick;
    lanes_expr_t *expr;
} cache_entry_t;

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static cache_entry_t g_slots[EXPR_CACHE_SLOTS];
static uint64_t g_tick;
static lanes_expr_cache_stats_t g_stats;

/* ---- keys ---- */

static size_t key_put(unsigned char *buf, size_t len, const void *data, size_t n)
{
    if (buf)
        memcpy(buf + len, data, n);
    return len + n;
}

static size_t key_put_str(unsigned char *buf, size_t len, const char *s)
{
    return key_put(buf, len, s ? s : "", (s ? strlen(s) : 0) + 1);
}

/* Writes the key into buf (if not NULL) and returns its length. Inputs and names must be valid
 * C strings where given (the compiler validates the rest). */
static size_t key_build(unsigned char *buf, const char *src, const lanes_expr_input_t *inputs, size_t n_inputs,
                        const char *const *params, size_t n_params)
{
    size_t len = 0;
    uint64_t counts[2] = {n_inputs, n_params};
    len = key_put(buf, len, counts, sizeof counts);
    len = key_put_str(buf, len, src);
    for (size_t k = 0; k < n_inputs; k++) {
        int32_t kd[2] = {(int32_t)inputs[k].kind,
                         inputs[k].kind == LANES_SOURCE_ARRAY ? (int32_t)inputs[k].dtype : 0};
        len = key_put(buf, len, kd, sizeof kd);
        len = key_put_str(buf, len, inputs[k].name);
    }
    for (size_t k = 0; k < n_params; k++)
        len = key_put_str(buf, len, params[k]);
    return len;
}

static uint64_t key_hash(const unsigned char *key, size_t len)
{
    uint64_t h = UINT64_C(14695981039346656037);
    for (size_t k = 0; k < len; k++) {
        h ^= key[k];
        h *= UINT64_C(1099511628211);
    }
    return h;
}

/* The entry for key, or NULL. Under the lock. */
static cache_entry_t *cache_find(const unsigned char *key, size_t len, uint64_t hash)
{
    for (size_t k = 0; k < EXPR_CACHE_SLOTS; k++) {
        cache_entry_t *en = &g_slots[k];
        if (en->key && en->hash == hash && en->key_len == len && memcmp(en->key, key, len) == 0)
            return en;
    }
    return NULL;
}

/* Empties an entry; returns its expression if this dropped the last reference (to free outside
 * the lock), else NULL. Under the lock. */
static lanes_expr_t *cache_drop(cache_entry_t *en)
{
    lanes_expr_t *x = en->expr;
    free(en->key);
    memset(en, 0, sizeof *en);
    x->cached = 0;
    return --x->refs == 0 ? x : NULL;
}

/* ---- API ---- */

lanes_expr_t *lanes_expr_acquire(const char *src, const lanes_expr_input_t *inputs, size_t n_inputs,
                                 const char *const *param_names, size_t n_params, lanes_error_t *err)
{
    /* Let the compiler judge the declarations; only well-formed ones make a key. */
    int keyable = src && n_inputs <= LANES_EXPR_MAX_INPUTS && n_params <= LANES_EXPR_MAX_PARAMS &&
                  (n_inputs == 0 || inputs) && (n_params == 0 || param_names) &&
                  strlen(src) <= LANES_EXPR_MAX_LENGTH;
    for (size_t k = 0; keyable && k < n_inputs; k++)
        keyable = inputs[k].name != NULL;
    for (size_t k = 0; keyable && k < n_params; k++)
        keyable = param_names[k] != NULL;
    if (!keyable)
        return lanes_expr_compile(src, inputs, n_inputs, param_names, n_params, err);

    size_t len = key_build(NULL, src, inputs, n_inputs, param_names, n_params);
    unsigned char *key = malloc(len);
    if (!key) {
        lanes_error_set(err, LANES_ENOMEM, "out of memory caching an expression");
        return NULL;
    }
    key_build(key, src, inputs, n_inputs, param_names, n_params);
    uint64_t hash = key_hash(key, len);

    pthread_mutex_lock(&g_lock);
    cache_entry_t *en = cache_find(key, len, hash);
    if (en) {
        lanes_expr_t *x = en->expr;
        x->refs++;
        en->tick = ++g_tick;
        g_stats.hits++;
        pthread_mutex_unlock(&g_lock);
        free(key);
        if (err) {
            err->code = 0;
            err->msg[0] = '\0';
            err->column = 0;
        }
        return x;
    }
    g_stats.misses++;
    pthread_mutex_unlock(&g_lock);

    lanes_expr_t *fresh = lanes_expr_compile(src, inputs, n_inputs, param_names, n_params, err);
    if (!fresh) {
        free(key);
        return NULL;
    }

    lanes_expr_t *victim = NULL, *result;
    pthread_mutex_lock(&g_lock);
    en = cache_find(key, len, hash);
    if (en) { /* another thread won the race */
        result = en->expr;
        result->refs++;
        en->tick = ++g_tick;
        pthread_mutex_unlock(&g_lock);
        free(key);
        lanes_expr_free(fresh);
        return result;
    }
    cache_entry_t *slot = NULL;
    for (size_t k = 0; k < EXPR_CACHE_SLOTS && !slot; k++)
        if (!g_slots[k].key)
            slot = &g_slots[k];
    if (!slot) {
        slot = &g_slots[0];
        for (size_t k = 1; k < EXPR_CACHE_SLOTS; k++)
            if (g_slots[k].tick < slot->tick)
                slot = &g_slots[k];
        victim = cache_drop(slot);
        g_stats.evictions++;
    }
    slot->key = key;
    slot->key_len = len;
    slot->hash = hash;
    slot->tick = ++g_tick;
    slot->expr = fresh;
    fresh->cached = 1;
    fresh->refs = 2; /* the entry's and the caller's */
    result = fresh;
    pthread_mutex_unlock(&g_lock);
    lanes_expr_free(victim);
    return result;
}

void lanes_expr_release(lanes_expr_t *e)
{
    if (!e)
        return;
    pthread_mutex_lock(&g_lock);
    long left = --e->refs;
    pthread_mutex_unlock(&g_lock);
    if (left == 0)
        lanes_expr_free(e);
}

void lanes_expr_cache_clear(void)
{
    lanes_expr_t *dead[EXPR_CACHE_SLOTS];
    size_t n_dead = 0;
    pthread_mutex_lock(&g_lock);
    for (size_t k = 0; k < EXPR_CACHE_SLOTS; k++) {
        if (!g_slots[k].key)
            continue;
        lanes_expr_t *x = cache_drop(&g_slots[k]);
        if (x)
            dead[n_dead++] = x;
    }
    pthread_mutex_unlock(&g_lock);
    for (size_t k = 0; k < n_dead; k++)
        lanes_expr_free(dead[k]);
}

void lanes_expr_cache_stats(lanes_expr_cache_stats_t *out)
{
    if (!out)
        return;
    pthread_mutex_lock(&g_lock);
    *out = g_stats;
    out->entries = 0;
    for (size_t k = 0; k < EXPR_CACHE_SLOTS; k++)
        out->entries += g_slots[k].key != NULL;
    out->capacity = EXPR_CACHE_SLOTS;
    pthread_mutex_unlock(&g_lock);
}
