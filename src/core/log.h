/*
 * Messages.  Each .c defines LOG_PREFIX before including this header.
 *
 * emu_guest_error() is the channel for anything a guest, trace or program
 * did wrong that the simulated hardware tolerates (style rule 7): it never
 * aborts.  Output goes through g_log under the "vtdsim" domain, so a
 * program embedding libvtdsim can install its own handler; the CLI prints
 * guest errors and warnings on stderr and info only with -v.
 */
#ifndef VTDSIM_CORE_LOG_H
#define VTDSIM_CORE_LOG_H

#include <glib.h>

#ifndef LOG_PREFIX
#error "define LOG_PREFIX before including core/log.h"
#endif

#define EMU_LOG_DOMAIN "vtdsim"

#define emu_guest_error(...) \
    g_log(EMU_LOG_DOMAIN, G_LOG_LEVEL_WARNING, LOG_PREFIX ": guest error: " __VA_ARGS__)
#define emu_warn(...) g_log(EMU_LOG_DOMAIN, G_LOG_LEVEL_WARNING, LOG_PREFIX ": " __VA_ARGS__)
#define emu_info(...) g_log(EMU_LOG_DOMAIN, G_LOG_LEVEL_INFO, LOG_PREFIX ": " __VA_ARGS__)
#define emu_dbg(...)  g_log(EMU_LOG_DOMAIN, G_LOG_LEVEL_DEBUG, LOG_PREFIX ": " __VA_ARGS__)

#endif
