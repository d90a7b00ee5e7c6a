/* Fuzz target: the trace reader and replayer on arbitrary text (and binary) input. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <glib.h>
#include "fuzz.h"
#include "trace/replay.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[] = "/tmp/vtdsim-fuzz-trace-XXXXXX";
    int fd = g_mkstemp(path);
    if (fd < 0) {
        return 0;
    }
    if (write(fd, data, size) != (ssize_t)size) {
        close(fd);
        unlink(path);
        return 0;
    }
    close(fd);
    Replay *r = replay_new(NULL);
    GError *err = NULL;
    if (!replay_run(r, path, &err)) {
        g_error_free(err);
    }
    GString *s = g_string_new(NULL);
    replay_summary_text(r, s);
    replay_summary_json(r, s);
    g_string_free(s, TRUE);
    replay_free(r);
    unlink(path);
    return 0;
}
