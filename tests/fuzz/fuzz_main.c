/*
 * Regression driver for the fuzz targets when libFuzzer is not linked:
 * runs LLVMFuzzerTestOneInput on every regular file in the directories
 * (or files) named on the command line, in sorted order.
 */
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fuzz.h"

/*
 * --mutate N SEED: besides each input itself, run N deterministic mutations
 * of it (bit flips, byte changes, truncation, duplication of a slice): a
 * small fuzzing pass cheap enough for `make check`.
 */
static unsigned mutations;
static GRand *rnd;

static void run_mutations(const char *data, gsize n)
{
    for (unsigned m = 0; m < mutations; m++) {
        gsize len = n ? n : 1;
        guint8 *buf = g_malloc(2 * len + 16);
        memcpy(buf, data, n);
        gsize cur = n;
        unsigned edits = 1 + g_rand_int_range(rnd, 0, 8);
        for (unsigned e = 0; e < edits; e++) {
            gsize at = cur ? (gsize)g_rand_int_range(rnd, 0, (gint32)MIN(cur, G_MAXINT32)) : 0;
            switch (g_rand_int_range(rnd, 0, 5)) {
            case 0:
                if (cur) {
                    buf[at] ^= (guint8)(1u << g_rand_int_range(rnd, 0, 8));
                }
                break;
            case 1:
                if (cur) {
                    buf[at] = (guint8)g_rand_int_range(rnd, 0, 256);
                }
                break;
            case 2:
                cur = at;   /* truncate */
                break;
            case 3: {
                gsize l = MIN(cur - at, (gsize)16);
                if (cur + l <= 2 * len + 16) {
                    memmove(buf + at + l, buf + at, cur - at);
                    cur += l;   /* duplicate a slice */
                }
                break;
            }
            default:
                if (cur) {
                    buf[at] = "0123456789abcdefx \n#@=\"-"[g_rand_int_range(rnd, 0, 25)];
                }
                break;
            }
        }
        LLVMFuzzerTestOneInput(buf, cur);
        g_free(buf);
    }
}

static int run_file(const char *path)
{
    gchar *data = NULL;
    gsize n = 0;
    GError *err = NULL;
    if (!g_file_get_contents(path, &data, &n, &err)) {
        fprintf(stderr, "%s\n", err->message);
        g_error_free(err);
        return 1;
    }
    LLVMFuzzerTestOneInput((const uint8_t *)data, n);
    if (mutations) {
        run_mutations(data, n);
    }
    g_free(data);
    return 0;
}

int main(int argc, char **argv)
{
    int files = 0, bad = 0;
    int first = 1;
    if (argc > 3 && !strcmp(argv[1], "--mutate")) {
        mutations = (unsigned)atoi(argv[2]);
        rnd = g_rand_new_with_seed((guint32)atoi(argv[3]));
        first = 4;
    }
    for (int i = first; i < argc; i++) {
        if (g_file_test(argv[i], G_FILE_TEST_IS_DIR)) {
            GDir *d = g_dir_open(argv[i], 0, NULL);
            GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
            const char *n;
            while (d && (n = g_dir_read_name(d))) {
                g_ptr_array_add(names, g_build_filename(argv[i], n, NULL));
            }
            if (d) {
                g_dir_close(d);
            }
            g_ptr_array_sort(names, (GCompareFunc)g_strcmp0);
            for (guint k = 0; k < names->len; k++) {
                bad += run_file(g_ptr_array_index(names, k));
                files++;
            }
            g_ptr_array_free(names, TRUE);
        } else {
            bad += run_file(argv[i]);
            files++;
        }
    }
    printf("%s: %d inputs (+%u mutations each) run, %d unreadable\n", argv[0], files, mutations, bad);
    if (rnd) {
        g_rand_free(rnd);
    }
    return bad ? 1 : 0;
}
