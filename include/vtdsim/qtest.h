/*
 * vtdsim public API: the qtest front end.
 *
 * QEMU's qtest protocol is a line protocol: the client sends one command a
 * line ("readl 0xfed90000", "outl 0xcf8 0x80000810", "clock_step 1000"),
 * the server answers "OK ...", "FAIL ..." or "ERR ..." on one line, and
 * interrupt notifications arrive as "IRQ raise N" / "IRQ lower N" lines.
 * vtdsim answers every command exactly as QEMU 7.2 does, so one command
 * stream can run against both and the answers be compared; where QEMU
 * would abort (a malformed number, a missing argument) vtdsim answers
 * "FAIL <reason>" and carries on.
 */
#ifndef VTDSIM_QTEST_H
#define VTDSIM_QTEST_H

#include <glib.h>
#include "vtdsim/sim.h"

G_BEGIN_DECLS

typedef struct VtdsimQtest VtdsimQtest;

/** Receives each line the server sends (without the newline). */
typedef void VtdsimQtestSend(void *opaque, const char *line);

/**
 * vtdsim_qtest_new:
 * A protocol session on @sim (borrowed: must outlive the session).  Every
 * answer and notification goes to @send.  Free with vtdsim_qtest_free().
 */
VtdsimQtest *vtdsim_qtest_new(EmuSim *sim, VtdsimQtestSend *send, void *opaque);
void vtdsim_qtest_free(VtdsimQtest *q);

/** Processes one command line (no newline needed); always sends exactly one answer. */
void vtdsim_qtest_command(VtdsimQtest *q, const char *line);

/**
 * vtdsim_qtest_serve_fd:
 * Reads commands from @in_fd until end of file, answering each through
 * the session's send callback.  Returns 0, or -1 with errno set on a read
 * error.
 */
int vtdsim_qtest_serve_fd(VtdsimQtest *q, int in_fd);

G_END_DECLS

#endif
