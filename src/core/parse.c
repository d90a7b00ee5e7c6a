/* Number parsing; see parse.h. */
#include <errno.h>
#include "core/parse.h"

gboolean emu_parse_u64(const char *s, unsigned flags, uint64_t *out)
{
    if (!s) {
        return FALSE;
    }
    if (flags & EMU_PARSE_BLANKS) {
        while (g_ascii_isspace(*s)) {
            s++;
        }
    }
    /* strtoull would skip blanks and accept a sign by itself: refuse both here */
    if (!*s || *s == '-' || *s == '+' || g_ascii_isspace(*s)) {
        return FALSE;
    }
    char *end;
    guint64 v;
    errno = 0;
    if ((flags & EMU_PARSE_BINARY) && s[0] == '0' && (s[1] == 'b' || s[1] == 'B')) {
        v = g_ascii_strtoull(s + 2, &end, 2);
        if (end == s + 2) {
            return FALSE;
        }
    } else {
        v = g_ascii_strtoull(s, &end, 0);
        if (end == s) {
            return FALSE;
        }
    }
    if (errno) {
        return FALSE;
    }
    unsigned shift = 0;
    if (flags & EMU_PARSE_SUFFIX) {
        switch (*end) {
        case 'K': shift = 10; break;
        case 'M': shift = 20; break;
        case 'G': shift = 30; break;
        case 'T': shift = 40; break;
        default: break;
        }
        if (shift) {
            end++;
            if (end[0] == 'i' && end[1] == 'B') {
                end += 2;
            } else if (end[0] == 'B') {
                end++;
            }
        }
    }
    if (flags & EMU_PARSE_BLANKS) {
        while (g_ascii_isspace(*end)) {
            end++;
        }
    }
    if (*end || (shift && v > (UINT64_MAX >> shift))) {
        return FALSE;
    }
    *out = v << shift;
    return TRUE;
}
