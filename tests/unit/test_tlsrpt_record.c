/*
 * test_tlsrpt_record.c - unit tests of the "_smtp._tls" TXT record parser.
 *
 * Guards RFC 8460 §3 (the TXT record: "v=TLSRPTv1" first and
 * case-sensitive, field-delim "*WSP ; *WSP", "rua=" with URIs separated
 * by "*WSP , *WSP", "!", "," and ";" percent-encoded inside a URI,
 * mailto: and https: only, extension fields ignored, exactly one record
 * per RRset), RFC 6068 §2 (mailto: "to" decoding, addresses separated by
 * ",", hfields), RFC 3986 (URI syntax) and the caps of tlsrpt_record.h.
 * Each row names the section it guards.
 *
 * Table-driven: each row is one TAP test point; a failure reads
 * "case NAME (RFC ...): got X, want Y".  Destinations are compared as
 * "scheme target" lines joined by "|", skips as "reason what".
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mtasts/status.h"
#include "mtasts/tlsrpt_record.h"
#include "unit_main.h"

#define STR(s) (s), 0
#define BYTES(s) (s), (sizeof(s) - 1)

#define V "v=TLSRPTv1; "
#define L64 "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijkl"

struct record_case {
    const char *name;
    const char *rfc; /* the section the row guards */
    const char *rec;
    size_t len; /* 0: strlen(rec) */
    enum sts_status want;
    const char *want_rua;  /* when STS_OK: "scheme target|..." */
    const char *want_skip; /* when STS_OK: "reason what|...", "" for none */
    const char *want_err;  /* when not STS_OK: a substring of err, or NULL */
};

