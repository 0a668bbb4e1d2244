/*
 * mtasts_milter.c - the mtasts-milter daemon: options, start-up order,
 * signals, shutdown.
 *
 * Start-up order: load and check the configuration; detach (unless -f);
 * block SIGHUP/SIGTERM/SIGINT before any thread exists; build the engine
 * (resolver, store, cache threads); open the milter socket; write the pid
 * file; drop privileges (setgid, setgroups, setuid); run libmilter's loop
 * in its own thread.
 *
 * Signals: the main thread waits for them with sigwait().  libmilter's
 * own signal thread waits for the same set and would stop the filter on
 * SIGHUP; Linux hands a process-directed signal to the thread-group leader
 * first when it is waiting for it, so the main thread gets them all as
 * long as it goes straight back to sigwait(): reloads therefore run on a
 * helper thread.  SIGHUP reopens LogFile and reloads, SIGTERM/SIGINT stop
 * accepting, let libmilter finish its sessions, and exit.  Each state is
 * told to systemd when it set $NOTIFY_SOCKET (Type=notify, sd_notify.h).
 */
#define _DEFAULT_SOURCE /* setgroups(2) */
#include "build-config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include "mtasts/config.h"
#include "mtasts/log.h"
#include "mtasts/sd_notify.h"
#include "mtasts/socket_spec.h"
#include "mtasts/store.h"
#include "mlfi.h"
#include "mtasts/engine.h"
#include "metrics_http.h"
#include "mtasts/metrics.h"
#include "socketmap.h"
#include "tlsrpt_socket.h"

#define DEFAULT_CONFIG STS_CONFIG_DEFAULT_FILE
#define EXIT_CONFIG 78 /* sysexits EX_CONFIG */

struct options {
    const char *config;
    const char *socket;
    const char *pid_file;
    bool foreground, check_only, verbose;
};

static void usage(FILE *fp)
{
    fprintf(fp,
            "usage: mtasts-milter [-c FILE] [-f] [-n [-v]] [-p SOCKET] [-P PIDFILE]\n"
            "       mtasts-milter -V | -h | --keys\n"
            "  -c FILE    configuration file (default %s)\n"
            "  -f         stay in the foreground\n"
            "  -n         check the configuration and the overrides file, then exit\n"
            "  -v         with -n: print every key with its effective value\n"
            "  -p SOCKET  milter socket, overriding Socket\n"
            "  -P FILE    pid file, overriding PidFile\n"
            "  --keys     print the key table: name, type, reload|restart, default\n",
            DEFAULT_CONFIG);
}

static int parse_options(int argc, char **argv, struct options *o)
{
    int ch;
    o->config = DEFAULT_CONFIG;
    if (argc == 2 && strcmp(argv[1], "--keys") == 0) {
        sts_config_dump_keys(stdout);
        exit(0);
    }
    while ((ch = getopt(argc, argv, "c:fnvp:P:Vh")) != -1) {
        switch (ch) {
        case 'c':
            o->config = optarg;
            break;
        case 'f':
            o->foreground = true;
            break;
        case 'n':
            o->check_only = true;
            break;
        case 'v':
            o->verbose = true;
            break;
        case 'p':
            o->socket = optarg;
            break;
        case 'P':
            o->pid_file = optarg;
            break;
        case 'V':
            printf("mtasts-milter %s\n", PACKAGE_VERSION);
            exit(0);
        case 'h':
            usage(stdout);
            exit(0);
        default:
            usage(stderr);
            return -1;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "mtasts-milter: unexpected argument \"%s\"\n", argv[optind]);
        usage(stderr);
        return -1;
    }
    return 0;
}

/*
 * Detach, but keep the parent until start-up is over: it exits with the
 * status the child reports through the pipe (report_started()), so an
 * init script or a postmaster sees a failed start at once.
 */
static int start_pipe = -1;

static int detach(void)
{
    int fds[2];
    if (pipe(fds) != 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid > 0) {
        close(fds[1]);
        unsigned char status = 1;
        ssize_t r;
        do
            r = read(fds[0], &status, 1);
        while (r < 0 && errno == EINTR);
        _exit(r == 1 ? status : 1);
    }
    close(fds[0]);
    start_pipe = fds[1];
    if (setsid() < 0)
        return -1;
    if (chdir("/") != 0)
        return -1;
    int fd = open("/dev/null", O_RDWR);
    if (fd < 0)
        return -1;
    dup2(fd, 0);
    dup2(fd, 1);
    dup2(fd, 2);
    if (fd > 2)
        close(fd);
    return 0;
}

