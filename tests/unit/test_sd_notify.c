/*
 * test_sd_notify.c - unit tests of the service-manager notifications
 * (sd_notify.h) and of the log file's reopen on SIGHUP (log.h).
 *
 * Guards issue 16 item 2: Type=notify without libsystemd.  The messages
 * reach a real AF_UNIX datagram socket named by $NOTIFY_SOCKET, as a
 * path and as an abstract name ("@..."), with the assignments systemd
 * reads (sd_notify(3): READY=1, RELOADING=1 plus MONOTONIC_USEC,
 * STOPPING=1, STATUS=); no $NOTIFY_SOCKET is a silent no-op; an address
 * we cannot use is an error, never a crash.  And that the log file is
 * reopened by path after a rotation (logrotate's create mode).
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include "mtasts/clock.h"
#include "mtasts/log.h"
#include "mtasts/sd_notify.h"
#include "unit_main.h"

static char dir[40];

static void make_dir(void)
{
    snprintf(dir, sizeof(dir), "/tmp/test_sd_notify.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void remove_dir(void)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    ck_assert_int_eq(system(cmd), 0);
}

/* A listening datagram socket at spec ("/path" or "@name"), as systemd's. */
static int listener(const char *spec)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    size_t len = strlen(spec);
    memcpy(sa.sun_path, spec, len);
    socklen_t salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
    if (spec[0] == '@')
        sa.sun_path[0] = '\0';
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(fd, 0);
    ck_assert_msg(bind(fd, (struct sockaddr *)&sa, salen) == 0, "bind %s: %s", spec,
                  strerror(errno));
    struct timeval tv = {.tv_sec = 2};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    return fd;
}

static void receive(int fd, char *buf, size_t len)
{
    ssize_t n = recv(fd, buf, len - 1, 0);
    ck_assert_msg(n > 0, "recv: %s", n < 0 ? strerror(errno) : "empty");
    buf[n] = '\0';
}

START_TEST(no_socket_is_a_no_op)
{
    unsetenv("NOTIFY_SOCKET");
    ck_assert_int_eq(sts_sd_notify_ready("up"), 0);
    setenv("NOTIFY_SOCKET", "", 1);
    ck_assert_int_eq(sts_sd_notify_send("READY=1"), 0);
}
END_TEST

START_TEST(unusable_addresses_fail_cleanly)
{
    static const char *const bad[] = {
        "relative/path", "@", "/", "vsock:2:1234",
        ("/a/path/much/longer/than/the/one/hundred/and/eight/bytes/of/"
         "sun_path/in/struct/sockaddr_un/on/linux/xxxxxxxxxxxxxxxxx")};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        setenv("NOTIFY_SOCKET", bad[i], 1);
        errno = 0;
        ck_assert_msg(sts_sd_notify_send("READY=1") == -1 && errno == EINVAL,
                      "%s: got errno %d, want EINVAL", bad[i], errno);
    }
    make_dir();
    char path[128];
    snprintf(path, sizeof(path), "%s/nobody-listens", dir);
    setenv("NOTIFY_SOCKET", path, 1);
    ck_assert_int_eq(sts_sd_notify_ready(NULL), -1); /* ENOENT: no socket there */
    remove_dir();
    unsetenv("NOTIFY_SOCKET");
}
END_TEST

START_TEST(path_socket_gets_each_state)
{
    make_dir();
    char path[128], buf[STS_SD_NOTIFY_MAX + 64];
    snprintf(path, sizeof(path), "%s/notify", dir);
    int fd = listener(path);
    setenv("NOTIFY_SOCKET", path, 1);

    ck_assert_int_eq(sts_sd_notify_ready("accepting on unix:/run/x.sock"), 1);
    receive(fd, buf, sizeof(buf));
    ck_assert_str_eq(buf, "READY=1\nSTATUS=accepting on unix:/run/x.sock");

    int64_t before = sts_clock_mono_us();
    ck_assert_int_eq(sts_sd_notify_reloading(), 1);
    receive(fd, buf, sizeof(buf));
    long long usec = -1;
    ck_assert_msg(sscanf(buf, "RELOADING=1\nMONOTONIC_USEC=%lld", &usec) == 1, "got \"%s\"", buf);
    ck_assert_msg(usec >= before && usec <= sts_clock_mono_us(), "MONOTONIC_USEC %lld not now",
                  usec);

    ck_assert_int_eq(sts_sd_notify_stopping(NULL), 1);
    receive(fd, buf, sizeof(buf));
    ck_assert_str_eq(buf, "STOPPING=1");

    ck_assert_int_eq(sts_sd_notify_status("reload %s\nREADY=1", "failed"), 1);
    receive(fd, buf, sizeof(buf));
    ck_assert_msg(strcmp(buf, "STATUS=reload failed READY=1") == 0,
                  "a newline in a status must not start an assignment: got \"%s\"", buf);

    char longer[2 * STS_SD_NOTIFY_MAX];
    memset(longer, 'x', sizeof(longer) - 1);
    longer[sizeof(longer) - 1] = '\0';
    ck_assert_int_eq(sts_sd_notify_status("%s", longer), 1);
    receive(fd, buf, sizeof(buf));
    ck_assert_uint_eq(strlen(buf), STS_SD_NOTIFY_MAX - 1);
    close(fd);
    remove_dir();
    unsetenv("NOTIFY_SOCKET");
}
END_TEST

