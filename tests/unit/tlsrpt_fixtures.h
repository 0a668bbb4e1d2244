/*
 * tlsrpt_fixtures.h - the TLS report inputs behind the golden files
 * tests/unit/fixtures/tlsrpt_report/NAME.json and
 * tests/unit/fixtures/tlsrpt_mail/NAME.eml, shared by the unit tests
 * (which compare the builders' output with the golden files) and
 * tests/cli/tlsrpt_tool (which hands the same output to independent
 * checkers: python3-jsonschema, python3's email module, python3-dkim).
 *
 * Everything is static and read-only.
 */
#ifndef MTASTS_TESTS_TLSRPT_FIXTURES_H
#define MTASTS_TESTS_TLSRPT_FIXTURES_H

#include <stdbool.h>
#include <stddef.h>

#include "mtasts/tlsrpt_mail.h"
#include "mtasts/tlsrpt_report.h"

struct tlsrpt_fixture {
    const char *name;  /* the golden file's base name */
    const char *about; /* what it guards */
    struct sts_tlsrpt_report report;
    size_t max_failure_rows; /* 0: the default cap */
    bool mail;               /* there is a golden NAME.eml too */
    /* what the build must say beside the JSON */
    size_t want_rows_out, want_fields_omitted;
    bool want_truncated;
};

extern const struct tlsrpt_fixture tlsrpt_fixtures[];
extern const size_t tlsrpt_nfixtures;

/** The fixture called name, or NULL. */
const struct tlsrpt_fixture *tlsrpt_fixture_find(const char *name);

/* The mail of a fixture's report: fixed sender, destination and Date. */
#define TLSRPT_FIXTURE_FROM "tlsrpt-noreply@mail.sender.example"
#define TLSRPT_FIXTURE_TO "tlsrpt@reports.example.net"
#define TLSRPT_FIXTURE_DATE 1785715200 /* Mon, 03 Aug 2026 00:00:00 +0000 */

/**
 * Fill m for a built report and its gzip bytes (borrowed: b, gz).
 * dest_index 0, default boundary and Message-ID.
 */
void tlsrpt_fixture_mail(const struct sts_tlsrpt_built *b, const char *day, const char *domain,
                         const unsigned char *gz, size_t gzlen, struct sts_tlsrpt_mail *m);

#endif
