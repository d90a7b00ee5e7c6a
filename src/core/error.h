/*
 * The GError domain for configuration and API errors (style rule 7:
 * invariants assert, configuration/API errors are GErrors, guest errors
 * become architectural faults).
 */
#ifndef VTDSIM_CORE_ERROR_H
#define VTDSIM_CORE_ERROR_H

#include <glib.h>

#define EMU_ERROR (emu_error_quark())
GQuark emu_error_quark(void);

typedef enum EmuErrorCode {
    EMU_ERROR_INVALID,   /* a value out of range or inconsistent */
    EMU_ERROR_PARSE,     /* malformed input text */
    EMU_ERROR_IO,        /* a file could not be read or written */
    EMU_ERROR_LIMIT,     /* a resource limit was hit */
    EMU_ERROR_BUSY,      /* the slot, address or name is taken */
} EmuErrorCode;

#endif
