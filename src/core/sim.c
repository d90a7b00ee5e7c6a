/*
 * The simulation context: a clock, an event queue and a list of owned
 * components.  See include/vtdsim/sim.h for the contract.
 */
#include "core/sim_internal.h"
#include "core/error.h"

typedef struct SimComponent {
    char *name;
    void *obj;
    GDestroyNotify destroy;
} SimComponent;

struct EmuSim {
    EmuTick now;
    EvqQueue *evq;
    GPtrArray *components;   /* SimComponent *, in attachment order */
    GHashTable *by_name;     /* name -> SimComponent * (borrowed) */
};

EmuSim *emu_sim_new(void)
{
    EmuSim *sim = g_new0(EmuSim, 1);
    sim->evq = evq_new();
    sim->components = g_ptr_array_new();
    sim->by_name = g_hash_table_new(g_str_hash, g_str_equal);
    return sim;
}

void emu_sim_free(EmuSim *sim)
{
    if (!sim) {
        return;
    }
    /* Reverse order: devices go before the buses and memory below them. */
    for (guint i = sim->components->len; i-- > 0;) {
        SimComponent *c = g_ptr_array_index(sim->components, i);
        if (c->destroy) {
            c->destroy(c->obj);
        }
        g_free(c->name);
        g_free(c);
    }
    g_ptr_array_free(sim->components, TRUE);
    g_hash_table_destroy(sim->by_name);
    evq_free(sim->evq);
    g_free(sim);
}

EmuTick emu_sim_now(const EmuSim *sim)
{
    return sim->now;
}

void emu_sim_set_now(EmuSim *sim, EmuTick t)
{
    g_assert(t >= sim->now);
    sim->now = t;
}

EvqQueue *emu_sim_evq(EmuSim *sim)
{
    return sim->evq;
}

void emu_sim_attach(EmuSim *sim, const char *name, void *obj, GDestroyNotify destroy)
{
    g_assert(name && !g_hash_table_contains(sim->by_name, name));
    SimComponent *c = g_new0(SimComponent, 1);
    c->name = g_strdup(name);
    c->obj = obj;
    c->destroy = destroy;
    g_ptr_array_add(sim->components, c);
    g_hash_table_insert(sim->by_name, c->name, c);
}

void *emu_sim_lookup(EmuSim *sim, const char *name)
{
    SimComponent *c = g_hash_table_lookup(sim->by_name, name);
    return c ? c->obj : NULL;
}

uint64_t emu_sim_run_until(EmuSim *sim, EmuTick until)
{
    uint64_t n = 0;
    while (evq_pop_run(sim, sim->evq, until)) {
        n++;
    }
    if (until > sim->now) {
        sim->now = until;
    }
    return n;
}

EmuTick emu_sim_next_deadline(EmuSim *sim)
{
    EmuTick t;
    return evq_peek(sim->evq, &t) ? t : EMU_TICK_MAX;
}

GQuark emu_error_quark(void)
{
    return g_quark_from_static_string("vtdsim-error-quark");
}