static const struct record_case record_cases[] = {
    /* Valid records. */
    {"rfc_example_mailto", "RFC 8460 3.1", STR("v=TLSRPTv1;rua=mailto:reports@example.com"), STS_OK,
     "mailto reports@example.com", "", NULL},
    {"rfc_example_https", "RFC 8460 3.2",
     STR("v=TLSRPTv1; rua=https://reporting.example.com/v1/tlsrpt"), STS_OK,
     "https https://reporting.example.com/v1/tlsrpt", "", NULL},
    {"two_uris", "RFC 8460 3", STR(V "rua=mailto:a@example.com,https://r.example.com/x"), STS_OK,
     "mailto a@example.com|https https://r.example.com/x", "", NULL},
    {"wsp_around_comma", "RFC 8460 3 (*WSP \",\" *WSP)",
     STR(V "rua=mailto:a@example.com \t, \thttps://r.example.com/x"), STS_OK,
     "mailto a@example.com|https https://r.example.com/x", "", NULL},
    {"trailing_delim", "RFC 8460 3 ([field-delim])", STR(V "rua=mailto:a@example.com;"), STS_OK,
     "mailto a@example.com", "", NULL},
    {"wsp_delims", "RFC 8460 3 (field-delim)", STR("v=TLSRPTv1 ; rua=mailto:a@example.com ; "),
     STS_OK, "mailto a@example.com", "", NULL},
    {"htab_delims", "RFC 8460 3 (field-delim)", STR("v=TLSRPTv1\t;\trua=mailto:a@example.com\t;"),
     STS_OK, "mailto a@example.com", "", NULL},
    {"no_space", "RFC 8460 3", STR("v=TLSRPTv1;rua=mailto:a@example.com;"), STS_OK,
     "mailto a@example.com", "", NULL},
    {"extensions_ignored", "RFC 8460 3 (unknown fields SHALL be ignored)",
     STR(V "ext.1_a-b=x:y/z,w; rua=mailto:a@example.com; ruf=mailto:f@example.com"), STS_OK,
     "mailto a@example.com", "", NULL},
    {"upper_RUA_is_extension", "RFC 8460 3 (%s\"rua=\")",
     STR(V "RUA=mailto:x@example.com; rua=mailto:a@example.com"), STS_OK, "mailto a@example.com",
     "", NULL},
    {"two_rua_fields_joined", "RFC 8460 3 (1*(field-delim tlsrpt-field))",
     STR(V "rua=mailto:a@example.com; rua=https://r.example.com/"), STS_OK,
     "mailto a@example.com|https https://r.example.com/", "", NULL},
    {"pct2C_separates_addresses", "RFC 8460 3 + RFC 6068 2 (to = addr-spec *(\",\" addr-spec))",
     STR(V "rua=mailto:a@example.com%2Cb@example.net"), STS_OK,
     "mailto a@example.com|mailto b@example.net", "", NULL},
    {"pct2c_lower_hex", "RFC 3986 2.1 (hex case-insensitive)",
     STR(V "rua=mailto:a@example.com%2cb@example.net"), STS_OK,
     "mailto a@example.com|mailto b@example.net", "", NULL},
    {"mailto_local_decoded", "RFC 6068 2 (percent-decoding)",
     STR(V "rua=mailto:a%2Eb%2Bc@example.com"), STS_OK, "mailto a.b+c@example.com", "", NULL},
    {"mailto_local_encoded_specials", "RFC 6068 2 (\"/\", \"?\", \"%\", \"=\" encoded)",
     STR(V "rua=mailto:a%2Fb%3Fc%25d%3De@example.com"), STS_OK, "mailto a/b?c%d=e@example.com", "",
     NULL},
    {"mailto_upper_scheme", "RFC 3986 3.1 (scheme case-insensitive)",
     STR(V "rua=MAILTO:Tls.Reports@EXAMPLE.COM"), STS_OK, "mailto Tls.Reports@example.com", "",
     NULL},
    {"mailto_hfields_ignored", "RFC 6068 2 (hfields)",
     STR(V "rua=mailto:a@example.com?subject=tlsrpt&body=x"), STS_OK, "mailto a@example.com", "",
     NULL},
    {"mailto_hfield_to_ignored", "RFC 6068 2 (hfields; \"to\" not used)",
     STR(V "rua=mailto:a@example.com?to=b@example.net"), STS_OK, "mailto a@example.com", "", NULL},
    {"mailto_idn_domain", "RFC 6068 2 (UTF-8 domain, percent-encoded)",
     STR(V "rua=mailto:a@b%C3%BCcher.example"), STS_OK, "mailto a@xn--bcher-kva.example", "", NULL},
    {"mailto_quoted_local", "RFC 6068 2 + RFC 5321 4.1.2 (Quoted-string)",
     STR(V "rua=mailto:%22a%20b%22@example.com"), STS_OK, "mailto \"a b\"@example.com", "", NULL},
    {"mailto_quoted_local_comma", "RFC 6068 2 (a comma inside quotes separates nothing)",
     STR(V "rua=mailto:%22a%2Cb%22@example.com"), STS_OK, "mailto \"a,b\"@example.com", "", NULL},
    {"mailto_trailing_dot", "RFC 8460 3 + domain.h (one root dot removed)",
     STR(V "rua=mailto:a@example.com."), STS_OK, "mailto a@example.com", "", NULL},
    {"mailto_local_64", "RFC 5321 4.5.3.1.1 (64-octet local part)",
     STR(V "rua=mailto:" L64 "@example.com"), STS_OK, "mailto " L64 "@example.com", "", NULL},
    {"https_pct_decoded", "RFC 8460 3 (\",\" \";\" \"!\" MUST be encoded)",
     STR(V "rua=https://r.example.com/a%3Bb%2Cc%21d"), STS_OK,
     "https https://r.example.com/a;b,c!d", "", NULL},
    {"https_other_escapes_kept", "RFC 3986 2.1", STR(V "rua=https://r.example.com/a%20b%2F?q=%26"),
     STS_OK, "https https://r.example.com/a%20b%2F?q=%26", "", NULL},
    {"https_case", "RFC 3986 3.1, 3.2.2 (scheme, host case-insensitive)",
     STR(V "rua=HTTPS://R.Example.COM/Path"), STS_OK, "https https://r.example.com/Path", "", NULL},
    {"https_port", "RFC 3986 3.2.3", STR(V "rua=https://r.example.com:8443/x"), STS_OK,
     "https https://r.example.com:8443/x", "", NULL},
    {"https_no_path", "RFC 9110 4.2.2", STR(V "rua=https://r.example.com"), STS_OK,
     "https https://r.example.com", "", NULL},
    {"https_query", "RFC 3986 3.4", STR(V "rua=https://r.example.com/x?a=1&b=2"), STS_OK,
     "https https://r.example.com/x?a=1&b=2", "", NULL},
    {"https_fragment_dropped", "RFC 3986 3.5 (not sent)", STR(V "rua=https://r.example.com/x#frag"),
     STS_OK, "https https://r.example.com/x", "", NULL},

    /* Valid records with skipped destinations. */
    {"unknown_scheme_skipped", "RFC 8460 3 (mailto and https supported; superset accepted)",
     STR(V "rua=ftp://x.example/r,mailto:a@example.com"), STS_OK, "mailto a@example.com",
     "unsupported-scheme ftp://x.example/r", NULL},
    {"http_skipped", "RFC 8460 3 (https only)",
     STR(V "rua=http://r.example.com/,mailto:a@example.com"), STS_OK, "mailto a@example.com",
     "unsupported-scheme http://r.example.com/", NULL},
    {"address_literal_skipped", "tlsrpt_record.h (address literals refused)",
     STR(V "rua=mailto:a@%5B192.0.2.1%5D,mailto:b@example.com"), STS_OK, "mailto b@example.com",
     "address-literal a@[192.0.2.1]", NULL},
    {"numeric_domain_skipped", "tlsrpt_record.h (address literals refused)",
     STR(V "rua=mailto:a@192.0.2.1,mailto:b@example.com"), STS_OK, "mailto b@example.com",
     "address-literal a@192.0.2.1", NULL},
    {"single_label_skipped", "tlsrpt_record.h (single-label domains refused)",
     STR(V "rua=mailto:postmaster@localhost,mailto:b@example.com"), STS_OK, "mailto b@example.com",
     "single-label postmaster@localhost", NULL},
    {"one_of_two_addresses_skipped", "RFC 6068 2 + tlsrpt_record.h",
     STR(V "rua=mailto:a@localhost%2Cb@example.com"), STS_OK, "mailto b@example.com",
     "single-label a@localhost", NULL},
    {"https_ipv4_skipped", "tlsrpt_record.h (a name is needed)",
     STR(V "rua=https://192.0.2.1/x,mailto:b@example.com"), STS_OK, "mailto b@example.com",
     "address-literal https://192.0.2.1/x", NULL},
    {"https_ipv6_skipped", "tlsrpt_record.h (a name is needed)",
     STR(V "rua=https://[2001:db8::1]:443/x,mailto:b@example.com"), STS_OK, "mailto b@example.com",
     "address-literal https://[2001:db8::1]:443/x", NULL},
    {"https_single_label_skipped", "tlsrpt_record.h (single-label hosts refused)",
     STR(V "rua=https://intranet/x,mailto:b@example.com"), STS_OK, "mailto b@example.com",
     "single-label https://intranet/x", NULL},
    {"https_userinfo_skipped", "RFC 9110 4.2.4 (userinfo)",
     STR(V "rua=https://u:p@r.example.com/,mailto:b@example.com"), STS_OK, "mailto b@example.com",
     "userinfo https://u:p@r.example.com/", NULL},
    {"utf8_local_skipped", "RFC 6068 2 + tlsrpt_record.h (no SMTPUTF8)",
     STR(V "rua=mailto:%C3%A9@example.com,mailto:b@example.com"), STS_OK, "mailto b@example.com",
     "utf8-local-part \xc3\xa9@example.com", NULL},
    {"duplicate_skipped", "tlsrpt_record.h (identical destinations kept once)",
     STR(V "rua=mailto:a@example.com,mailto:a@EXAMPLE.com"), STS_OK, "mailto a@example.com",
     "duplicate mailto:a@EXAMPLE.com", NULL},
    {"local_case_not_duplicate", "RFC 5321 2.4 (local part case-sensitive)",
     STR(V "rua=mailto:a@example.com,mailto:A@example.com"), STS_OK,
     "mailto a@example.com|mailto A@example.com", "", NULL},

    /* v=TLSRPTv1 records that do not parse. */
    {"version_only", "RFC 8460 3 (1*(field-delim tlsrpt-field))", STR("v=TLSRPTv1"), STS_EINVAL,
     NULL, NULL, "no field"},
    {"version_semicolon_only", "RFC 8460 3", STR("v=TLSRPTv1;"), STS_EINVAL, NULL, NULL,
     "no field"},
    {"missing_rua", "RFC 8460 3 (rua field is required)", STR(V "foo=bar"), STS_EINVAL, NULL, NULL,
     "missing rua field"},
    {"space_not_delim", "RFC 8460 3 (field-delim)", STR("v=TLSRPTv1 rua=mailto:a@example.com"),
     STS_EINVAL, NULL, NULL, "expected ';' after v=TLSRPTv1"},
    {"trailing_wsp", "RFC 8460 3 (WSP only inside field-delim)", STR(V "rua=mailto:a@example.com "),
     STS_EINVAL, NULL, NULL, "expected ';'"},
    {"empty_field", "RFC 8460 3", STR("v=TLSRPTv1;; rua=mailto:a@example.com"), STS_EINVAL, NULL,
     NULL, "empty field"},
    {"rua_empty", "RFC 8460 3 (tlsrpt-uri required)", STR(V "rua="), STS_EINVAL, NULL, NULL,
     "rua: URI 1 is empty"},
    {"rua_trailing_comma", "RFC 8460 3", STR(V "rua=mailto:a@example.com,"), STS_EINVAL, NULL, NULL,
     "rua: URI 2 is empty"},
    {"rua_double_comma", "RFC 8460 3", STR(V "rua=mailto:a@example.com,,mailto:b@example.com"),
     STS_EINVAL, NULL, NULL, "rua: URI 2 is empty"},
    {"rua_wsp_after_equals", "RFC 8460 3 (%s\"rua=\" tlsrpt-uri)",
     STR(V "rua= mailto:a@example.com"), STS_EINVAL, NULL, NULL, "rua: URI 1 is empty"},
    {"rua_wsp_before_equals", "RFC 8460 3", STR(V "rua =mailto:a@example.com"), STS_EINVAL, NULL,
     NULL, "field \"rua\" has no '='"},
    {"wsp_between_uris", "RFC 8460 3 (\",\" between URIs)",
     STR(V "rua=mailto:a@example.com mailto:b@example.com"), STS_EINVAL, NULL, NULL,
     "expected ',' or ';' after URI 1"},
    {"raw_bang", "RFC 8460 3 (\"!\" MUST be encoded)", STR(V "rua=mailto:a!b@example.com"),
     STS_EINVAL, NULL, NULL, "'!' must be percent-encoded"},
    {"raw_bang_https", "RFC 8460 3 (\"!\" MUST be encoded)", STR(V "rua=https://r.example.com/a!b"),
     STS_EINVAL, NULL, NULL, "'!' must be percent-encoded"},
    {"raw_comma_splits", "RFC 8460 3 (\",\" MUST be encoded)",
     STR(V "rua=mailto:a@example.com,b@example.com"), STS_EINVAL, NULL, NULL,
     "URI 2 \"b@example.com\": no scheme"},
    {"no_scheme", "RFC 3986 3.1", STR(V "rua=reports@example.com"), STS_EINVAL, NULL, NULL,
     "no scheme"},
    {"bad_scheme", "RFC 3986 3.1", STR(V "rua=1mailto:a@example.com"), STS_EINVAL, NULL, NULL,
     "no scheme"},
    {"bad_pct_short", "RFC 3986 2.1", STR(V "rua=mailto:a%2@example.com"), STS_EINVAL, NULL, NULL,
     "bad percent-encoding"},
    {"bad_pct_hex", "RFC 3986 2.1", STR(V "rua=mailto:a%zz@example.com"), STS_EINVAL, NULL, NULL,
     "bad percent-encoding"},
    {"bad_pct_at_end", "RFC 3986 2.1", STR(V "rua=https://r.example.com/%"), STS_EINVAL, NULL, NULL,
     "bad percent-encoding"},
    {"uri_non_ascii", "RFC 3986 2", STR(V "rua=mailto:\xc3\xa9@example.com"), STS_EINVAL, NULL,
     NULL, "invalid byte 0xc3"},
    {"uri_quote", "RFC 3986 2", STR(V "rua=mailto:\"a\"@example.com"), STS_EINVAL, NULL, NULL,
     "invalid character '\"'"},
    {"mailto_raw_brackets", "RFC 6068 2 (\"[\" \"]\" MUST be encoded)",
     STR(V "rua=mailto:a@[192.0.2.1]"), STS_EINVAL, NULL, NULL, "'[' must be percent-encoded"},
    {"mailto_raw_slash", "RFC 6068 2 (\"/\" MUST be encoded)", STR(V "rua=mailto:a/b@example.com"),
     STS_EINVAL, NULL, NULL, "'/' must be percent-encoded"},
    {"mailto_no_at", "RFC 6068 2 (addr-spec)", STR(V "rua=mailto:example.com"), STS_EINVAL, NULL,
     NULL, "no '@' in address"},
    {"mailto_empty_local", "RFC 5322 3.4.1", STR(V "rua=mailto:@example.com"), STS_EINVAL, NULL,
     NULL, "empty local part"},
    {"mailto_double_dot", "RFC 5322 3.2.3 (dot-atom-text)", STR(V "rua=mailto:a..b@example.com"),
     STS_EINVAL, NULL, NULL, "empty label in the local part"},
    {"mailto_trailing_dot_local", "RFC 5322 3.2.3", STR(V "rua=mailto:a.@example.com"), STS_EINVAL,
     NULL, NULL, "empty label in the local part"},
    {"mailto_space_local", "RFC 5322 3.2.3", STR(V "rua=mailto:a%20b@example.com"), STS_EINVAL,
     NULL, NULL, "invalid byte 0x20 in the local part"},
    {"mailto_bad_domain", "RFC 5321 4.1.2 (Domain)", STR(V "rua=mailto:a@exa_mple.com"), STS_EINVAL,
     NULL, NULL, "invalid domain"},
    {"mailto_two_at", "RFC 5321 4.1.2", STR(V "rua=mailto:a@b@example.com"), STS_EINVAL, NULL, NULL,
     "invalid domain"},
    {"mailto_empty_domain", "RFC 5322 3.4.1", STR(V "rua=mailto:a@"), STS_EINVAL, NULL, NULL,
     "empty domain"},
    {"mailto_empty", "RFC 6068 2 (an address is needed)", STR(V "rua=mailto:"), STS_EINVAL, NULL,
     NULL, "no address"},
    {"mailto_only_hfield_to", "RFC 6068 2 (\"to\" hfields not used)",
     STR(V "rua=mailto:?to=a@example.com"), STS_EINVAL, NULL, NULL, "no address before '?'"},
    {"mailto_empty_second", "RFC 6068 2", STR(V "rua=mailto:a@example.com%2C"), STS_EINVAL, NULL,
     NULL, "empty address"},
    {"mailto_local_65", "RFC 5321 4.5.3.1.1", STR(V "rua=mailto:" L64 "m@example.com"), STS_EINVAL,
     NULL, NULL, "local part longer than 64 octets"},
    {"mailto_pct00", "RFC 6068 2 + tlsrpt_record.h (no control bytes)",
     STR(V "rua=mailto:a%00@example.com"), STS_EINVAL, NULL, NULL, "control byte 0x00"},
    {"mailto_local_not_utf8", "RFC 6068 2 (percent-encoded UTF-8)",
     STR(V "rua=mailto:%FF@example.com"), STS_EINVAL, NULL, NULL, "not UTF-8 (byte 0)"},
    {"mailto_domain_not_utf8", "RFC 6068 2 (percent-encoded UTF-8)",
     STR(V "rua=mailto:a@%C0%AFexample.com"), STS_EINVAL, NULL, NULL, "not UTF-8 (byte 2)"},
    {"mailto_crlf", "RFC 6068 2 + tlsrpt_record.h (no control bytes)",
     STR(V "rua=mailto:a%0D%0Abcc@example.com"), STS_EINVAL, NULL, NULL, "control byte 0x0d"},
    {"mailto_unterminated_quote", "RFC 5321 4.1.2", STR(V "rua=mailto:%22ab@example.com"),
     STS_EINVAL, NULL, NULL, "unterminated quoted local part"},
    {"mailto_unterminated_literal", "RFC 5321 4.1.3", STR(V "rua=mailto:a@%5B192.0.2.1"),
     STS_EINVAL, NULL, NULL, "unterminated address literal"},
    {"https_no_slashes", "RFC 9110 4.2.2", STR(V "rua=https:r.example.com/x"), STS_EINVAL, NULL,
     NULL, "without \"//\""},
    {"https_empty_host", "RFC 9110 4.2.2 (empty host invalid)", STR(V "rua=https:///x"), STS_EINVAL,
     NULL, NULL, "empty host"},
    {"https_port_zero", "RFC 3986 3.2.3", STR(V "rua=https://r.example.com:0/"), STS_EINVAL, NULL,
     NULL, "port 0 out of range"},
    {"https_port_big", "RFC 3986 3.2.3", STR(V "rua=https://r.example.com:65536/"), STS_EINVAL,
     NULL, NULL, "port 65536 out of range"},
    {"https_port_alpha", "RFC 3986 3.2.3", STR(V "rua=https://r.example.com:ab/"), STS_EINVAL, NULL,
     NULL, "invalid port"},
    {"https_port_empty", "RFC 3986 3.2.3", STR(V "rua=https://r.example.com:/"), STS_EINVAL, NULL,
     NULL, "invalid port"},
    {"https_bad_host", "RFC 1123 2.1 (host names)", STR(V "rua=https://r_x.example.com/"),
     STS_EINVAL, NULL, NULL, "is not a DNS name"},
    {"https_two_hashes", "RFC 3986 3.5", STR(V "rua=https://r.example.com/x#a#b"), STS_EINVAL, NULL,
     NULL, "more than one '#'"},
    {"https_bracket_in_path", "RFC 3986 3.3", STR(V "rua=https://r.example.com/[x]"), STS_EINVAL,
     NULL, NULL, "'[' outside the host"},
    {"only_unknown_scheme", "RFC 8460 3 (no supported URI)", STR(V "rua=ftp://x.example/"),
     STS_EINVAL, NULL, NULL, "no usable destination (\"ftp://x.example/\": unsupported-scheme)"},
    {"only_single_label", "tlsrpt_record.h", STR(V "rua=mailto:a@localhost"), STS_EINVAL, NULL,
     NULL, "no usable destination (\"a@localhost\": single-label)"},
    {"ext_bad_name", "RFC 8460 3 (tlsrpt-ext-name)", STR(V "rua=mailto:a@example.com; _foo=bar"),
     STS_EINVAL, NULL, NULL, "invalid field name \"_foo\""},
    {"ext_name_33", "RFC 8460 3 (tlsrpt-ext-name, 32 at most)",
     STR(V "rua=mailto:a@example.com; abcdefghijklmnopqrstuvwxyz0123456=x"), STS_EINVAL, NULL, NULL,
     "invalid field name"},
    {"ext_empty_value", "RFC 8460 3 (tlsrpt-ext-value)", STR(V "rua=mailto:a@example.com; foo="),
     STS_EINVAL, NULL, NULL, "field \"foo\" has an empty value"},
    {"ext_value_equals", "RFC 8460 3 (tlsrpt-ext-value)",
     STR(V "rua=mailto:a@example.com; foo=a=b"), STS_EINVAL, NULL, NULL,
     "invalid character in its value"},
    {"ext_value_non_ascii", "RFC 8460 3 (tlsrpt-ext-value)",
     STR(V "rua=mailto:a@example.com; foo=\xc3\xa9"), STS_EINVAL, NULL, NULL,
     "invalid character in its value"},
    {"ext_no_equals", "RFC 8460 3", STR(V "rua=mailto:a@example.com; foo"), STS_EINVAL, NULL, NULL,
     "field \"foo\" has no '='"},
    {"bad_uri_before_good", "RFC 8460 3 (the record is invalid as a whole)",
     STR(V "rua=mailto:a..b@example.com,mailto:b@example.com"), STS_EINVAL, NULL, NULL, "URI 1"},
    {"bad_ext_after_rua", "RFC 8460 3 (the record is invalid as a whole)",
     STR(V "rua=mailto:a@example.com; foo=a b"), STS_EINVAL, NULL, NULL, "expected ';'"},
    {"crlf_at_end", "RFC 8460 3", STR(V "rua=mailto:a@example.com\r\n"), STS_EINVAL, NULL, NULL,
     NULL},
    {"nul_in_uri", "RFC 8460 3", BYTES(V "rua=mailto:a@exa\0mple.com"), STS_EINVAL, NULL, NULL,
     "invalid byte 0x00"},
    {"nul_in_ext", "RFC 8460 3", BYTES(V "rua=mailto:a@example.com; x=a\0"), STS_EINVAL, NULL, NULL,
     NULL},

    /* Not TLSRPT records: discarded. */
    {"spf", "RFC 8460 3 (other records discarded)", STR("v=spf1 -all"), STS_ENOTFOUND, NULL, NULL,
     NULL},
    {"empty_record", "RFC 8460 3", STR(""), STS_ENOTFOUND, NULL, NULL, NULL},
    {"upper_V", "RFC 8460 3 (%s\"v=TLSRPTv1\")", STR("V=TLSRPTv1; rua=mailto:a@example.com"),
     STS_ENOTFOUND, NULL, NULL, NULL},
    {"lower_version", "RFC 8460 3 (%s\"v=TLSRPTv1\")", STR("v=tlsrptv1; rua=mailto:a@example.com"),
     STS_ENOTFOUND, NULL, NULL, NULL},
    {"version_10", "RFC 8460 3", STR("v=TLSRPTv10; rua=mailto:a@example.com"), STS_ENOTFOUND, NULL,
     NULL, NULL},
    {"leading_space", "RFC 8460 3 (v=TLSRPTv1 first)", STR(" v=TLSRPTv1; rua=mailto:a@example.com"),
     STS_ENOTFOUND, NULL, NULL, NULL},
    {"rua_first", "RFC 8460 3 (v=TLSRPTv1 first)", STR("rua=mailto:a@example.com; v=TLSRPTv1"),
     STS_ENOTFOUND, NULL, NULL, NULL},
    {"mta_sts_record", "RFC 8460 3", STR("v=STSv1; id=abc"), STS_ENOTFOUND, NULL, NULL, NULL},
};

