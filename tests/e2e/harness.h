/* harness.h - start a real valvd for end-to-end tests.
 *
 * The binaries come from the environment: $VALVD and $VALV (set by ctest),
 * falling back to ./valvd and ./valv; deploy/dev-certs.sh from
 * $VALV_DEV_CERTS, falling back to the source tree's.
 */
#ifndef VALV_HARNESS_H
#define VALV_HARNESS_H

#include <stddef.h>
#include <sys/types.h>

#define HARNESS_PATH_MAX 256

typedef struct {
    pid_t pid;
    char addr[64];                    /* "127.0.0.1:PORT", as valvd printed it */
    char data_dir[HARNESS_PATH_MAX];  /* a fresh temporary directory, removed by
                                         harness_cleanup */
    char log_path[HARNESS_PATH_MAX + 8]; /* valvd's stderr when harness_start_tls
                                            started it ("DATA_DIR.log"), else "" */
} harness_server;

/* Starts `$VALVD --dev --listen 127.0.0.1:0 --data-dir TMP EXTRA...` and
 * waits (up to 10 s) for its first stdout line "listening on ADDR".
 * extra_args is NULL-terminated, may be NULL. Returns 0 or -1 (with a
 * message on stderr). If data_dir is already set (non-empty) it is reused
 * (restart on the same data). */
int harness_start(harness_server *srv, const char *const *extra_args);

/* Starts valvd as harness_start does, but serving TLS with mutual TLS and
 * principals instead of --dev:
 *   $VALVD --listen 127.0.0.1:0 --data-dir TMP --tls-cert CERTS/server.crt
 *          --tls-key CERTS/server.key --client-ca CERTS/ca.crt
 *          --principals PRINCIPALS_FILE EXTRA...
 * certs_dir is one harness_make_certs made. valvd's stderr goes to
 * srv->log_path (read it with harness_read_log). */
int harness_start_tls(harness_server *srv, const char *certs_dir, const char *principals_file,
                      const char *const *extra_args);

/* Starts `$VALVD --config CONFIG_PATH EXTRA...`, nothing added: the file
 * (or extra_args) says where to listen, which must print a loopback
 * "listening on" address, and the data directory, which must be
 * srv->data_dir (set it first: harness_cleanup removes it). valvd's stderr
 * goes to srv->log_path ("DATA_DIR.log"). */
int harness_start_config(harness_server *srv, const char *config_path,
                         const char *const *extra_args);

/* Reads the next line valvd printed on stdout after "listening on ..."
 * (waiting up to 10 s) into line, without the newline. Returns 0, or -1 on
 * timeout or when valvd closed stdout. */
int harness_read_stdout_line(const harness_server *srv, char *line, size_t cap);

/* What valvd has logged so far, malloc'd (the caller frees); "" when there
 * is no log file. NULL only when out of memory. */
char *harness_read_log(const harness_server *srv);

/* Runs deploy/dev-certs.sh into a fresh temporary directory, whose path is
 * written to dir: a CA (ca.crt), server.crt/.key for localhost and
 * 127.0.0.1, and CLIENT.crt/.key for each of clients (NULL-terminated; NULL
 * or empty: the script's defaults), whose SAN is CLIENT.clients.valv.test.
 * Takes a second or so: make them once per test program, before the tests.
 * Returns 0, or -1 with a message on stderr. Remove with harness_remove_dir. */
int harness_make_certs(const char *const *clients, char dir[HARNESS_PATH_MAX]);

/* Runs `$VALVD token new`: token receives the bearer token (its first
 * line), identity the text the principals file stores for it
 * ("sha256:HEX", from the second). Returns 0, or -1 with a message on
 * stderr. */
int harness_token_new(char *token, size_t token_cap, char *identity, size_t identity_cap);

/* Removes dir and everything in it. */
void harness_remove_dir(const char *dir);

/* Sends SIGTERM, waits (up to 10 s, then SIGKILL) and returns valvd's exit
 * status (0 for a clean exit), -1 if it had to be killed. Keeps data_dir. */
int harness_stop(harness_server *srv);

/* Sends SIGKILL (a crash: nothing is flushed or drained) and waits for
 * valvd to be gone. Keeps data_dir. Returns 0, or -1 if no valvd runs. */
int harness_kill(harness_server *srv);

/* Removes srv->data_dir and everything in it, and the log file. */
void harness_cleanup(harness_server *srv);

/* Runs argv (argv[0] found via PATH or as a path) with stdin_text (NULL: no
 * input) and the environment plus VALV_ADDR=srv->addr when srv is non-NULL.
 * *out and *err_out (either may be NULL) receive malloc'd NUL-terminated
 * stdout and stderr. Returns the exit code, or -1 if it could not run. */
int harness_run(const harness_server *srv, const char *const argv[], const char *stdin_text,
                char **out, char **err_out);

/* The path of valv / valvd to run. */
const char *harness_valv(void);
const char *harness_valvd(void);

#endif
