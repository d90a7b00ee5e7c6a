/*
 * The platform's VT-d state in the exact layouts of Linux's debugfs files
 * under /sys/kernel/debug/iommu/intel/ (drivers/iommu/intel/debugfs.c, as
 * surveyed in ../shared/reference/peers.md section 3), so that a dump of
 * a simulated machine can be diffed against one taken on a real host:
 *
 *   iommu_regset                 every register, per unit
 *   dmar_translation_struct      root, context and PASID-table entries
 *   BDF/domain_translation_struct        page table of a device (PASID 0)
 *   BDF/PASID/domain_translation_struct  page table of one PASID (hex)
 *   invalidation_queue           the queued-invalidation ring
 *   ir_translation_struct        interrupt remapping table entries
 *
 * Everything is read from the registers (without side effects) and from
 * memory; where Linux prints its own software state the dump prints what
 * a quiescent Linux host shows: descriptor status 0 (QI_FREE) in the
 * invalidation queue, and the tables found through the latched RTADDR and
 * IRTA instead of the driver's pointers (the same addresses on a host).
 * Walk quirks are Linux's: a bus whose lower scalable-mode context table
 * is absent is skipped whole, page-table entries count as present when bit
 * 0 or 1 is set and as leaves when bit 7 is, and page-table depth comes
 * from AW (context hi[2:0], PASID entry val[0][4:2]).  Deliberate
 * differences: the number of queue slots printed follows IQA.QS and
 * IQA.DW (Linux prints its fixed 256), and the interrupt remapping table
 * is read up to its IRTA.S size (Linux always scans 65536 entries of its
 * full-size table).
 *
 * IRTEs are decoded with the interrupt-remapping model's accessors
 * (models/vtd/vtd_ir.h).
 */
#ifndef VTDSIM_EXPLAIN_DUMP_H
#define VTDSIM_EXPLAIN_DUMP_H

#include <stdint.h>
#include <glib.h>
#include "vtdsim/sim.h"

/**
 * explain_dump_files:
 * The names of every file the platform of @sim would have, in the order
 * `ls -R` would not care about but a reader does: the global files, then
 * one domain_translation_struct per device (and per PASID) with a present
 * context (and PASID) entry.  Free with g_strfreev().
 */
char **explain_dump_files(EmuSim *sim);

/**
 * explain_dump_file:
 * Appends the contents of debugfs file @name (one of explain_dump_files(),
 * or "domain_translation_struct" for every device's file with a
 * "==> NAME <==" line before each) to @out.  Returns FALSE with @error
 * naming the file when there is no such file.
 */
gboolean explain_dump_file(EmuSim *sim, const char *name, GString *out, GError **error);

#endif
