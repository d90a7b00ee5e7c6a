/*
 * A DPDK application using the dmadev API with DPDK's own ioat poll-mode
 * driver (Debian's libdpdk 22.11): nothing here knows about vtdsim.  Run
 * under vtdsim-run with libvtdsim-vfio.so preloaded, EAL binds the
 * simulated IOAT through VFIO (container, group, MAP_DMA of its memory
 * with IOVA = VA, BAR mmap, MSI-X/INTx eventfds) and the PMD drives the
 * descriptor ring, the DMACOUNT doorbell and the CHANCMP completion
 * write-back through the simulated VT-d.
 *
 *   dpdk_ioat BDF [copies]      e.g. dpdk_ioat 0000:00:04.0 64
 *
 * Prints one ok/FAIL line per check; exit 0 when all pass, 2 when EAL or
 * the device cannot be brought up.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_dmadev.h>
#include <rte_eal.h>
#include <rte_malloc.h>

static int failures;

static void check(int cond, const char *what)
{
    printf("%s %s\n", cond ? "ok  " : "FAIL", what);
    if (!cond) {
        failures++;
    }
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s BDF [copies]\n", argv[0]);
        return 2;
    }
    unsigned copies = argc > 2 ? (unsigned)atoi(argv[2]) : 32;
    char allow[64];
    snprintf(allow, sizeof allow, "%s", argv[1]);
    char *eal_argv[] = { argv[0], "--no-huge", "-m", "64", "--iova-mode=va", "--no-shconf",
                         "--log-level=lib.eal:notice", "-a", allow, NULL };
    int eal_argc = (int)(sizeof eal_argv / sizeof eal_argv[0]) - 1;
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (rte_eal_init(eal_argc, eal_argv) < 0) {
        fprintf(stderr, "rte_eal_init failed\n");
        return 2;
    }
    check(rte_eal_iova_mode() == RTE_IOVA_VA, "EAL runs with IOVA as VA (an IOMMU is present)");
    int n = rte_dma_count_avail();
    printf("dmadevs: %d\n", n);
    if (n < 1) {
        fprintf(stderr, "no DMA device probed\n");
        rte_eal_cleanup();
        return 2;
    }
    int16_t dev = rte_dma_next_dev(0);
    struct rte_dma_info info;
    check(rte_dma_info_get(dev, &info) == 0, "rte_dma_info_get");
    printf("device %s: max_vchans %u max_desc %u caps 0x%llx\n", info.dev_name, info.max_vchans, info.max_desc,
           (unsigned long long)info.dev_capa);
    struct rte_dma_conf conf = { .nb_vchans = 1 };
    check(rte_dma_configure(dev, &conf) == 0, "rte_dma_configure");
    struct rte_dma_vchan_conf vconf = { .direction = RTE_DMA_DIR_MEM_TO_MEM, .nb_desc = 64 };
    check(rte_dma_vchan_setup(dev, 0, &vconf) == 0, "rte_dma_vchan_setup");
    check(rte_dma_start(dev) == 0, "rte_dma_start");

    const unsigned len = 2048;
    uint8_t *src = rte_malloc(NULL, len * copies, 64);
    uint8_t *dst = rte_zmalloc(NULL, len * copies, 64);
    for (unsigned i = 0; i < len * copies; i++) {
        src[i] = (uint8_t)(i * 13 + 5);
    }
    unsigned done = 0, submitted = 0;
    uint16_t last = 0;
    bool error = false;
    for (unsigned spins = 0; done < copies && spins < 50000000; spins++) {
        while (submitted < copies && submitted - done < 32) {
            int id = rte_dma_copy(dev, 0, rte_mem_virt2iova(src + submitted * len),
                                  rte_mem_virt2iova(dst + submitted * len), len, RTE_DMA_OP_FLAG_SUBMIT);
            if (id < 0) {
                break;
            }
            submitted++;
        }
        done += rte_dma_completed(dev, 0, 32, &last, &error);
        if (error) {
            break;
        }
    }
    printf("copies: %u submitted, %u completed\n", submitted, done);
    check(!error && done == copies, "every copy completed without error");
    check(!memcmp(src, dst, len * copies), "the data arrived through the simulated IOMMU");
    struct rte_dma_stats st;
    if (rte_dma_stats_get(dev, 0, &st) == 0) {
        printf("stats: submitted %llu completed %llu errors %llu\n", (unsigned long long)st.submitted,
               (unsigned long long)st.completed, (unsigned long long)st.errors);
        check(st.completed == copies && st.errors == 0, "PMD statistics agree");
    }
    rte_dma_stop(dev);
    rte_dma_close(dev);
    rte_free(src);
    rte_free(dst);
    rte_eal_cleanup();
    printf("%s: %d failure(s)\n", failures ? "FAILED" : "PASSED", failures);
    return failures ? 1 : 0;
}
