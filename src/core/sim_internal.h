/*
 * Internal view of the simulation context, for the layers above core.
 *
 * Core knows nothing about memory, PCIe or VT-d.  Higher layers hang their
 * per-simulation state on the context as named components: the context
 * owns each component and destroys it (in reverse order of attachment)
 * when the context is freed, so that a device is always torn down before
 * the bus and memory it was attached to.
 */
#ifndef VTDSIM_CORE_SIM_INTERNAL_H
#define VTDSIM_CORE_SIM_INTERNAL_H

#include "vtdsim/sim.h"
#include "core/evq.h"

/** Returns the event queue of @sim (owned by @sim). */
EvqQueue *emu_sim_evq(EmuSim *sim);

/**
 * emu_sim_attach:
 * Gives @sim ownership of @obj under @name (a static or long-lived string;
 * it is copied).  @destroy (may be NULL) is called on @obj when @sim is
 * freed.  Attaching a second object under an existing name is a programming
 * error (asserted).
 */
void emu_sim_attach(EmuSim *sim, const char *name, void *obj, GDestroyNotify destroy);

/** Returns the component attached as @name, or NULL. */
void *emu_sim_lookup(EmuSim *sim, const char *name);

/** Sets the clock; used by the event loop (never moves backwards). */
void emu_sim_set_now(EmuSim *sim, EmuTick t);

#endif
