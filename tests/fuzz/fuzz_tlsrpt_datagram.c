/*
 * fuzz_tlsrpt_datagram.c - libFuzzer harness for the Postfix/libtlsrpt
 * datagram parser (tlsrpt_datagram.h).  The input is one datagram.
 * Beyond "no crash, no leak, no hang" it checks the header's promises:
 * status and reason agree, a refusal leaves no datagram and a message,
 * and an accepted datagram has its required fields, known policy types,
 * counts within the caps and a result type for every failure code.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "mtasts/tlsrpt_datagram.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_policy(const struct sts_tlsrpt_dg_policy *p)
{
    if (p->type != STS_TLSRPT_DG_POLICY_TLSA && p->type != STS_TLSRPT_DG_POLICY_STS &&
        p->type != STS_TLSRPT_DG_POLICY_NONE)
        __builtin_trap();
    if (p->string_count > STS_TLSRPT_DG_STRINGS_MAX ||
        p->mx_host_count > STS_TLSRPT_DG_STRINGS_MAX ||
        p->failure_count > STS_TLSRPT_DG_DETAILS_MAX)
        __builtin_trap();
    for (size_t i = 0; i < p->string_count; i++)
        if (p->strings[i] == NULL || strlen(p->strings[i]) > STS_TLSRPT_DG_STRING_MAX)
            __builtin_trap();
    for (size_t i = 0; i < p->mx_host_count; i++)
        if (p->mx_hosts[i] == NULL || p->mx_hosts[i][0] == '\0')
            __builtin_trap();
    for (size_t i = 0; i < p->failure_count; i++) {
        const struct sts_tlsrpt_dg_failure *f = &p->failures[i];
        const char *word = sts_tlsrpt_dg_result_type(f->code);
        if (word == NULL || f->result_type != word)
            __builtin_trap();
        if (f->mx_helo != NULL && strlen(f->mx_helo) > STS_TLSRPT_DG_TEXT_MAX)
            __builtin_trap();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sts_tlsrpt_datagram *dg = NULL;
    enum sts_tlsrpt_dg_reason reason = STS_TLSRPT_DG_OK;
    char err[256] = "";
    enum sts_status st = sts_tlsrpt_datagram_parse(data, size, &dg, &reason, err, sizeof(err));
    if (st != STS_OK) {
        if (dg != NULL || reason == STS_TLSRPT_DG_OK || err[0] == '\0' ||
            strcmp(sts_tlsrpt_dg_reason_name(reason), "unknown") == 0)
            __builtin_trap();
        return 0;
    }
    if (dg == NULL || reason != STS_TLSRPT_DG_OK || dg->domain == NULL || dg->record == NULL ||
        dg->policy_count == 0 || dg->policy_count > STS_TLSRPT_DG_POLICIES_MAX ||
        (dg->warnings & ~STS_TLSRPT_DG_WARN_NO_DPV) != 0)
        __builtin_trap();
    for (size_t i = 0; i < dg->policy_count; i++)
        check_policy(&dg->policies[i]);
    sts_tlsrpt_datagram_free(dg);
    return 0;
}
