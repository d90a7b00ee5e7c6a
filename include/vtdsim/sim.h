/*
 * vtdsim public API: the simulation context.
 *
 * An EmuSim owns everything one simulated machine needs: its event queue
 * and clock, its host physical memory, its address spaces, its PCIe fabric
 * and its device models.  There are no globals anywhere in vtdsim, so any
 * number of EmuSim objects may live in one process and never interfere
 * (they must not be used from two threads at once, though: an EmuSim is
 * single-threaded by design, like the hardware clock it models).
 *
 * Simulated time is an EmuTick: an unsigned 64-bit count of picoseconds
 * since the simulation started (enough for about 213 simulated days).
 */
#ifndef VTDSIM_SIM_H
#define VTDSIM_SIM_H

#include <stdint.h>
#include <glib.h>

G_BEGIN_DECLS

/** Simulated time in picoseconds. */
typedef uint64_t EmuTick;

#define EMU_TICKS_PER_NS  1000ull
#define EMU_TICKS_PER_US  1000000ull
#define EMU_TICKS_PER_MS  1000000000ull
#define EMU_TICK_MAX      UINT64_MAX

/** Opaque simulation context. */
typedef struct EmuSim EmuSim;

/**
 * emu_sim_new:
 * Creates an empty simulation context at time 0 with no devices.
 * Returns: a new context; free it with emu_sim_free().  Never NULL.
 */
EmuSim *emu_sim_new(void);

/**
 * emu_sim_free:
 * Destroys @sim and everything it owns (memory, devices, pending events).
 * NULL is accepted and ignored.
 */
void emu_sim_free(EmuSim *sim);

/** emu_sim_now: the current simulated time of @sim, in picoseconds. */
EmuTick emu_sim_now(const EmuSim *sim);

/**
 * emu_sim_run_until:
 * Runs every pending event whose time is <= @until in (time, priority,
 * insertion) order, then sets the clock to @until (if it is later than the
 * current time).  Events scheduled by handlers are run too when they fall
 * within the window.
 * Returns: the number of events run.
 */
uint64_t emu_sim_run_until(EmuSim *sim, EmuTick until);

/**
 * emu_sim_next_deadline:
 * Returns: the time of the earliest pending event, or EMU_TICK_MAX when the
 * queue is empty.
 */
EmuTick emu_sim_next_deadline(EmuSim *sim);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(EmuSim, emu_sim_free)

G_END_DECLS

#endif
