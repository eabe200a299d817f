/* main.c - valvd: read the flags, open the store, start the writer and the
 * server, wait for a signal, drain, close. */
#include <errno.h>
#include <getopt.h>
#include <grpc/grpc.h>
#include <grpc/support/log.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "metrics.h"
#include "principals.h"
#include "reflection.h"
#include "server.h"
#include "token.h"
#include "verify.h"
#include "watch.h"

#include "store.h"
#include "writer.h"

#define LISTEN_DEFAULT "127.0.0.1:50051"
#define DATA_DIR_DEFAULT "./valv-data"
#define GRACE_MS_DEFAULT 10000

/* Exit codes: 0 clean stop, 1 could not start, 2 usage error. */
enum { EXIT_START_FAILED = 1, EXIT_USAGE = 2 };

typedef struct {
    const char *listen;
    const char *data_dir;
    bool dev;
    int threads;
    size_t max_db_size;
    int grace_ms;
    int64_t review_interval; /* seconds */
    int watch_stall;         /* seconds */
    const char *tls_cert;    /* PEM files */
    const char *tls_key;
    const char *client_ca;
    bool require_client_cert;
    const char *principals;  /* the principals file */
    const char *metrics_listen; /* the metrics endpoint's ADDR:PORT, or NULL: none */
    const char *config;      /* the configuration file (--config), or NULL */
    log_format log_format;
    log_level log_level;
} options;

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: valvd [OPTIONS]\n"
            "       valvd verify --data-dir DIR\n"
            "       valvd token new\n"
            "Serve the Valv asset inventory over gRPC, or check a data directory offline.\n"
            "\n"
            "Options:\n"
            "  --config FILE         read options from FILE first; flags given here override it\n"
            "  --listen ADDR:PORT    address to listen on (default " LISTEN_DEFAULT "; port 0 picks one)\n"
            "  --data-dir DIR        LMDB data directory, created if missing (default " DATA_DIR_DEFAULT ")\n"
            "  --tls-cert FILE       the server's certificate chain (PEM); required without --dev\n"
            "  --tls-key FILE        its private key (PEM)\n"
            "  --client-ca FILE      CA that signs client certificates (mutual TLS)\n"
            "  --require-client-cert refuse connections without a client certificate\n"
            "  --principals FILE     who may do what (JSON); reloaded on SIGHUP; required without --dev\n"
            "  --metrics-listen ADDR:PORT  serve Prometheus metrics at /metrics (plain HTTP, no authentication; default off)\n"
            "  --dev                 development mode: plaintext, no authentication, loopback only\n"
            "  --threads N           worker threads (default 2)\n"
            "  --max-db-size MIB     largest the database may grow, in MiB (default 65536)\n"
            "  --review-interval DAYS  days from an approval to the next review (default 365)\n"
            "  --grace SECONDS       on SIGTERM, how long calls in flight may run (default 10)\n"
            "  --watch-stall SECONDS cut off a WatchChanges client that takes no message this long (default 30)\n"
            "  --log-format FORMAT   text (default) or json (one object per line)\n"
            "  --log-level LEVEL     debug, info (default) or error\n"
            "  --help                show this help\n"
            "  --version             show the version\n"
            "\n"
            "valvd prints 'listening on ADDR:PORT' on stdout once it serves, logs one line\n"
            "per request on stderr, and drains and exits 0 on SIGTERM or SIGINT.\n"
            "\n"
            "The configuration file has one 'key = value' per line; a key is an option above\n"
            "without '--' (all but config, help and version), a switch takes true or false,\n"
            "and lines starting with '#' are comments. A relative path means what it means\n"
            "as a flag: relative to the working directory. See deploy/valvd.conf.example.\n"
            "\n"
            "Examples:\n"
            "  valvd --dev --listen 127.0.0.1:50051 --data-dir ./valv-data\n"
            "  valvd --config /etc/valv/valvd.conf --log-level debug\n"
            "  valvd --listen 0.0.0.0:8443 --tls-cert server.pem --tls-key server.key \\\n"
            "        --client-ca ca.pem --principals principals.json --data-dir /var/lib/valv\n");
}

