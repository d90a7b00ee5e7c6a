/*
 * Fault-injection campaigns (docs/fault-injection.md): a campaign file
 * names traces, fault classes, trigger points and seeds; `plan` expands
 * their product into independent shard files, `run` executes unfinished
 * shards in parallel on this machine, `run-shard` executes one (the unit
 * GNU parallel and Slurm job arrays distribute), and `merge` combines the
 * shard results into one report with per-class detection coverage.
 *
 * Layout of a campaign directory:
 *   DIR/shards/NNNNN.shard    one injection run each (a key file)
 *   DIR/results/NNNNN.json    its result, written atomically (a temporary
 *                             file renamed into place), so a result either
 *                             exists complete or not at all
 *   DIR/report.txt, report.json   written by merge
 * A shard whose result exists is finished: `run` skips it, so an
 * interrupted campaign resumes where it stopped and never repeats or
 * loses a finished shard.  Results contain no wall-clock values: the same
 * shard gives byte-identical results on any host.
 */
#ifndef VTDSIM_INJECT_CAMPAIGN_H
#define VTDSIM_INJECT_CAMPAIGN_H

#include <stdbool.h>
#include <glib.h>

/** Expands @ini into shard files under @dir; returns the shard count, or -1 with @error. */
int campaign_plan(const char *ini, const char *dir, GError **error);

/**
 * campaign_run_shard:
 * Runs one shard and writes its result next to it (../results/ID.json).
 * With !@force an existing result is kept and nothing runs.  FALSE with
 * @error when the shard file is unreadable or the result cannot be
 * written; a trace that fails is a result (outcome "error"), not an error.
 */
gboolean campaign_run_shard(const char *shard, bool force, GError **error);

/**
 * campaign_run:
 * Runs every unfinished shard of @dir with up to @jobs processes at once
 * (each shard in its own forked process).  *@done_before / *@ran /
 * *@failed count the shards skipped, run and failed.
 */
gboolean campaign_run(const char *dir, unsigned jobs, unsigned *done_before, unsigned *ran,
                      unsigned *failed, GError **error);

/**
 * campaign_merge:
 * Combines DIR/results/ into one report (text to @text, and DIR/report.txt
 * and DIR/report.json written atomically).  Shards without a result are
 * listed as missing.  FALSE with @error when @dir is not a campaign.
 */
gboolean campaign_merge(const char *dir, GString *text, GError **error);

#endif
