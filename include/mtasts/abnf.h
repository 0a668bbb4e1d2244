/*
 * abnf.h - the RFC 5234 core rules the pure parsers share (the _mta-sts
 * and _smtp._tls records, the policy body, the audit header, the route
 * macros): WSP, ALPHA / DIGIT, and the extension-value range both TXT
 * record grammars use.  Header-only; no I/O.
 */
#ifndef MTASTS_ABNF_H
#define MTASTS_ABNF_H

#include <stdbool.h>

/** WSP: space or horizontal tab. */
static inline bool sts_abnf_wsp(char c)
{
    return c == ' ' || c == '\t';
}

/** ALPHA / DIGIT (ASCII only). */
static inline bool sts_abnf_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/**
 * sts-ext-value / tlsrpt-ext-value (RFC 8461 §3.1, RFC 8460 §3):
 * %x21-3A / %x3C / %x3E-7E, visible ASCII but ';' and '='.
 */
static inline bool sts_abnf_ext_value_char(char c)
{
    unsigned char u = (unsigned char)c;
    return u >= 0x21 && u <= 0x7e && c != ';' && c != '=';
}

#endif
