/*
 * make bench: trace replay speed (issue 5 item 6), measured, never asserted.
 *
 * Writes a trace of N IOTLB-hitting 64-byte DMA reads (one TLP each) in text
 * and binary form, then times, in the same run and on one core:
 *   floor  - reading and tokenising the file (trace_reader_next, no replay)
 *   replay - replaying it (translation, memory access, statistics)
 * and prints requests per second and the replay/floor ratio.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "trace/replay.h"
#include "trace/trace.h"

static double now_s(void)
{
    return (double)g_get_monotonic_time() / 1e6;
}

static double floor_time(const char *path, uint64_t *events)
{
    double t0 = now_s();
    TraceReader *r = trace_reader_open(path, NULL);
    const TraceEvent *ev;
    uint64_t n = 0;
    while ((ev = trace_reader_next(r, false, false, NULL))) {
        n++;
    }
    trace_reader_free(r);
    *events = n;
    return now_s() - t0;
}

static double replay_time(const char *path)
{
    Replay *rp = replay_new(NULL);
    double t0 = now_s();
    GError *err = NULL;
    if (!replay_run(rp, path, &err)) {
        fprintf(stderr, "replay: %s\n", err->message);
        exit(1);
    }
    double t = now_s() - t0;
    replay_free(rp);
    return t;
}

int main(int argc, char **argv)
{
    unsigned n = argc > 1 ? (unsigned)atoi(argv[1]) : 2000000;
    g_autofree char *dir = g_dir_make_tmp("vtdsim-bench-XXXXXX", NULL);
    g_autofree char *text = g_build_filename(dir, "b.trace", NULL);
    g_autofree char *bin = g_build_filename(dir, "b.bin", NULL);
    FILE *f = fopen(text, "w");
    fprintf(f, "vtdsim-trace 1\n"
               "iommu dmar0 mode=legacy pool=0x1000000+4M\n"
               "domain d dmar0 type=ss\nattach d edu\nmap d 0x0 0x200000 64K perm=rw\n"
               "enable dmar0\noutl 0xcf8 0x80000804\noutl 0xcfc 0x6\n");
    for (unsigned i = 0; i < n; i++) {
        fprintf(f, "dma read edu 0x%x 64\n", (i * 64) & 0xffff);
    }
    fclose(f);
    GError *err = NULL;
    if (!trace_convert(text, bin, &err)) {
        fprintf(stderr, "convert: %s\n", err->message);
        return 1;
    }
    printf("replay_bench: %u IOTLB-hitting 64-byte DMA reads (legacy mode, 4-level)\n", n);
    const char *names[2] = { "text", "binary" };
    const char *paths[2] = { text, bin };
    for (int i = 0; i < 2; i++) {
        uint64_t events;
        double fl = floor_time(paths[i], &events);
        double rp = replay_time(paths[i]);
        printf("  %-6s read+tokenise %8.3f s (%6.2f M events/s)   replay %8.3f s (%6.2f M requests/s)"
               "   replay/floor %.2fx\n", names[i], fl, (double)events / fl / 1e6, rp,
               (double)n / rp / 1e6, rp / fl);
    }
    unlink(text);
    unlink(bin);
    rmdir(dir);
    return 0;
}