/* Render the destinations and skips of a record for comparison. */
static void render(const struct sts_tlsrpt_record *r, char *rua, size_t rualen, char *skip,
                   size_t skiplen)
{
    size_t o = 0;
    rua[0] = skip[0] = '\0';
    for (size_t i = 0; i < r->rua_count && o < rualen; i++)
        o += (size_t)snprintf(rua + o, rualen - o, "%s%s %s", i ? "|" : "",
                              sts_tlsrpt_scheme_name(r->rua[i].scheme), r->rua[i].target);
    o = 0;
    for (size_t i = 0; i < r->skipped_count && o < skiplen; i++)
        o += (size_t)snprintf(skip + o, skiplen - o, "%s%s %s", i ? "|" : "",
                              sts_tlsrpt_skip_name(r->skipped[i].why), r->skipped[i].what);
}

START_TEST(test_parse_record)
{
    const struct record_case *c = &record_cases[_i];
    size_t len = c->len != 0 ? c->len : strlen(c->rec);
    struct sts_tlsrpt_record *r = NULL;
    char err[256] = "";
    enum sts_status st = sts_tlsrpt_record_parse(c->rec, len, &r, err, sizeof(err));

    ck_assert_msg(st == c->want, "case %s (%s): got %s, want %s (err: %s)", c->name, c->rfc,
                  sts_status_word(st), sts_status_word(c->want), err);
    if (st != STS_OK) {
        ck_assert_msg(r == NULL, "case %s (%s): got a record on failure, want NULL", c->name,
                      c->rfc);
        ck_assert_msg(err[0] != '\0', "case %s (%s): got an empty reason, want one", c->name,
                      c->rfc);
        if (c->want_err != NULL)
            ck_assert_msg(strstr(err, c->want_err) != NULL,
                          "case %s (%s): got reason \"%s\", want it to contain \"%s\"", c->name,
                          c->rfc, err, c->want_err);
        return;
    }
    char rua[1024], skip[1024];
    render(r, rua, sizeof(rua), skip, sizeof(skip));
    ck_assert_msg(strcmp(rua, c->want_rua) == 0, "case %s (%s): got rua \"%s\", want \"%s\"",
                  c->name, c->rfc, rua, c->want_rua);
    ck_assert_msg(strcmp(skip, c->want_skip) == 0, "case %s (%s): got skipped \"%s\", want \"%s\"",
                  c->name, c->rfc, skip, c->want_skip);
    ck_assert_msg(r->dropped == 0, "case %s (%s): got dropped %zu, want 0", c->name, c->rfc,
                  r->dropped);
    sts_tlsrpt_record_free(r);
}
END_TEST

