/*
 * Fuzz targets (issue 10): each target file defines
 *   int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
 * Built with --enable-fuzzing they link libFuzzer; otherwise fuzz_main.c
 * turns them into regression programs that run every file of the corpus
 * directories given on the command line (that is what `make check` runs).
 * A target must never crash, hang or leak on any input: every input is
 * something a trace, a guest or a program could produce.
 */
#ifndef VTDSIM_TESTS_FUZZ_H
#define VTDSIM_TESTS_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
