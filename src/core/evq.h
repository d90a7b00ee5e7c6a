/*
 * The discrete-event queue of one simulation context.
 *
 * Every timed thing in vtdsim (a DMA engine finishing a copy, a link
 * delivering a TLP, a page walker returning) is an event on the single
 * queue of its EmuSim.  Events are ordered by (time, priority, insertion
 * sequence): equal times are broken by the smaller priority value first,
 * then by the order they were scheduled, so a run is deterministic no
 * matter how the heap happens to be laid out.
 *
 * Two styles are offered.  A one-shot event (evq_schedule) is fire and
 * forget.  An EmuTimer is owned by a device model, may be re-armed or
 * cancelled at any time, and is cancelled lazily: re-arming bumps a
 * generation count and stale heap entries are skipped when they surface.
 *
 * Not modelled: real-time pacing; the queue only ever jumps forward.
 */
#ifndef VTDSIM_CORE_EVQ_H
#define VTDSIM_CORE_EVQ_H

#include <stdbool.h>
#include <stdint.h>
#include "vtdsim/sim.h"

typedef void EvqFunc(EmuSim *sim, void *opaque);

/** Priorities: smaller runs first among events at the same tick. */
enum {
    EVQ_PRIO_HIGH = -100,
    EVQ_PRIO_DEFAULT = 0,
    EVQ_PRIO_LOW = 100,
};

/**
 * An EmuTimer lives inside its owner's state (caller-allocated, never
 * freed by the queue).  Initialise with emu_timer_init(); the owner must
 * call emu_timer_del() before freeing the memory the timer lives in.
 */
typedef struct EmuTimer {
    EmuSim *sim;
    EvqFunc *fn;
    void *opaque;
    int prio;
    uint64_t gen;      /* generation; heap entries with an older one are stale */
    bool armed;
    EmuTick expire;    /* valid while armed */
} EmuTimer;

typedef struct EvqQueue EvqQueue;

EvqQueue *evq_new(void);
void evq_free(EvqQueue *q);

/** Schedules @fn(sim, opaque) at absolute time @when (clamped to now). */
void evq_schedule(EmuSim *sim, EmuTick when, int prio, EvqFunc *fn, void *opaque);

void emu_timer_init(EmuTimer *t, EmuSim *sim, int prio, EvqFunc *fn, void *opaque);
/** Arms (or re-arms) @t to fire at absolute time @when (clamped to now). */
void emu_timer_mod(EmuTimer *t, EmuTick when);
/** Disarms @t; safe on a timer that is not armed. */
void emu_timer_del(EmuTimer *t);
static inline bool emu_timer_pending(const EmuTimer *t) { return t->armed; }

/* Used by sim.c only. */
bool evq_peek(EvqQueue *q, EmuTick *when);
bool evq_pop_run(EmuSim *sim, EvqQueue *q, EmuTick limit);
uint64_t evq_length(const EvqQueue *q);

#endif