/* RFC 8460 §3: the raw URI is kept beside the decoded target, for logs. */
START_TEST(test_raw_uri_kept)
{
    static const char rec[] = V "rua=mailto:a@example.com%2Cb@example.net";
    struct sts_tlsrpt_record *r = NULL;
    char err[256] = "";
    enum sts_status st = sts_tlsrpt_record_parse(rec, strlen(rec), &r, err, sizeof(err));

    ck_assert_msg(st == STS_OK, "case raw_uri: got %s, want ok (err: %s)", sts_status_word(st),
                  err);
    ck_assert_msg(r->rua_count == 2, "case raw_uri: got %zu destinations, want 2", r->rua_count);
    for (size_t i = 0; i < 2; i++)
        ck_assert_msg(strcmp(r->rua[i].uri, "mailto:a@example.com%2Cb@example.net") == 0,
                      "case raw_uri: got uri \"%s\", want the URI as published", r->rua[i].uri);
    sts_tlsrpt_record_free(r);
}
END_TEST

/* tlsrpt_record.h: out == NULL validates only; (pointer, length) honoured. */
START_TEST(test_null_out_and_len)
{
    static const char rec[] = V "rua=mailto:a@example.com; garbage here";
    char err[256] = "";
    size_t len = strlen(V "rua=mailto:a@example.com");
    enum sts_status st = sts_tlsrpt_record_parse(rec, len, NULL, err, sizeof(err));

    ck_assert_msg(st == STS_OK, "case null_out: got %s, want ok (err: %s)", sts_status_word(st),
                  err);
    st = sts_tlsrpt_record_parse(rec, strlen(rec), NULL, err, sizeof(err));
    ck_assert_msg(st == STS_EINVAL, "case whole_len: got %s, want invalid", sts_status_word(st));
    st = sts_tlsrpt_record_parse(NULL, 0, NULL, err, sizeof(err));
    ck_assert_msg(st == STS_ENOTFOUND, "case null_rec: got %s, want not-found",
                  sts_status_word(st));
    sts_tlsrpt_record_free(NULL);
}
END_TEST

