/*
 * paging.c -- real paging for every list operation: opaque page tokens
 * ("PA<hex>": after a creation sequence, "PB<hex>": before it) over the
 * store's ordered lists, and the `meta` block with absolute URLs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emu.h"

#define val(x, key) emu_val(x, key)
#define ival emu_ival
#define param_error emu_param_error
#define oom emu_oom

/* "PA<hex>" (after seq) or "PB<hex>" (before seq).  0 / -1. */
static int parse_token(const char *s, size_t len, int *before, uint64_t *seq) {
    if (len < 3 || len > 18 || s[0] != 'P' || (s[1] != 'A' && s[1] != 'B')) return -1;
    uint64_t v = 0;
    for (size_t i = 2; i < len; i++) {
        char ch = s[i];
        int d = ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
        if (d < 0) return -1;
        v = v * 16 + (uint64_t)d;
    }
    *before = s[1] == 'B';
    *seq = v;
    return 0;
}

int emu_page_params(const emu_ctx *x, emu_page *pg, int *before, uint64_t *token, emu_response *out) {
    /* the list's key and absolute URL: the row's, with the call's path values */
    const emu_call *c = x->c;
    const char *vals[TV_MAX_PATH_PARAMS] = {NULL};
    for (size_t k = 0; k < c->npv && k < TV_MAX_PATH_PARAMS; k++) vals[k] = c->pv[k];
    pg->key = c->row->list_key;
    if (emu_row_url(pg->base, sizeof pg->base, c->host, c->row->name, vals) != 0) {
        oom(out);
        return -1;
    }
    pg->size = ival(val(x, "PageSize"), 50);
    pg->page = ival(val(x, "Page"), 0);
    const emu_kv *tk = val(x, "PageToken");
    pg->token = tk ? tk->val : NULL;
    *before = 0;
    *token = 0;
    if (tk && parse_token(tk->val, tk->vlen, before, token) != 0) {
        param_error(out, "PageToken", "%s", "PageToken is not a page token issued by this server");
        return -1;
    }
    return 0;
}

size_t emu_page_fetch(const emu_seqlist *l, int desc, int before, uint64_t token, size_t n, emu_seqitem *out,
                      emu_page *pg, int (*keep)(const void *p, void *ctx), void *ctx) {
    size_t got;
    pg->prev_kind = 'B';
    pg->next_kind = 'A';
    if (!desc) {
        got = emu_seqlist_page(l, before, token, n, out, &pg->has_prev, &pg->has_next, keep, ctx);
        pg->prev_seq = got ? out[0].seq : token + 1;
        pg->next_seq = got ? out[got - 1].seq : (token ? token - 1 : 0);
        return got;
    }
    /* Descending: the next page holds the highest seqs below the token,
     * the previous one the lowest above it. */
    int ap = 0, an = 0;
    if (!before) got = emu_seqlist_page(l, 1, token ? token : UINT64_MAX, n, out, &ap, &an, keep, ctx);
    else got = emu_seqlist_page(l, 0, token, n, out, &ap, &an, keep, ctx);
    pg->has_prev = an;
    pg->has_next = ap;
    for (size_t a = 0, b = got; a + 1 < b; a++, b--) {
        emu_seqitem t = out[a];
        out[a] = out[b - 1];
        out[b - 1] = t;
    }
    pg->prev_seq = got ? out[0].seq : token;
    pg->next_seq = got ? out[got - 1].seq : token;
    return got;
}

static int add_url(cJSON *meta, const char *name, const emu_page *pg, long page, const char *tok, char kind,
                   uint64_t seq) {
    char buf[1400];
    if (kind)
        snprintf(buf, sizeof buf, "%s?%sPageSize=%ld&Page=%ld&PageToken=P%c%llx", pg->base, pg->extra, pg->size,
                 page, kind, (unsigned long long)seq);
    else if (tok)
        snprintf(buf, sizeof buf, "%s?%sPageSize=%ld&Page=%ld&PageToken=%s", pg->base, pg->extra, pg->size, page,
                 tok);
    else snprintf(buf, sizeof buf, "%s?%sPageSize=%ld&Page=%ld", pg->base, pg->extra, pg->size, page);
    return cJSON_AddStringToObject(meta, name, buf) ? 0 : -1;
}

