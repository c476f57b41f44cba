/* hex.h: one hexadecimal digit's value, for the parsers that read \u escapes and hex ids. */
#ifndef MCPGW_COMMON_HEX_H
#define MCPGW_COMMON_HEX_H

/* The value of c as a hex digit (either case), or -1. */
static inline int gw_hex_value(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

#endif
