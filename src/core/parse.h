/*
 * Number parsing shared by every text input (platform files, traces, the
 * qtest protocol), so that "0x1000", "4096" and "4K" mean the same
 * everywhere they are accepted.
 */
#ifndef VTDSIM_CORE_PARSE_H
#define VTDSIM_CORE_PARSE_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

enum {
    EMU_PARSE_PLAIN = 0,        /* C syntax only: 0x.., 0.. (octal), decimal */
    EMU_PARSE_BINARY = 1 << 0,  /* also 0b101 */
    EMU_PARSE_SUFFIX = 1 << 1,  /* also K/M/G/T (powers of two), optionally followed by iB or B */
    EMU_PARSE_BLANKS = 1 << 2,  /* surrounding blanks allowed */
};

/**
 * emu_parse_u64:
 * Parses all of @s as an unsigned 64-bit number with the syntax @flags
 * allow.  Signs, trailing junk and overflow (also through a suffix) are
 * rejected.  Returns FALSE (leaving *@out untouched) on any of them.
 */
gboolean emu_parse_u64(const char *s, unsigned flags, uint64_t *out);

#endif