/* Parses a whole decimal number in [min, max]; false otherwise. */
static bool parse_number(const char *s, long min, long max, long *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || v < min || v > max)
        return false;
    *out = v;
    return true;
}

/* True for a host part that can only reach this machine. */
static bool is_loopback(const char *listen)
{
    const char *colon = strrchr(listen, ':');
    size_t host_len = colon != NULL ? (size_t)(colon - listen) : strlen(listen);
    char host[256];
    if (host_len >= sizeof host)
        return false;
    memcpy(host, listen, host_len);
    host[host_len] = '\0';
    return strncmp(host, "127.", 4) == 0 || strcmp(host, "localhost") == 0 ||
           strcmp(host, "[::1]") == 0;
}

/* Every option of valvd, in one place: the command line and the
 * configuration file (config.h) both read this table, so an option added
 * here is a key of the file too. */
static const struct option longopts[] = {
    {"config", required_argument, NULL, 'C'},
    {"listen", required_argument, NULL, 'l'},
    {"data-dir", required_argument, NULL, 'd'},
    {"dev", no_argument, NULL, 'D'},
    {"threads", required_argument, NULL, 't'},
    {"max-db-size", required_argument, NULL, 'm'},
    {"grace", required_argument, NULL, 'g'},
    {"review-interval", required_argument, NULL, 'r'},
    {"watch-stall", required_argument, NULL, 'w'},
    {"tls-cert", required_argument, NULL, 'c'},
    {"tls-key", required_argument, NULL, 'k'},
    {"client-ca", required_argument, NULL, 'a'},
    {"require-client-cert", no_argument, NULL, 'R'},
    {"principals", required_argument, NULL, 'p'},
    {"metrics-listen", required_argument, NULL, 'M'},
    {"log-format", required_argument, NULL, 'F'},
    {"log-level", required_argument, NULL, 'L'},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {NULL, 0, NULL, 0},
};

/* Options that only make sense on the command line. */
static const char *const command_line_only[] = {"config", "help", "version", NULL};

static void options_default(options *o)
{
    *o = (options){.listen = LISTEN_DEFAULT, .data_dir = DATA_DIR_DEFAULT, .threads = 2,
                   .max_db_size = STORE_MAP_SIZE_MAX_DEFAULT, .grace_ms = GRACE_MS_DEFAULT,
                   .review_interval = STORE_REVIEW_INTERVAL_DEFAULT,
                   .watch_stall = WATCH_STALL_SECONDS_DEFAULT,
                   .log_format = LOG_TEXT, .log_level = LOG_INFO};
}

/* Prints "valvd: MESSAGE" about the option argv[index] and returns
 * EXIT_USAGE. file is the configuration file argv came from (its file and
 * line then lead the message), or NULL for the command line. */
static int bad_option(const config_file *file, int index, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int bad_option(const config_file *file, int index, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "valvd: ");
    if (file != NULL)
        fprintf(stderr, "%s:%d: ", file->path, file->lines[index]);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return EXIT_USAGE;
}

/* Applies the options of argv[1..argc) over what o holds. file: see
 * bad_option. Returns 0 to go on, -1 after --help or --version, or an exit
 * code. */