/* Tell a waiting parent how start-up went (once). */
static void report_started(int status)
{
    if (start_pipe < 0)
        return;
    unsigned char b = (unsigned char)status;
    ssize_t w;
    do
        w = write(start_pipe, &b, 1);
    while (w < 0 && errno == EINTR);
    close(start_pipe);
    start_pipe = -1;
}

/* Is something already accepting on this unix socket?  Then do not steal it. */
static bool unix_socket_in_use(const char *spec)
{
    const char *path = sts_socket_spec_unix_path(spec);
    if (path == NULL)
        return false;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    _Static_assert(STS_SOCKET_SPEC_PATH_MAX < sizeof(sa.sun_path), "sun_path");
    memcpy(sa.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    bool in_use = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
    close(fd);
    return in_use;
}

static int write_pid_file(const char *path)
{
    if (path == NULL || path[0] == '\0')
        return 0;
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        sts_log(LOG_ERR, "event=start reason=\"pid file %s: %s\"", path, strerror(errno));
        return -1;
    }
    fprintf(f, "%ld\n", (long)getpid());
    return fclose(f) == 0 ? 0 : -1;
}

/* Give the store's files and the unix sockets to the user we become. */
struct owner {
    char user[256]; /* UserID's user part */
    uid_t uid;
    gid_t gid;
};

static void hand_over(const char *path, void *arg)
{
    const struct owner *o = arg;
    if (path != NULL && chown(path, o->uid, o->gid) != 0 && errno != ENOENT)
        sts_log(LOG_WARNING, "event=start chown=%s reason=\"%s\"", path, strerror(errno));
}

/* UserID as user and group ids; false (reason in err) when either is unknown. */
static bool lookup_user(const char *user_id, struct owner *o, char *err, size_t errlen)
{
    char *user = o->user, *group;
    snprintf(o->user, sizeof(o->user), "%s", user_id);
    group = strchr(user, ':');
    if (group != NULL)
        *group++ = '\0';
    struct passwd *pw = getpwnam(user);
    if (pw == NULL) {
        snprintf(err, errlen, "unknown user %.200s", user);
        return false;
    }
    o->uid = pw->pw_uid;
    o->gid = pw->pw_gid;
    if (group != NULL) {
        struct group *gr = getgrnam(group);
        if (gr == NULL) {
            snprintf(err, errlen, "unknown group %.200s", group);
            return false;
        }
        o->gid = gr->gr_gid;
    }
    return true;
}

static void note_relative(const char *path, void *arg)
{
    if (path[0] != '/')
        *(bool *)arg = true;
}

/*
 * What the daemon needs beyond what the configuration parser checks (the
 * parser is shared with mtasts(1), for which a relative store is fine):
 * the store's files at absolute paths (the daemon works from "/") and a
 * UserID that exists.  -n and start-up both ask, so -n refuses whatever
 * start-up would (issue 18, "config check gaps").
 */