START_TEST(abstract_socket)
{
    char name[64], buf[256];
    snprintf(name, sizeof(name), "@mtasts-test-notify-%ld", (long)getpid());
    int fd = listener(name);
    setenv("NOTIFY_SOCKET", name, 1);
    ck_assert_int_eq(sts_sd_notify_ready(NULL), 1);
    receive(fd, buf, sizeof(buf));
    ck_assert_str_eq(buf, "READY=1");
    close(fd);
    unsetenv("NOTIFY_SOCKET");
}
END_TEST

static void slurp(const char *path, char *buf, size_t len)
{
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
    size_t n = fread(buf, 1, len - 1, f);
    buf[n] = '\0';
    fclose(f);
}

START_TEST(log_file_reopens_after_rotation)
{
    make_dir();
    char path[128], old[160], buf[4096], err[256];
    snprintf(path, sizeof(path), "%s/milter.log", dir);
    snprintf(old, sizeof(old), "%s.1", path);
    ck_assert_int_eq(sts_log_open("test", path, LOG_MAIL, LOG_INFO, err, sizeof(err)), STS_OK);
    sts_log(LOG_INFO, "line=before");
    ck_assert_int_eq(rename(path, old), 0); /* logrotate moves it away */
    sts_log(LOG_INFO, "line=between");
    ck_assert_int_eq(sts_log_reopen(err, sizeof(err)), STS_OK);
    sts_log(LOG_INFO, "line=after");

    slurp(old, buf, sizeof(buf));
    ck_assert_msg(strstr(buf, "line=before") && strstr(buf, "line=between") &&
                      !strstr(buf, "line=after"),
                  "rotated file: \"%s\"", buf);
    slurp(path, buf, sizeof(buf));
    ck_assert_msg(strstr(buf, "line=after") && !strstr(buf, "line=before"), "new file: \"%s\"",
                  buf);
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_msg((st.st_mode & 0777 & ~0640u) == 0, "new file mode %o, want at most 0640",
                  (unsigned)(st.st_mode & 0777));

    /* a directory that vanished: the old file stays in use */
    ck_assert_int_eq(rename(path, old), 0);
    char moved[64];
    snprintf(moved, sizeof(moved), "%s.gone", dir);
    ck_assert_int_eq(rename(dir, moved), 0);
    ck_assert_int_eq(sts_log_reopen(err, sizeof(err)), STS_EIO);
    ck_assert_msg(strstr(err, path) != NULL, "reason names the file: %s", err);
    sts_log(LOG_INFO, "line=kept");
    char kept[128];
    snprintf(kept, sizeof(kept), "%s/milter.log.1", moved);
    slurp(kept, buf, sizeof(buf));
    ck_assert_msg(strstr(buf, "line=kept") != NULL, "old file still written: \"%s\"", buf);
    sts_log_close();
    ck_assert_int_eq(sts_log_reopen(err, sizeof(err)), STS_OK); /* stderr: nothing to do */
    memcpy(dir, moved, sizeof(dir) - 1);                        /* moved is dir plus ".gone" */
    remove_dir();
}
END_TEST

static Suite *sd_notify_suite(void)
{
    Suite *s = suite_create("sd_notify");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, no_socket_is_a_no_op);
    tcase_add_test(tc, unusable_addresses_fail_cleanly);
    tcase_add_test(tc, path_socket_gets_each_state);
    tcase_add_test(tc, abstract_socket);
    tcase_add_test(tc, log_file_reopens_after_rotation);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return unit_main(sd_notify_suite());
}