/* tlsrpt_record.h caps: STS_TLSRPT_RUA_MAX kept, the rest counted as
 * dropped; STS_TLSRPT_SKIPPED_MAX listed, the rest counted. */
START_TEST(test_rua_cap)
{
    char rec[STS_TLSRPT_RECORD_MAX];
    size_t o = (size_t)snprintf(rec, sizeof(rec), V "rua=");
    for (int i = 0; i < STS_TLSRPT_RUA_MAX + 3; i++)
        o +=
            (size_t)snprintf(rec + o, sizeof(rec) - o, "%smailto:r%d@example.com", i ? "," : "", i);
    for (int i = 0; i < STS_TLSRPT_SKIPPED_MAX + 2; i++)
        o += (size_t)snprintf(rec + o, sizeof(rec) - o, ",ftp://x%d.example/", i);
    struct sts_tlsrpt_record *r = NULL;
    char err[256] = "";
    enum sts_status st = sts_tlsrpt_record_parse(rec, o, &r, err, sizeof(err));

    ck_assert_msg(st == STS_OK, "case rua_cap: got %s, want ok (err: %s)", sts_status_word(st),
                  err);
    ck_assert_msg(r->rua_count == STS_TLSRPT_RUA_MAX, "case rua_cap: got %zu kept, want %d",
                  r->rua_count, STS_TLSRPT_RUA_MAX);
    ck_assert_msg(r->dropped == 3, "case rua_cap: got %zu dropped, want 3", r->dropped);
    ck_assert_msg(strcmp(r->rua[STS_TLSRPT_RUA_MAX - 1].target, "r15@example.com") == 0,
                  "case rua_cap: got last kept \"%s\", want r15@example.com (record order)",
                  r->rua[STS_TLSRPT_RUA_MAX - 1].target);
    ck_assert_msg(r->skipped_count == STS_TLSRPT_SKIPPED_MAX,
                  "case rua_cap: got %zu skipped listed, want %d", r->skipped_count,
                  STS_TLSRPT_SKIPPED_MAX);
    ck_assert_msg(r->skipped_more == 2, "case rua_cap: got %zu more skipped, want 2",
                  r->skipped_more);
    sts_tlsrpt_record_free(r);
}
END_TEST

