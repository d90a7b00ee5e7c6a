/*
 * Binary min-heap of events keyed by (time, priority, sequence).
 *
 * The sequence number is a per-queue counter, so ordering among equal
 * (time, priority) pairs is exactly scheduling order.  Timers are
 * cancelled lazily: each heap entry remembers the timer generation it was
 * armed with, and entries whose generation no longer matches are dropped
 * when they reach the top.  That keeps re-arming O(log n) without a
 * decrease-key operation.
 */
#include "core/evq.h"
#include "core/sim_internal.h"

typedef struct EvqEntry {
    EmuTick when;
    int prio;
    uint64_t seq;
    EvqFunc *fn;          /* one-shot events */
    void *opaque;
    EmuTimer *timer;      /* timer events (fn unused) */
    uint64_t gen;
} EvqEntry;

struct EvqQueue {
    EvqEntry *heap;
    size_t len, cap;
    uint64_t next_seq;
};

EvqQueue *evq_new(void)
{
    return g_new0(EvqQueue, 1);
}

void evq_free(EvqQueue *q)
{
    if (q) {
        g_free(q->heap);
        g_free(q);
    }
}

static bool entry_before(const EvqEntry *a, const EvqEntry *b)
{
    if (a->when != b->when) {
        return a->when < b->when;
    }
    if (a->prio != b->prio) {
        return a->prio < b->prio;
    }
    return a->seq < b->seq;
}

static void heap_push(EvqQueue *q, EvqEntry e)
{
    if (q->len == q->cap) {
        q->cap = q->cap ? q->cap * 2 : 64;
        q->heap = g_renew(EvqEntry, q->heap, q->cap);
    }
    e.seq = q->next_seq++;
    size_t i = q->len++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!entry_before(&e, &q->heap[parent])) {
            break;
        }
        q->heap[i] = q->heap[parent];
        i = parent;
    }
    q->heap[i] = e;
}

static EvqEntry heap_pop(EvqQueue *q)
{
    g_assert(q->len > 0);
    EvqEntry top = q->heap[0];
    EvqEntry last = q->heap[--q->len];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        const EvqEntry *best = &last;
        if (l < q->len && entry_before(&q->heap[l], best)) {
            m = l;
            best = &q->heap[l];
        }
        if (r < q->len && entry_before(&q->heap[r], best)) {
            m = r;
        }
        if (m == i) {
            break;
        }
        q->heap[i] = q->heap[m];
        i = m;
    }
    if (q->len > 0) {
        q->heap[i] = last;
    }
    return top;
}

static bool entry_stale(const EvqEntry *e)
{
    return e->timer && (!e->timer->armed || e->timer->gen != e->gen);
}

/* Drops cancelled timer entries sitting at the top of the heap. */
static void drop_stale(EvqQueue *q)
{
    while (q->len > 0 && entry_stale(&q->heap[0])) {
        heap_pop(q);
    }
}

void evq_schedule(EmuSim *sim, EmuTick when, int prio, EvqFunc *fn, void *opaque)
{
    EmuTick now = emu_sim_now(sim);
    EvqEntry e = { .when = when < now ? now : when, .prio = prio, .fn = fn, .opaque = opaque };
    heap_push(emu_sim_evq(sim), e);
}

void emu_timer_init(EmuTimer *t, EmuSim *sim, int prio, EvqFunc *fn, void *opaque)
{
    *t = (EmuTimer){ .sim = sim, .fn = fn, .opaque = opaque, .prio = prio };
}

void emu_timer_mod(EmuTimer *t, EmuTick when)
{
    EmuTick now = emu_sim_now(t->sim);
    t->gen++;
    t->armed = true;
    t->expire = when < now ? now : when;
    EvqEntry e = { .when = t->expire, .prio = t->prio, .timer = t, .gen = t->gen };
    heap_push(emu_sim_evq(t->sim), e);
}

static void heap_sift_down(EvqQueue *q, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < q->len && entry_before(&q->heap[l], &q->heap[m])) {
            m = l;
        }
        if (r < q->len && entry_before(&q->heap[r], &q->heap[m])) {
            m = r;
        }
        if (m == i) {
            return;
        }
        EvqEntry tmp = q->heap[i];
        q->heap[i] = q->heap[m];
        q->heap[m] = tmp;
        i = m;
    }
}

/*
 * The owner may free the timer right after this call, so every heap entry
 * that points at it (armed or stale) is purged now rather than lazily.
 */
void emu_timer_del(EmuTimer *t)
{
    t->armed = false;
    t->gen++;
    EvqQueue *q = emu_sim_evq(t->sim);
    size_t keep = 0;
    for (size_t i = 0; i < q->len; i++) {
        if (q->heap[i].timer != t) {
            q->heap[keep++] = q->heap[i];
        }
    }
    if (keep != q->len) {
        q->len = keep;
        for (size_t i = q->len / 2; i-- > 0;) {
            heap_sift_down(q, i);
        }
    }
}

bool evq_peek(EvqQueue *q, EmuTick *when)
{
    drop_stale(q);
    if (q->len == 0) {
        return false;
    }
    *when = q->heap[0].when;
    return true;
}

bool evq_pop_run(EmuSim *sim, EvqQueue *q, EmuTick limit)
{
    EmuTick when;
    if (!evq_peek(q, &when) || when > limit) {
        return false;
    }
    EvqEntry e = heap_pop(q);
    if (e.when > emu_sim_now(sim)) {
        emu_sim_set_now(sim, e.when);
    }
    if (e.timer) {
        e.timer->armed = false;
        e.timer->fn(sim, e.timer->opaque);
    } else {
        e.fn(sim, e.opaque);
    }
    return true;
}

uint64_t evq_length(const EvqQueue *q)
{
    return q->len;
}
