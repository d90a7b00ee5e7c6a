/*
 * Reference VT-d translation: the trivially correct model the differential
 * test compares vtd_xlate against.
 *
 * It has no caches, no paging-structure caches and no cleverness: every
 * request reads the root, context, PASID and paging entries from memory
 * and applies the checks in specification order, as one straight-line
 * function per structure.  It shares the entry layouts (vtd_entries.h) and
 * the request/result types (vtd_xlate.h) with the engine, not its code.
 *
 * @bugs injects a deliberate error (REF_BUG_*) so that a test can prove
 * the differential comparison notices a difference.
 */
#ifndef VTDSIM_MODELS_REF_REF_WALK_H
#define VTDSIM_MODELS_REF_REF_WALK_H

#include "mem/addr_space.h"
#include "models/vtd/vtd_xlate.h"

enum {
    REF_BUG_NONE = 0,
    REF_BUG_IGNORE_SS_W = 1u << 0,   /* treat every second-stage entry as writable */
};

/** Translates @req against @cfg and memory @mem; fills *@res like vtd_xlate_translate(). */
VtdXlateStatus ref_walk_translate(AddrSpace *mem, const VtdXlateConfig *cfg,
                                  const VtdXlateRequest *req, VtdXlateResult *res,
                                  unsigned bugs);

#endif
