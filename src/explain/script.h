/*
 * Setting a platform up for the explainer and the dumps: run a setup
 * script of qtest commands (include/vtdsim/qtest.h) against it, the way
 * `vtdsim walk --script` and `vtdsim dump --script` do.
 *
 * A script is a qtest command stream, one command a line; blank lines and
 * lines starting with '#' are skipped (so the demo's "#= ANSWER" checks
 * are ignored).  A command the server answers with FAIL or ERR stops the
 * script with an error naming the file and line.
 */
#ifndef VTDSIM_EXPLAIN_SCRIPT_H
#define VTDSIM_EXPLAIN_SCRIPT_H

#include <glib.h>
#include "vtdsim/sim.h"

/**
 * explain_run_script_text:
 * Runs the commands of @text (@source names it in messages) on @sim.
 * Returns FALSE with @error ("SOURCE:LINE: 'command' answered 'FAIL ...'")
 * at the first command that fails.
 */
gboolean explain_run_script_text(EmuSim *sim, const char *text, const char *source,
                                 GError **error);

/** Reads @path and runs it with explain_run_script_text(). */
gboolean explain_run_script(EmuSim *sim, const char *path, GError **error);

/**
 * explain_sim_from_trace:
 * Replays the trace at @path (docs/trace-format.md: its platform line, driver
 * operations, qtest commands, device requests) and returns the machine in the
 * state the trace left it; the caller frees it.  Failed expectations do not
 * matter here; a trace that cannot be run gives NULL and @error ("FILE:LINE: ...").
 * A trace without events gives the built-in platform.
 */
EmuSim *explain_sim_from_trace(const char *path, GError **error);

#endif