static int parse_args(int argc, char **argv, const config_file *file, options *o)
{
    long v;
    int ch;
    optind = 0; /* glibc: start afresh, this is not the first list parsed */
    opterr = 0;
    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (ch) {
        case 'C': o->config = optarg; break;
        case 'l': o->listen = optarg; break;
        case 'd': o->data_dir = optarg; break;
        case 'D': o->dev = true; break;
        case 't':
            if (!parse_number(optarg, 1, 64, &v))
                return bad_option(file, optind - 1, "--threads takes a number from 1 to 64, not '%s'", optarg);
            o->threads = (int)v;
            break;
        case 'm':
            if (!parse_number(optarg, 1, 1L << 24, &v))
                return bad_option(file, optind - 1, "--max-db-size takes a size in MiB from 1 to 16777216, not '%s'", optarg);
            o->max_db_size = (size_t)v << 20;
            break;
        case 'g':
            if (!parse_number(optarg, 0, 3600, &v))
                return bad_option(file, optind - 1, "--grace takes seconds from 0 to 3600, not '%s'", optarg);
            o->grace_ms = (int)v * 1000;
            break;
        case 'r':
            if (!parse_number(optarg, 1, 3650, &v))
                return bad_option(file, optind - 1, "--review-interval takes days from 1 to 3650, not '%s'", optarg);
            o->review_interval = (int64_t)v * 24 * 3600;
            break;
        case 'w':
            if (!parse_number(optarg, 1, 3600, &v))
                return bad_option(file, optind - 1, "--watch-stall takes seconds from 1 to 3600, not '%s'", optarg);
            o->watch_stall = (int)v;
            break;
        case 'c': o->tls_cert = optarg; break;
        case 'k': o->tls_key = optarg; break;
        case 'a': o->client_ca = optarg; break;
        case 'R': o->require_client_cert = true; break;
        case 'p': o->principals = optarg; break;
        case 'M': o->metrics_listen = optarg; break;
        case 'F':
            if (!log_format_parse(optarg, &o->log_format))
                return bad_option(file, optind - 1, "--log-format takes text or json, not '%s'", optarg);
            break;
        case 'L':
            if (!log_level_parse(optarg, &o->log_level))
                return bad_option(file, optind - 1, "--log-level takes debug, info or error, not '%s'", optarg);
            break;
        case 'h': usage(stdout); return -1;
        case 'V': printf("valvd %s\n", VALV_VERSION); return -1;
        default:
            return bad_option(file, optind - 1, "unknown or incomplete option '%s'; run 'valvd --help'",
                              argv[optind - 1]);
        }
    }
    if (optind < argc) {
        fprintf(stderr, "valvd: unexpected argument '%s'; run 'valvd --help'\n", argv[optind]);
        return EXIT_USAGE;
    }
    return 0;
}

/* Checks the options against each other once all are read. Returns 0 to go
 * on, or an exit code. */
static int check_options(const options *o)
{
    bool any_tls = o->tls_cert || o->tls_key || o->client_ca || o->require_client_cert || o->principals;
    if (o->dev && any_tls) {
        fprintf(stderr, "valvd: --dev serves plaintext without authentication; drop --dev to use "
                        "--tls-cert, --tls-key, --client-ca and --principals\n");
        return EXIT_USAGE;
    }
    if (!o->dev) {
        if (o->tls_cert == NULL || o->tls_key == NULL || o->principals == NULL) {
            fprintf(stderr, "valvd: refusing to serve without TLS and authentication: give --tls-cert, "
                            "--tls-key and --principals (and --client-ca for client certificates), "
                            "or --dev for plaintext on loopback during development\n");
            return EXIT_USAGE;
        }
        if (o->require_client_cert && o->client_ca == NULL) {
            fprintf(stderr, "valvd: --require-client-cert needs --client-ca to verify them\n");
            return EXIT_USAGE;
        }
        return 0;
    }
    if (!is_loopback(o->listen)) {
        fprintf(stderr, "valvd: --dev serves plaintext without authentication, so it listens only on "
                        "loopback (127.0.0.1, [::1] or localhost), not on '%s'\n", o->listen);
        return EXIT_USAGE;
    }
    if (o->metrics_listen != NULL && !is_loopback(o->metrics_listen)) {
        fprintf(stderr, "valvd: --dev keeps the metrics port on loopback too, not on '%s'\n", o->metrics_listen);
        return EXIT_USAGE;
    }
    return 0;
}

/* Fills o from the defaults, then the configuration file if --config names
 * one, then the command line, which wins. o points into file's arguments,
 * so file must outlive it. Returns 0 to go on, -1 after --help or --version,
 * or an exit code. */