static bool check_for_daemon(const struct sts_config *cfg, const char *file, char *err,
                             size_t errlen)
{
    char why[256], q[128];
    bool relative = false;
    if (sts_store_files(cfg->store, note_relative, &relative, why, sizeof(why)) != STS_OK ||
        relative) {
        snprintf(err, errlen, "%s: Store: \"%s\": %s", file,
                 sts_status_quote(cfg->store, strlen(cfg->store), q, sizeof(q)),
                 relative ? "must be an absolute path (the daemon works from /)" : why);
        return false;
    }
    /* A datagram socket of our own (not libmilter's): the kernel's limit. */
    if (cfg->tlsrpt_socket != NULL &&
        strlen(cfg->tlsrpt_socket) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
        snprintf(err, errlen, "%s: TLSRPTSocket: socket path over %zu bytes", file,
                 sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
        return false;
    }
    struct owner o;
    if (cfg->user_id != NULL && cfg->user_id[0] != '\0' &&
        !lookup_user(cfg->user_id, &o, why, sizeof(why))) {
        snprintf(err, errlen, "%s: UserID: %s", file, why);
        return false;
    }
    return true;
}

static int drop_privileges(const struct sts_config *cfg, const char *socket)
{
    if (cfg->user_id == NULL || cfg->user_id[0] == '\0')
        return 0;
    struct owner o;
    char why[256];
    if (!lookup_user(cfg->user_id, &o, why, sizeof(why))) {
        sts_log(LOG_ERR, "event=start reason=\"%s\"", why);
        return -1;
    }
    (void)sts_store_files(cfg->store, hand_over, &o, NULL, 0);
    hand_over(sts_socket_spec_unix_path(socket), &o);
    hand_over(sts_socket_spec_unix_path(cfg->socketmap), &o);
    if (cfg->tlsrpt && cfg->tlsrpt_socket != NULL && cfg->tlsrpt_socket[0] != '\0')
        hand_over(cfg->tlsrpt_socket, &o);
    hand_over(sts_socket_spec_unix_path(cfg->metrics), &o);
    /* The fixed order: group first, then supplementary groups, then user. */
    if (setgid(o.gid) != 0 || setgroups(1, &o.gid) != 0 || setuid(o.uid) != 0) {
        sts_log(LOG_ERR, "event=start reason=\"cannot become %s: %s\"", cfg->user_id,
                strerror(errno));
        return -1;
    }
    sts_log(LOG_INFO, "event=start user=%s uid=%ld gid=%ld", o.user, (long)o.uid, (long)o.gid);
    return 0;
}

/* ---- reload on a helper thread, so the main thread keeps sigwait()ing */

static pthread_mutex_t reload_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t reload_cond = PTHREAD_COND_INITIALIZER;
static bool reload_wanted, reload_quit;

static void *reloader_main(void *arg)
{
    struct sts_engine *rt = arg;
    pthread_mutex_lock(&reload_mu);
    for (;;) {
        while (!reload_wanted && !reload_quit)
            pthread_cond_wait(&reload_cond, &reload_mu);
        if (reload_quit)
            break;
        reload_wanted = false;
        pthread_mutex_unlock(&reload_mu);
        char err[512];
        bool ok = sts_engine_reload(rt, err, sizeof(err)) == STS_OK;
        sts_metrics_reload(ok);
        if (!ok)
            sts_log(LOG_ERR, "event=reload status=failed action=keep-old reason=\"%s\"", err);
        sts_sd_notify_ready(ok ? "running, configuration reloaded" : "running, reload failed");
        pthread_mutex_lock(&reload_mu);
    }
    pthread_mutex_unlock(&reload_mu);
    return NULL;
}

static void reloader_poke(bool quit)
{
    pthread_mutex_lock(&reload_mu);
    if (quit)
        reload_quit = true;
    else
        reload_wanted = true;
    pthread_cond_signal(&reload_cond);
    pthread_mutex_unlock(&reload_mu);
}

/*
 * libmilter's own signal thread also sigwait()s for SIGTERM, SIGINT and
 * SIGHUP; one it takes (a signal sent while the main thread is not in
 * sigwait(), at start-up say) ends the accept loop behind the main
 * thread's back.  So when the loop ends, the main thread is sent SIGTERM:
 * it stops cleanly instead of waiting for a signal that was already spent.
 * When the main thread asked for the stop, the signal stays pending, blocked.
 */
static pthread_t main_thread;

static void *milter_main(void *arg)
{
    (void)arg;
    intptr_t rc = sts_mlfi_run();
    pthread_kill(main_thread, SIGTERM);
    return (void *)rc;
}

static int open_log(const struct sts_config *cfg, bool foreground)
{
    char err[256];
    const char *path = cfg->log_file;
    if ((path == NULL || path[0] == '\0') && !cfg->syslog)
        path = foreground ? "-" : "/dev/null";
    if (sts_log_open("mtasts-milter", path, cfg->syslog_facility, cfg->log_level, err,
                     sizeof(err)) != STS_OK) {
        fprintf(stderr, "mtasts-milter: log file %s\n", err);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct options opt = {0};
    if (parse_options(argc, argv, &opt) != 0)
        return 2;

    char err[512];
    /* -p is checked as the Socket key would be (issue 18: it exited 1 at
       start where the same value in the file gets EX_CONFIG from -n). */
    if (opt.socket != NULL &&
        sts_socket_spec_parse(opt.socket, 0, NULL, err, sizeof(err)) != STS_OK) {
        char q[128];
        fprintf(stderr, "mtasts-milter: -p: \"%s\": %s\n",
                sts_status_quote(opt.socket, strlen(opt.socket), q, sizeof(q)), err);
        return EXIT_CONFIG;
    }
    struct sts_config *cfg;
    if (sts_config_load(opt.config, &cfg, err, sizeof(err)) != STS_OK) {
        fprintf(stderr, "mtasts-milter: %s\n", err);
        return EXIT_CONFIG;
    }
    if (!check_for_daemon(cfg, opt.config, err, sizeof(err))) {
        fprintf(stderr, "mtasts-milter: %s\n", err);
        sts_config_unref(cfg);
        return EXIT_CONFIG;
    }
    if (opt.check_only) {
        struct sts_overrides *ov = NULL;
        if (cfg->overrides_file != NULL && cfg->overrides_file[0] != '\0' &&
            sts_overrides_load(cfg->overrides_file, &ov, err, sizeof(err)) != STS_OK) {
            fprintf(stderr, "mtasts-milter: %s\n", err);
            sts_config_unref(cfg);
            return EXIT_CONFIG;
        }
        if (opt.verbose)
            sts_config_dump(cfg, stdout);
        printf("mtasts-milter: %s: configuration OK\n", opt.config);
        sts_overrides_unref(ov);
        sts_config_unref(cfg);
        return 0;
    }
    const char *socket = opt.socket ? opt.socket : cfg->socket;
    const char *pid_file = opt.pid_file ? opt.pid_file : cfg->pid_file;

    /* Reload re-reads the file after chdir("/"): keep an absolute path. */
    char config_path[PATH_MAX];
    if (realpath(opt.config, config_path) == NULL) {
        fprintf(stderr, "mtasts-milter: %s: %s\n", opt.config, strerror(errno));
        sts_config_unref(cfg);
        return EXIT_CONFIG;
    }
    if (cfg->overrides_file != NULL && cfg->overrides_file[0] != '\0') {
        struct sts_overrides *ov;
        if (sts_overrides_load(cfg->overrides_file, &ov, err, sizeof(err)) != STS_OK) {
            fprintf(stderr, "mtasts-milter: %s\n", err);
            sts_config_unref(cfg);
            return EXIT_CONFIG;
        }
        sts_overrides_unref(ov);
    }
    if (unix_socket_in_use(socket)) {
        fprintf(stderr, "mtasts-milter: %s: another filter is listening there\n", socket);
        sts_config_unref(cfg);
        return 1;
    }

    if (!opt.foreground && detach() != 0) {
        fprintf(stderr, "mtasts-milter: cannot detach: %s\n", strerror(errno));
        return 1;
    }
    if (open_log(cfg, opt.foreground) != 0)
        return 1;

    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    main_thread = pthread_self();
    sigset_t wake; /* only the accept loop's thread takes it (sts_mlfi_stop()) */
    sigemptyset(&wake);
    sigaddset(&wake, SIGUSR2);
    pthread_sigmask(SIG_BLOCK, &wake, NULL);
    signal(SIGPIPE, SIG_IGN);

    struct sts_engine *rt;
    const struct sts_config *keep =
        sts_config_ref(cfg); /* socket, pid file, user; and the cache borrows its strings until
                                sts_engine_free() */
    if (sts_engine_new(cfg, config_path, 0, &rt, err, sizeof(err)) != STS_OK) {
        sts_log(LOG_ERR, "event=start status=failed reason=\"%s\"", err);
        fprintf(stderr, "mtasts-milter: %s\n", err);
        report_started(1);
        sts_config_unref(keep);
        return 1;
    }
    int status = 1;
    pthread_t milter, reloader;
    bool milter_started = false, reloader_started = false;
    struct sts_socketmap *smap = NULL;
    struct sts_metrics_http *metrics = NULL;
    sts_metrics_init();
    struct sts_tlsrpt_socket *dgram = NULL;
    if (sts_mlfi_register(rt, socket, true, err, sizeof(err)) != STS_OK) {
        sts_log(LOG_ERR, "event=start status=failed reason=\"%s\"", err);
        fprintf(stderr, "mtasts-milter: %s\n", err);
        goto out;
    }
    if (keep->socketmap != NULL && keep->socketmap[0] != '\0') {
        struct sts_socketmap_config sc = {
            .socket = keep->socketmap,
            .engine = rt,
            .deadline_ms = keep->socketmap_deadline_ms,
            .map = {.tlsrpt = keep->socketmap_tlsrpt,
                    .strict_testing = keep->socketmap_strict_testing},
            .log = sts_log_line,
        };
        if (sts_socketmap_start(&sc, &smap, err, sizeof(err)) != STS_OK) {
            sts_log(LOG_ERR, "event=start status=failed reason=\"%s\"", err);
            fprintf(stderr, "mtasts-milter: %s\n", err);
            goto out;
        }
    }
    if (keep->metrics != NULL && keep->metrics[0] != '\0') {
        struct sts_metrics_http_config mc = {.socket = keep->metrics, .log = sts_log_line};
        if (sts_metrics_http_start(&mc, &metrics, err, sizeof(err)) != STS_OK) {
            sts_log(LOG_ERR, "event=start status=failed reason=\"%s\"", err);
            fprintf(stderr, "mtasts-milter: %s\n", err);
            goto out;
        }
    }
    if (sts_engine_tlsrpt(rt) != NULL && keep->tlsrpt_socket != NULL &&
        keep->tlsrpt_socket[0] != '\0' &&
        sts_tlsrpt_socket_start(keep->tlsrpt_socket, sts_engine_tlsrpt(rt), &dgram, err,
                                sizeof(err)) != STS_OK) {
        sts_log(LOG_ERR, "event=start status=failed reason=\"%s\"", err);
        fprintf(stderr, "mtasts-milter: %s\n", err);
        goto out;
    }
    /* The MTA's user must be able to connect: group access, no others. */
    if (sts_socket_spec_unix_path(socket) != NULL)
        (void)chmod(sts_socket_spec_unix_path(socket), 0660);
    if (write_pid_file(pid_file) != 0 || drop_privileges(keep, socket) != 0)
        goto out;
    if (pthread_create(&reloader, NULL, reloader_main, rt) != 0)
        goto out;
    reloader_started = true;
    if (pthread_create(&milter, NULL, milter_main, NULL) != 0)
        goto out;
    milter_started = true;
    sts_log(LOG_INFO, "event=start status=ok version=%s socket=%s mode=%s store=%s",
            PACKAGE_VERSION, socket, sts_milter_mode_name(keep->mode), keep->store);
    report_started(0);
    snprintf(err, sizeof(err), "running, milter on %s", socket);
    sts_sd_notify_ready(err);

    for (;;) {
        int sig = 0;
        if (sigwait(&set, &sig) != 0)
            continue;
        if (sig == SIGHUP) {
            sts_log(LOG_INFO, "event=reload signal=HUP");
            sts_sd_notify_reloading();
            if (sts_log_reopen(err, sizeof(err)) != STS_OK) /* after logrotate */
                sts_log(LOG_ERR, "event=reload log=keep-old reason=\"%s\"", err);
            reloader_poke(false);
            continue;
        }
        sts_log(LOG_INFO, "event=stop signal=%s", sig == SIGTERM ? "TERM" : "INT");
        sts_sd_notify_stopping(NULL);
        break;
    }
    sts_mlfi_stop();
    status = 0;
out:
    report_started(1);
    if (milter_started) {
        void *rc;
        pthread_join(milter, &rc);
    }
    if (reloader_started) {
        reloader_poke(true);
        pthread_join(reloader, NULL);
    }
    sts_socketmap_stop(smap);      /* before the cache it borrows goes */
    sts_tlsrpt_socket_stop(dgram); /* before the collector it feeds goes */
    sts_metrics_http_stop(metrics);
    sts_engine_free(rt);
    if (pid_file != NULL && pid_file[0] != '\0')
        unlink(pid_file);
    sts_log(LOG_INFO, "event=stop status=%s", status == 0 ? "ok" : "failed");
    sts_config_unref(keep);
    sts_log_close();
    return status;
}
