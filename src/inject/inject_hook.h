/*
 * The hooks through which the fault injector (src/inject) reaches into
 * the platform: the root complex's upstream memory path and MSI delivery.
 *
 * The injector attaches an InjectHooks table to the simulation under
 * INJECT_HOOKS_NAME (emu_sim_attach); src/platform/platform.c and irq.c
 * look it up and, when it is there, let it complete a request itself
 * (an error completion), act around a request (flip a table bit before
 * and restore it after), change how many times an MSI is delivered or
 * let a device-TLB invalidation time out or an invalidation descriptor
 * be lost, delayed or reordered.
 * Without an attached table the platform behaves exactly as before.
 * This header depends only on the PCIe layer, so the platform can
 * include it without knowing the injector.
 */
#ifndef VTDSIM_INJECT_INJECT_HOOK_H
#define VTDSIM_INJECT_INJECT_HOOK_H

#include <stdbool.h>
#include <stdint.h>
#include "pcie/tlp.h"

#define INJECT_HOOKS_NAME "inject.hooks"

/* What happens to one fetched invalidation descriptor (models/vtd/vtd.h VtdQiAction). */
typedef enum InjectQiAction {
    INJECT_QI_PASS = 0,       /* executed in order, at once */
    INJECT_QI_DROP,           /* consumed without effect */
    INJECT_QI_DELAY,          /* executed *arg ps later */
    INJECT_QI_REORDER,        /* executed after the next *arg descriptors */
} InjectQiAction;

typedef struct InjectHooks {
    void *opaque;
    /*
     * A memory request arriving at the root complex, before translation.
     * Returns true when the injector completed it (*@status is then the
     * completion; read data already filled in).
     */
    bool (*rc_before)(void *opaque, PcieTlp *tlp, void *data, PcieCplStatus *status);
    /* The same request after the root complex handled it (may change *@status). */
    void (*rc_after)(void *opaque, PcieTlp *tlp, void *data, PcieCplStatus *status);
    /* An MSI about to be routed: how many times to deliver it (0 lost, 1, 2 duplicated). */
    unsigned (*msi)(void *opaque, uint16_t rid, uint64_t addr, uint32_t data);
    /* The MSI of the last msi() call has been delivered (or not). */
    void (*msi_done)(void *opaque);
    /*
     * A table access of a unit's translation walker (a read, or an A/D
     * write-back with @write): true = it fails (models/vtd/vtd_xlate.h
     * VtdXlateMemFilter).  Installed in the units by platform_attach_inject()
     * only when set; the hot path without an injector is one NULL check.
     */
    bool (*table_access)(void *opaque, uint64_t addr, bool write);
    /* A device-TLB invalidation request to @sid: true = the device never answers (ITE). */
    bool (*devtlb_timeout)(void *opaque, uint16_t sid, uint64_t addr);
    /*
     * An invalidation descriptor of @type (VT-d 6.5.2) that a unit's queue
     * fetched, its four 64-bit words in @val (the upper two zero in a
     * 128-bit queue): returns what the unit does with it, and sets *@arg
     * to the delay in ps (INJECT_QI_DELAY) or the number of descriptors to
     * let pass first (INJECT_QI_REORDER).
     */
    InjectQiAction (*qi_filter)(void *opaque, unsigned type, const uint64_t *val, uint64_t *arg);
} InjectHooks;

#endif