static int read_options(int argc, char **argv, config_file *file, options *o)
{
    options_default(o);
    /* This first pass finds --config, and refuses a bad flag before the file is read. */
    int rc = parse_args(argc, argv, NULL, o);
    if (rc == 0 && o->config != NULL) {
        valv_error err;
        valv_error_clear(&err);
        if (config_read(o->config, longopts, command_line_only, file, &err) != VALV_OK) {
            fprintf(stderr, "valvd: %s\n", err.message);
            return EXIT_USAGE;
        }
        options_default(o);
        rc = parse_args(file->argc, file->argv, file, o);
        if (rc == 0)
            rc = parse_args(argc, argv, NULL, o);
    }
    return rc != 0 ? rc : check_options(o);
}

/* Reads a whole (PEM) file into a malloc'd string. */
static char *read_file(const char *path, valv_error *err)
{
    char *text = NULL;
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        valv_error_set(err, VALV_EUNAVAILABLE, "cannot read %s: %s", path, strerror(errno));
        return NULL;
    }
    if (fseek(f, 0, SEEK_END) == 0) {
        long len = ftell(f);
        if (len >= 0 && fseek(f, 0, SEEK_SET) == 0 && (text = malloc((size_t)len + 1)) != NULL) {
            size_t got = fread(text, 1, (size_t)len, f);
            text[got] = '\0';
        }
    }
    fclose(f);
    if (text == NULL)
        valv_error_set(err, VALV_EUNAVAILABLE, "cannot read %s", path);
    return text;
}

/* gRPC's own messages go through the log too, so that every line on
 * stderr has the format asked for. */
static void log_grpc(gpr_log_func_args *args)
{
    log_level level = args->severity == GPR_LOG_SEVERITY_ERROR  ? LOG_ERROR
                      : args->severity == GPR_LOG_SEVERITY_INFO ? LOG_INFO
                                                                : LOG_DEBUG;
    log_event(level, "grpc", LOG_STR("message", args->message), LOG_STR("file", args->file),
              LOG_INT("line", args->line), LOG_END);
}

/* Waits for SIGTERM or SIGINT; SIGHUP reloads the principals file (a broken
 * file keeps the one in force). */
