/* Fuzz target: TLP header decoding (and re-encoding what decoded). */
#include <string.h>
#include <glib.h>
#include "fuzz.h"
#include "pcie/tlp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint32_t dw[5] = { 0 };
    unsigned n = (unsigned)MIN(size / 4, 5u);
    memcpy(dw, data, n * 4);
    PcieTlp t;
    GError *err = NULL;
    if (pcie_tlp_decode(dw, n, &t, &err)) {
        uint32_t out[5];
        pcie_tlp_encode(&t, out);
        GString *s = g_string_new(NULL);
        pcie_tlp_format(&t, s);
        g_string_free(s, TRUE);
    } else {
        g_error_free(err);
    }
    return 0;
}