/* tlsrpt_record.h: a record of STS_TLSRPT_RECORD_MAX bytes parses, one
 * byte more is STS_ETOOBIG. */
START_TEST(test_record_length_cap)
{
    static char rec[STS_TLSRPT_RECORD_MAX + 2];
    size_t o = (size_t)snprintf(rec, sizeof(rec), V "rua=mailto:a@example.com; x=");
    memset(rec + o, 'y', STS_TLSRPT_RECORD_MAX - o);
    char err[256] = "";
    enum sts_status st =
        sts_tlsrpt_record_parse(rec, STS_TLSRPT_RECORD_MAX, NULL, err, sizeof(err));

    ck_assert_msg(st == STS_OK, "case at_cap: got %s, want ok (err: %s)", sts_status_word(st), err);
    rec[STS_TLSRPT_RECORD_MAX] = 'y';
    st = sts_tlsrpt_record_parse(rec, STS_TLSRPT_RECORD_MAX + 1, NULL, err, sizeof(err));
    ck_assert_msg(st == STS_ETOOBIG, "case over_cap: got %s, want too-big", sts_status_word(st));
}
END_TEST

/* sts_tlsrpt_rua_format() gives a URI a record can carry, which parses
 * back to the same destination (RFC 8460 §3 encodings, RFC 6068 §2). */
