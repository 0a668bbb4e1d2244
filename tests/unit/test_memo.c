/*
 * test_memo.c - the single-flight memo (milter/util/memo.c): a fresh value
 * is answered without resolving; lookups that miss at once share one
 * resolve; a failure (NULL) and a ttl-0 value reach the waiters but are
 * never kept; values expire on the injected clock; a value handed out
 * stays valid after forget and after the memo is freed.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mtasts/memo.h"
#include "unit_main.h"

struct val {
    struct sts_memo_ref ref;
    int n;
};

static atomic_int freed;
static void val_free(struct sts_memo_ref *r)
{
    atomic_fetch_add(&freed, 1);
    free(r);
}

struct resolver {
    atomic_int calls;
    int next;          /* the value's n */
    uint32_t ttl;      /* what it says */
    bool fail;         /* return NULL */
    unsigned delay_ms; /* sleep first (single flight) */
};

static struct sts_memo_ref *resolve(void *arg, const char *key, unsigned tag, unsigned budget_ms,
                                    uint32_t *ttl_s)
{
    (void)key, (void)tag, (void)budget_ms;
    struct resolver *r = arg;
    atomic_fetch_add(&r->calls, 1);
    if (r->delay_ms > 0) { /* hold the flight open so the others find it */
        struct timespec ts = {0, (long)r->delay_ms * 1000000L};
        nanosleep(&ts, NULL);
    }
    *ttl_s = r->ttl;
    if (r->fail)
        return NULL;
    struct val *v = calloc(1, sizeof(*v));
    atomic_init(&v->ref.refs, 1);
    v->ref.free = val_free;
    v->n = r->next;
    return &v->ref;
}

static int64_t fake_ms;
static int64_t fake_clock(void *arg)
{
    (void)arg;
    return fake_ms;
}

static struct sts_memo *new_memo(void)
{
    struct sts_memo *m = NULL;
    char err[128];
    struct sts_memo_config cfg = {.max_entries = 64, .clock = {fake_clock, NULL}};
    ck_assert_int_eq(sts_memo_new(&cfg, &m, err, sizeof(err)), STS_OK);
    return m;
}

static int get_n(struct sts_memo *m, struct resolver *r, const char *key, bool *cached)
{
    struct sts_memo_ref *v = sts_memo_get(m, key, 0, 1000, resolve, r, cached);
    int n = v != NULL ? ((struct val *)v)->n : -1;
    sts_memo_put(v);
    return n;
}

START_TEST(test_hit_and_expiry)
{
    struct sts_memo *m = new_memo();
    struct resolver r = {.next = 7, .ttl = 10};
    bool cached;
    fake_ms = 1000;
    ck_assert_int_eq(get_n(m, &r, "a.example", &cached), 7);
    ck_assert_msg(!cached && r.calls == 1, "first get: got cached=%d calls=%d, want 0/1", cached,
                  r.calls);
    r.next = 8;
    ck_assert_int_eq(get_n(m, &r, "a.example", &cached), 7);
    ck_assert_msg(cached && r.calls == 1, "second get: want a hit without resolving");
    fake_ms += 9999;
    ck_assert_int_eq(get_n(m, &r, "a.example", &cached), 7); /* still fresh */
    fake_ms += 1;
    ck_assert_int_eq(get_n(m, &r, "a.example", &cached), 8); /* expired: resolved again */
    ck_assert_int_eq(r.calls, 2);
    ck_assert(sts_memo_peek(m, "b.example", 0) == NULL);
    struct sts_memo_ref *p = sts_memo_peek(m, "a.example", 0);
    ck_assert(p != NULL && ((struct val *)p)->n == 8);
    sts_memo_put(p);
    sts_memo_free(m);
}
END_TEST

START_TEST(test_failure_and_ttl0_not_kept)
{
    struct sts_memo *m = new_memo();
    struct resolver r = {.fail = true, .ttl = 60};
    ck_assert_int_eq(get_n(m, &r, "f.example", NULL), -1);
    ck_assert_int_eq(get_n(m, &r, "f.example", NULL), -1);
    ck_assert_msg(r.calls == 2, "a failure is never memoised: got %d resolves, want 2", r.calls);
    struct resolver z = {.next = 3, .ttl = 0};
    ck_assert_int_eq(get_n(m, &z, "z.example", NULL), 3);
    ck_assert_int_eq(get_n(m, &z, "z.example", NULL), 3);
    ck_assert_msg(z.calls == 2, "a ttl-0 answer is not kept: got %d resolves, want 2", z.calls);
    sts_memo_free(m);
}
END_TEST

struct racer {
    struct sts_memo *m;
    struct resolver *r;
    int got;
};

static void *race(void *arg)
{
    struct racer *x = arg;
    x->got = get_n(x->m, x->r, "shared.example", NULL);
    return NULL;
}

START_TEST(test_single_flight)
{
    struct sts_memo *m = new_memo();
    struct resolver r = {.next = 42, .ttl = 60, .delay_ms = 200};
    enum { N = 16 };
    pthread_t t[N];
    struct racer x[N];
    for (int i = 0; i < N; i++) {
        x[i] = (struct racer){m, &r, 0};
        ck_assert_int_eq(pthread_create(&t[i], NULL, race, &x[i]), 0);
    }
    for (int i = 0; i < N; i++) {
        pthread_join(t[i], NULL);
        ck_assert_msg(x[i].got == 42, "racer %d: got %d, want 42", i, x[i].got);
    }
    ck_assert_msg(r.calls == 1, "%d concurrent misses: got %d resolves, want 1", N, r.calls);
    struct sts_memo_stats st;
    sts_memo_stats(m, &st);
    ck_assert_uint_eq(st.resolves, 1);
    sts_memo_free(m);
}
END_TEST

START_TEST(test_references_outlive)
{
    atomic_store(&freed, 0);
    struct sts_memo *m = new_memo();
    struct resolver r = {.next = 5, .ttl = 60};
    struct sts_memo_ref *v = sts_memo_get(m, "k.example", 0, 1000, resolve, &r, NULL);
    sts_memo_forget(m, "k.example", 0);
    ck_assert_int_eq(((struct val *)v)->n, 5); /* still ours */
    ck_assert_int_eq(atomic_load(&freed), 0);
    struct sts_memo_ref *w = sts_memo_get(m, "k.example", 0, 1000, resolve, &r, NULL);
    ck_assert_int_eq(r.calls, 2); /* forgotten: resolved again */
    sts_memo_free(m);
    ck_assert_int_eq(((struct val *)w)->n, 5);
    sts_memo_put(v);
    sts_memo_put(w);
    ck_assert_msg(atomic_load(&freed) == 2, "got %d values freed, want 2", atomic_load(&freed));
}
END_TEST

static Suite *memo_suite(void)
{
    Suite *s = suite_create("memo");
    TCase *tc = tcase_create("memo");
    tcase_add_test(tc, test_hit_and_expiry);
    tcase_add_test(tc, test_failure_and_ttl0_not_kept);
    tcase_add_test(tc, test_single_flight);
    tcase_add_test(tc, test_references_outlive);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return unit_main(memo_suite());
}
