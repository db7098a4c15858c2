/*
 * hooks.h -- private to hooks.c (the delivery of webhook events) and
 * webhooks.c (the Webhook resources): a service's webhooks and the
 * delivery state they share, under the server lock (the store part) and
 * hooks->qlock (the queue and the records).
 */
#ifndef EMU_HOOKS_H
#define EMU_HOOKS_H

#include <pthread.h>

#include "emu.h"

#define QUEUE_HARD_MAX 4096  /* the most queue_max can be set to */

typedef struct emu_webhook {
    char sid[35];
    char service_sid[35];
    uint64_t seq;
    char *friendly_name, *url;
    char **events;
    size_t nevents;
    int enabled, v1;
    int64_t created, updated;
} emu_webhook;

typedef struct delivery {
    uint64_t id;
    char *event, *uuid, *url, *webhook_sid, *body, *signature;
    cJSON *params;     /* object: the form parameters sent */
    double queued_at;  /* unix seconds */
} delivery;

struct emu_hooks {
    emu_map by_sid;          /* "YW..." -> emu_webhook (owned) */
    emu_seqlist list;        /* every webhook, by creation */
    uint64_t next_seq;
    pthread_mutex_t qlock;
    pthread_cond_t qcond;
    delivery **queue;        /* ring of QUEUE_HARD_MAX */
    size_t qhead, qn;
    size_t queue_max;
    long timeout_ms;
    int paused, stop, started;
    pthread_t thread;
    cJSON *log[EMU_HOOK_LOG_MAX];
    size_t log_head, log_n;
    uint64_t next_id;
    unsigned long gen;       /* bumped by reset: a delivery in flight then is not recorded */
    unsigned long n_delivered, n_failed, n_refused, n_dropped, n_timeout;
    delivery *current;       /* being sent (worker only) */
};

/* Free a webhook (emu_map's value free function). */
void emu_webhook_free(void *p);
/* 0: a loopback http(s) URL, the only kind delivered to; else -1 with why. */
int emu_hook_check_url(const char *url, char *why, size_t wlen);

#endif