static void wait_for_stop(const sigset_t *signals, principals_holder *holder, const char *path)
{
    for (;;) {
        int sig = 0;
        if (sigwait(signals, &sig) != 0)
            continue;
        if (sig == SIGHUP) {
            valv_error err;
            valv_error_clear(&err);
            if (holder == NULL)
                log_event(LOG_INFO, "reload_skipped",
                          LOG_STR("reason", "development mode has no principals file"), LOG_END);
            else if (principals_holder_reload(holder, path, &err) != VALV_OK)
                log_event(LOG_ERROR, "reload_failed", LOG_STR("file", path), LOG_STR("kept", "previous"),
                          LOG_STR("error", err.message), LOG_END);
            else
                log_event(LOG_INFO, "reloaded", LOG_STR("file", path), LOG_END);
            continue;
        }
        log_event(LOG_INFO, "stopping", LOG_STR("signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"),
                  LOG_END);
        return;
    }
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "verify") == 0)
        return verify_main(argc - 1, argv + 1);
    if (argc > 1 && strcmp(argv[1], "token") == 0)
        return token_main(argc - 1, argv + 1);

    /* When valvd started: the one time AdminService.Info and the metrics
     * endpoint both report. */
    struct timespec started;
    clock_gettime(CLOCK_REALTIME, &started);

    options opts;
    config_file file = {.argc = 0};
    int rc = read_options(argc, argv, &file, &opts);
    if (rc != 0) {
        config_free(&file);
        return rc < 0 ? 0 : rc;
    }
    log_configure(opts.log_format, opts.log_level, STDERR_FILENO);
    gpr_set_log_function(log_grpc);

    /* Block the stop signals before any thread exists, so that every thread
     * (gRPC's own included) inherits the mask and sigwait alone sees them. */
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &signals, NULL);

    store *st = NULL;
    writer *wr = NULL;
    watch_hub *hub = NULL;
    server *srv = NULL;
    metrics *mx = NULL;
    principals_holder *holder = NULL;
    char *cert_pem = NULL, *key_pem = NULL, *ca_pem = NULL;
    valv_error err;
    valv_error_clear(&err);
    char bound[300], metrics_bound[300];
    rc = EXIT_START_FAILED;

    if (!opts.dev) {
        principals *set = NULL;
        if ((cert_pem = read_file(opts.tls_cert, &err)) == NULL ||
            (key_pem = read_file(opts.tls_key, &err)) == NULL ||
            (opts.client_ca != NULL && (ca_pem = read_file(opts.client_ca, &err)) == NULL) ||
            principals_load(opts.principals, &set, &err) != VALV_OK) {
            fprintf(stderr, "valvd: %s\n", err.message);
            goto done;
        }
        holder = principals_holder_new(set);
    }
    store_options store_opts = {.map_size_max = opts.max_db_size, .review_interval = opts.review_interval};
    if (store_open(opts.data_dir, &store_opts, &st, &err) != VALV_OK) {
        fprintf(stderr, "valvd: cannot open the data directory %s: %s\n", opts.data_dir, err.message);
        goto done;
    }
    if (writer_start(st, 0, &wr, &err) != VALV_OK || watch_hub_create(st, opts.watch_stall, &hub, &err) != VALV_OK) {
        fprintf(stderr, "valvd: %s\n", err.message);
        goto done;
    }
    if (reflection_start(&err) != VALV_OK) {
        fprintf(stderr, "valvd: %s\n", err.message);
        goto done;
    }
    if (opts.metrics_listen != NULL &&
        (metrics_create(st, wr, (int64_t)started.tv_sec, &mx, &err) != VALV_OK ||
         metrics_listen(mx, opts.metrics_listen, metrics_bound, sizeof metrics_bound, &err) != VALV_OK)) {
        fprintf(stderr, "valvd: %s\n", err.message);
        goto done;
    }
    writer_on_commit(wr, watch_hub_committed, hub);
    grpc_init();
    server_config cfg = {.listen = opts.listen, .dev = opts.dev, .threads = opts.threads,
                         .store = st, .writer = wr, .watches = hub,
                         .tls_cert_pem = cert_pem, .tls_key_pem = key_pem, .client_ca_pem = ca_pem,
                         .require_client_cert = opts.require_client_cert, .principals = holder, .metrics = mx,
                         .data_dir = opts.data_dir, .start_time = started};
    if (server_start(&cfg, &srv, bound, sizeof bound, &err) != VALV_OK) {
        fprintf(stderr, "valvd: %s\n", err.message);
        grpc_shutdown();
        goto done;
    }
    log_event(LOG_INFO, "started", LOG_STR("version", VALV_VERSION), LOG_STR("listen", bound),
              LOG_STR("data_dir", opts.data_dir), LOG_STR("mode", opts.dev ? "dev" : "tls"),
              LOG_STR("config", opts.config), LOG_INT("revision", store_revision(st)), LOG_END);
    printf("listening on %s\n", bound);
    if (mx != NULL)
        printf("metrics on %s\n", metrics_bound);
    fflush(stdout);

    wait_for_stop(&signals, holder, opts.principals);
    server_stop(srv, opts.grace_ms);
    grpc_shutdown();
    log_event(LOG_INFO, "stopped", LOG_END);
    rc = 0;

done:
    metrics_free(mx); /* before the writer and the store it reads */
    writer_stop(wr);
    watch_hub_destroy(hub);
    reflection_stop();
    store_close(st);
    principals_holder_free(holder);
    free(cert_pem);
    free(key_pem);
    free(ca_pem);
    config_free(&file);
    return rc;
}