static const char *const format_cases[][2] = {
    {"rua=mailto:a@example.com", "mailto:a@example.com"},
    {"rua=mailto:%22a%20b%2Cc%22@example.com", "mailto:%22a%20b%2Cc%22@example.com"},
    {"rua=mailto:a%2Fb%3Fc%25d%3De%21f@example.com", "mailto:a%2Fb%3Fc%25d%3De%21f@example.com"},
    {"rua=mailto:a@b%C3%BCcher.example", "mailto:a@xn--bcher-kva.example"},
    {"rua=https://r.example.com/a%3Bb%2Cc%21d%20e", "https://r.example.com/a%3Bb%2Cc%21d%20e"},
    {"rua=HTTPS://R.EXAMPLE.COM:8443/x?y=1#f", "https://r.example.com:8443/x?y=1"},
};

START_TEST(test_format_round_trip)
{
    char rec[512], uri[512], err[256] = "";
    struct sts_tlsrpt_record *r = NULL, *again = NULL;
    snprintf(rec, sizeof(rec), V "%s", format_cases[_i][0]);
    enum sts_status st = sts_tlsrpt_record_parse(rec, strlen(rec), &r, err, sizeof(err));
    ck_assert_msg(st == STS_OK, "case format %d: got %s, want ok (err: %s)", _i,
                  sts_status_word(st), err);
    size_t n = sts_tlsrpt_rua_format(&r->rua[0], uri, sizeof(uri));
    ck_assert_msg(strcmp(uri, format_cases[_i][1]) == 0 && n == strlen(uri),
                  "case format %d: got \"%s\" (%zu), want \"%s\"", _i, uri, n, format_cases[_i][1]);
    snprintf(rec, sizeof(rec), V "rua=%s", uri);
    st = sts_tlsrpt_record_parse(rec, strlen(rec), &again, err, sizeof(err));
    ck_assert_msg(st == STS_OK, "case format %d: reparse got %s, want ok (err: %s)", _i,
                  sts_status_word(st), err);
    ck_assert_msg(strcmp(again->rua[0].target, r->rua[0].target) == 0,
                  "case format %d: reparsed target \"%s\", want \"%s\"", _i, again->rua[0].target,
                  r->rua[0].target);
    /* snprintf-like: a short buffer gets a NUL-terminated prefix, the full length returned. */
    char small[8];
    ck_assert_msg(sts_tlsrpt_rua_format(&r->rua[0], small, sizeof(small)) == n &&
                      strlen(small) == sizeof(small) - 1,
                  "case format %d: short buffer got \"%s\", want %zu bytes and length %zu", _i,
                  small, sizeof(small) - 1, n);
    sts_tlsrpt_record_free(r);
    sts_tlsrpt_record_free(again);
}
END_TEST

#define RRSET_MAX 4