void emu_page_answer(const emu_ctx *x, const emu_page *pg, cJSON *arr, emu_response *out) {
    cJSON *j = cJSON_CreateObject(), *meta = cJSON_CreateObject();
    if (!j || emu_json_add(j, pg->key, arr) != 0 || emu_json_add(j, "meta", meta) != 0) {
        if (!j) {
            cJSON_Delete(arr);
            cJSON_Delete(meta);
        }
        cJSON_Delete(j);
        oom(out);
        return;
    }
    long page = pg->page;
    int ok = cJSON_AddNumberToObject(meta, "page", (double)page) &&
             cJSON_AddNumberToObject(meta, "page_size", (double)pg->size) &&
             add_url(meta, "first_page_url", pg, 0, NULL, 0, 0) == 0 &&
             (pg->has_prev ? add_url(meta, "previous_page_url", pg, page > 0 ? page - 1 : 0, NULL, pg->prev_kind,
                                     pg->prev_seq) == 0
                           : cJSON_AddNullToObject(meta, "previous_page_url") != NULL) &&
             add_url(meta, "url", pg, page, pg->token, 0, 0) == 0;
    if (ok && x->next_url) ok = cJSON_AddStringToObject(meta, "next_page_url", x->next_url) != NULL;
    else if (ok && pg->has_next) ok = add_url(meta, "next_page_url", pg, page + 1, NULL, pg->next_kind, pg->next_seq) == 0;
    else if (ok) ok = cJSON_AddNullToObject(meta, "next_page_url") != NULL;
    ok = ok && cJSON_AddStringToObject(meta, "key", pg->key);
    if (!ok) {
        cJSON_Delete(j);
        oom(out);
        return;
    }
    emu_response_json(out, 200, j);
}

void emu_page_filter(emu_page *pg, const char *key, const emu_kv *kv) {
    static const char hex[] = "0123456789ABCDEF";
    if (!kv) return;
    size_t used = strlen(pg->extra);
    int n = snprintf(pg->extra + used, sizeof pg->extra - used, "%s=", key);
    if (n < 0 || (size_t)n >= sizeof pg->extra - used) {
        pg->extra[used] = '\0';
        return;
    }
    size_t at = used + (size_t)n;
    for (size_t i = 0; i < kv->vlen; i++) {
        unsigned char ch = (unsigned char)kv->val[i];
        int plain = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                    ch == '-' || ch == '_' || ch == '.' || ch == '~';
        if (at + (plain ? 1 : 3) + 2 > sizeof pg->extra) { /* does not fit: the filter is left out */
            pg->extra[used] = '\0';
            return;
        }
        if (plain) pg->extra[at++] = (char)ch;
        else {
            pg->extra[at++] = '%';
            pg->extra[at++] = hex[ch >> 4];
            pg->extra[at++] = hex[ch & 15];
        }
    }
    pg->extra[at++] = '&';
    pg->extra[at] = '\0';
}

void emu_list_page(const emu_ctx *x, emu_page *pg, emu_list_fn which, const void *arg,
                   int (*keep)(const void *, void *), void *kctx, emu_render_fn render, emu_response *out) {
    emu_server *srv = x->srv;
    int before;
    uint64_t token;
    if (emu_page_params(x, pg, &before, &token, out) != 0) return;
    emu_seqitem *items = malloc((size_t)pg->size * sizeof *items);
    cJSON *arr = cJSON_CreateArray();
    if (!items || !arr) {
        free(items);
        cJSON_Delete(arr);
        oom(out);
        return;
    }
    pthread_mutex_lock(&srv->lock);
    int64_t now = emu_now(srv);
    const emu_seqlist *l = which(srv, x->c, arg);
    size_t got = l ? emu_page_fetch(l, 0, before, token, (size_t)pg->size, items, pg, keep, kctx) : 0;
    int ok = 1;
    for (size_t i = 0; i < got && ok; i++) ok = emu_json_add(arr, NULL, render(items[i].p, srv, x->c->host, now)) == 0;
    pthread_mutex_unlock(&srv->lock);
    free(items);
    if (!ok) {
        cJSON_Delete(arr);
        oom(out);
        return;
    }
    emu_page_answer(x, pg, arr, out);
}
