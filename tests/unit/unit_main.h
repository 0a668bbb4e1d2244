/*
 * unit_main.h - the one shared piece of the unit test programs: run a
 * Check suite and report it as TAP on standard output.
 *
 * Each tests/unit/test_<module>.c builds its Suite and its main() is the
 * single line "return unit_main(<module>_suite());".  Check writes the TAP
 * stream (one "ok N - ..." / "not ok N - ..." line per test point, the
 * "1..N" plan last) to stdout because the TAP file name is "-" (Check
 * 0.15, src/check_log.c: STDOUT_OVERRIDE_LOG_FILE_NAME); CK_SILENT keeps
 * the human-readable summary out of that stream.  The exit status is
 * EXIT_SUCCESS only when no test point failed or errored.
 */
#ifndef MTASTS_TESTS_UNIT_MAIN_H
#define MTASTS_TESTS_UNIT_MAIN_H

#include <check.h>
#include <stdlib.h>

/**
 * Run every test of a suite, TAP on stdout.
 * @param s the suite; the runner takes ownership and frees it
 * @return EXIT_SUCCESS if no test failed, else EXIT_FAILURE
 */
static inline int unit_main(Suite *s)
{
    SRunner *sr = srunner_create(s);
    int failed;

    srunner_set_tap(sr, "-");
    srunner_run_all(sr, CK_SILENT);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

#endif
