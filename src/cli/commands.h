/*
 * Subcommands of the vtdsim program that live in their own files.  Each
 * takes main()'s argc/argv (argv[1] is the subcommand name) and returns the
 * process exit status: 0 success, 1 the run found a problem (a failed
 * expectation), 2 bad usage or input.  To add one: declare it here, add a
 * row to VTDSIM_EXTRA_COMMANDS, and its usage line to usage() in main.c.
 */
#ifndef VTDSIM_CLI_COMMANDS_H
#define VTDSIM_CLI_COMMANDS_H

int cmd_replay(int argc, char **argv);
int cmd_trace(int argc, char **argv);
int cmd_trace_import(int argc, char **argv);
int cmd_walk(int argc, char **argv);
int cmd_dump(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_campaign(int argc, char **argv);

#define VTDSIM_EXTRA_COMMANDS \
    { "replay", cmd_replay }, \
    { "trace", cmd_trace }, \
    { "walk", cmd_walk }, \
    { "dump", cmd_dump }, \
    { "bench", cmd_bench }, \
    { "campaign", cmd_campaign },

#endif