struct rrset_case {
    const char *name;
    const char *rfc;
    size_t n;
    const char *recs[RRSET_MAX];
    enum sts_status want;
    const char *want_target; /* first destination when STS_OK; else a substring of err */
};

static const struct rrset_case rrset_cases[] = {
    {"empty_rrset", "RFC 8460 3", 0, {NULL}, STS_ENOTFOUND, "no v=TLSRPTv1 record"},
    {"one_valid", "RFC 8460 3", 1, {V "rua=mailto:a@example.com"}, STS_OK, "a@example.com"},
    {"with_spf_and_sts",
     "RFC 8460 3 (other records discarded)",
     3,
     {"v=spf1 -all", V "rua=mailto:a@example.com", "v=STSv1; id=1"},
     STS_OK,
     "a@example.com"},
    {"look_alikes_discarded",
     "RFC 8460 3",
     4,
     {"v=TLSRPTv10; rua=mailto:x@example.com", "V=TLSRPTv1; rua=mailto:y@example.com",
      " v=TLSRPTv1; rua=mailto:z@example.com", V "rua=mailto:a@example.com"},
     STS_OK,
     "a@example.com"},
    {"null_discarded",
     "RFC 8460 3",
     2,
     {NULL, V "rua=mailto:a@example.com"},
     STS_OK,
     "a@example.com"},
    {"two_identical",
     "RFC 8460 3 (number of records not one)",
     2,
     {V "rua=mailto:a@example.com", V "rua=mailto:a@example.com"},
     STS_EINVAL,
     "2 v=TLSRPTv1 records (exactly one allowed)"},
    {"valid_and_invalid",
     "RFC 8460 3 (number of records not one)",
     2,
     {V "rua=mailto:a@example.com", "v=TLSRPTv1"},
     STS_EINVAL,
     "2 v=TLSRPTv1 records"},
    {"three",
     "RFC 8460 3",
     3,
     {"v=TLSRPTv1;x=1", "v=TLSRPTv1;y=2", "v=TLSRPTv1;z=3"},
     STS_EINVAL,
     "3 v=TLSRPTv1 records"},
    {"one_invalid",
     "RFC 8460 3 (syntactically invalid)",
     2,
     {"v=spf1 -all", V "rua=mailto:a@localhost"},
     STS_EINVAL,
     "no usable destination"},
    {"no_candidate",
     "RFC 8460 3",
     2,
     {"v=spf1 -all", "v=STSv1; id=1"},
     STS_ENOTFOUND,
     "no v=TLSRPTv1 record"},
};

START_TEST(test_parse_rrset)
{
    const struct rrset_case *c = &rrset_cases[_i];
    size_t lens[RRSET_MAX];
    struct sts_tlsrpt_record *r = NULL;
    char err[256] = "";

    for (size_t k = 0; k < c->n; k++)
        lens[k] = c->recs[k] != NULL ? strlen(c->recs[k]) : 0;
    enum sts_status st = sts_tlsrpt_record_parse_rrset(c->recs, lens, c->n, &r, err, sizeof(err));
    ck_assert_msg(st == c->want, "case %s (%s): got %s, want %s (err: %s)", c->name, c->rfc,
                  sts_status_word(st), sts_status_word(c->want), err);
    if (st == STS_OK) {
        ck_assert_msg(strcmp(r->rua[0].target, c->want_target) == 0,
                      "case %s (%s): got \"%s\", want \"%s\"", c->name, c->rfc, r->rua[0].target,
                      c->want_target);
        sts_tlsrpt_record_free(r);
    } else {
        ck_assert_msg(r == NULL, "case %s (%s): got a record on failure, want NULL", c->name,
                      c->rfc);
        ck_assert_msg(strstr(err, c->want_target) != NULL,
                      "case %s (%s): got reason \"%s\", want it to contain \"%s\"", c->name, c->rfc,
                      err, c->want_target);
    }
}
END_TEST

/* The reason words are stable (they go to logs and --json). */
START_TEST(test_names)
{
    ck_assert_str_eq(sts_tlsrpt_scheme_name(STS_TLSRPT_SCHEME_MAILTO), "mailto");
    ck_assert_str_eq(sts_tlsrpt_scheme_name(STS_TLSRPT_SCHEME_HTTPS), "https");
    ck_assert_str_eq(sts_tlsrpt_skip_name(STS_TLSRPT_SKIP_SCHEME), "unsupported-scheme");
    ck_assert_str_eq(sts_tlsrpt_skip_name(STS_TLSRPT_SKIP_DUPLICATE), "duplicate");
    ck_assert_str_eq(sts_tlsrpt_skip_name((enum sts_tlsrpt_skip)99), "unknown");
}
END_TEST

#define NCASES(a) ((int)(sizeof(a) / sizeof((a)[0])))

static Suite *tlsrpt_record_suite(void)
{
    Suite *s = suite_create("tlsrpt_record");
    TCase *tc = tcase_create("tlsrpt_record");

    tcase_add_loop_test(tc, test_parse_record, 0, NCASES(record_cases));
    tcase_add_test(tc, test_raw_uri_kept);
    tcase_add_test(tc, test_null_out_and_len);
    tcase_add_test(tc, test_rua_cap);
    tcase_add_test(tc, test_record_length_cap);
    tcase_add_loop_test(tc, test_format_round_trip, 0, NCASES(format_cases));
    tcase_add_loop_test(tc, test_parse_rrset, 0, NCASES(rrset_cases));
    tcase_add_test(tc, test_names);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return unit_main(tlsrpt_record_suite());
}
