/* harness.h - start a real valvd for end-to-end tests, and reach it: the
 * certificates, tokens and principals file of a TLS valvd, a gRPC
 * connection, valv and `valvd verify` runs with their output.
 *
 * The binaries come from the environment: $VALVD and $VALV (set by ctest),
 * falling back to ./valvd and ./valv; deploy/dev-certs.sh from
 * $VALV_DEV_CERTS, falling back to the source tree's.
 *
 * Nothing here asserts: benchmarks and soak link the harness without
 * Check. Each function returns a status and the test asserts on it.
 */
#ifndef VALV_HARNESS_H
#define VALV_HARNESS_H

#include <stdarg.h>
#include <stddef.h>
#include <sys/types.h>

#include "rpc.h"

#define HARNESS_PATH_MAX 256
#define HARNESS_TOKEN_MAX 128 /* a bearer token, or its identity "sha256:HEX" */

typedef struct {
    pid_t pid;
    char addr[64];                    /* "127.0.0.1:PORT", as valvd printed it */
    char data_dir[HARNESS_PATH_MAX];  /* a fresh temporary directory, removed by
                                         harness_cleanup */
    char log_path[HARNESS_PATH_MAX + 8]; /* valvd's stderr when harness_start_principals
                                            started it ("DATA_DIR.log"), else "" */
    char principals_path[HARNESS_PATH_MAX + 16]; /* the principals file
                                                    harness_start_principals wrote
                                                    ("DATA_DIR.principals.json"), else "" */
} harness_server;

/* One principal of a principals file (harness_write_principals), with one
 * role and the identities given. The strings are borrowed. */
typedef struct {
    const char *id;
    const char *role;   /* "reader", "owner", "security_chief", ... */
    const char *unit;   /* the unit an owner owns, or NULL */
    const char *source; /* the source an importer imports into, or NULL */
    const char *cert;   /* known by the client certificate harness_make_certs
                           made for this client (CERT.clients.valv.test), or NULL */
    const char *token;  /* known by this token identity ("sha256:HEX" from
                           harness_token_new), or NULL */
    char *new_token;    /* when not NULL: known by a new bearer token, which
                           harness_write_principals makes and writes here
                           (HARNESS_TOKEN_MAX bytes) for the caller to call with */
} harness_principal;

/* Writes the principals file path (replacing it): {"principals": [...]}
 * with the n principals given, for harness_start_principals, or for valvd to
 * reload on SIGHUP. Makes the new tokens first, so that a failure leaves
 * the file as it was. Returns 0, or -1 with a message on stderr. */
int harness_write_principals(const char *path, const harness_principal *principals, size_t n);

/* Starts `$VALVD --dev --listen 127.0.0.1:0 --data-dir TMP EXTRA...` and
 * waits (up to 10 s) for its first stdout line "listening on ADDR".
 * extra_args is NULL-terminated, may be NULL. Returns 0 or -1 (with a
 * message on stderr). If data_dir is already set (non-empty) it is reused
 * (restart on the same data). */
int harness_start(harness_server *srv, const char *const *extra_args);

/* Writes the n principals (see harness_write_principals) to
 * srv->principals_path and starts valvd as harness_start does, but serving
 * TLS with mutual TLS and those principals instead of --dev:
 *   $VALVD --listen 127.0.0.1:0 --data-dir TMP --tls-cert CERTS/server.crt
 *          --tls-key CERTS/server.key --client-ca CERTS/ca.crt
 *          --principals PRINCIPALS_PATH EXTRA...
 * certs_dir is one harness_make_certs made. valvd's stderr goes to
 * srv->log_path (read it with harness_read_log). To change them, rewrite that file with harness_write_principals
 * and send valvd SIGHUP. harness_cleanup removes the file. */
int harness_start_principals(harness_server *srv, const char *certs_dir,
                             const harness_principal *principals, size_t n,
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

/* The whole content of the file at path, malloc'd and NUL-terminated (the
 * caller frees). NULL when it cannot be read, errno saying why. */
char *harness_read_file(const char *path);

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

/* Connects the gRPC client to srv: in plaintext when certs_dir is NULL (a
 * --dev valvd), else over TLS that trusts CERTS_DIR/ca.crt (made by
 * harness_make_certs), calling with the bearer token when token is not
 * NULL. *conn is the caller's (rpc_close). Returns VALV_OK or the error,
 * with err filled; it does not assert, so client threads may call it. */
int harness_connect(const harness_server *srv, const char *certs_dir, const char *token,
                    rpc_conn **conn, valv_error *err);

/* The global flags that make valv call valvd over TLS as someone
 * (harness_as_...). The paths are copied into the struct and argv points
 * at them: fill the struct where it is used, do not copy it. */
typedef struct {
    char ca[HARNESS_PATH_MAX + 32];
    char cert[HARNESS_PATH_MAX + 32];
    char key[HARNESS_PATH_MAX + 32];
    const char *argv[8]; /* NULL-terminated: the flags, for harness_run_valv's prefix */
} harness_identity;

/* TLS that trusts CA_DIR/ca.crt, and no identity: `--tls-ca CA`. */
void harness_as_nobody(harness_identity *id, const char *ca_dir);

/* The client certificate CERT_DIR/CLIENT.crt and its key, over TLS that
 * trusts CA_DIR/ca.crt: `--tls-ca CA --cert CRT --key KEY`. cert_dir is
 * ca_dir but for a certificate from another CA. */
void harness_as_client(harness_identity *id, const char *ca_dir, const char *cert_dir,
                       const char *client);

/* The bearer token on the first line of token_file (borrowed), over TLS
 * that trusts CA_DIR/ca.crt: `--tls-ca CA --token-file FILE`. */
void harness_as_token_file(harness_identity *id, const char *ca_dir, const char *token_file);

/* Removes dir and everything in it. */
void harness_remove_dir(const char *dir);

/* Sends SIGTERM, waits (up to 10 s, then SIGKILL) and returns valvd's exit
 * status (0 for a clean exit), -1 if it had to be killed. Keeps data_dir. */
int harness_stop(harness_server *srv);

/* Sends SIGKILL (a crash: nothing is flushed or drained) and waits for
 * valvd to be gone. Keeps data_dir. Returns 0, or -1 if no valvd runs. */
int harness_kill(harness_server *srv);

/* Removes srv->data_dir and everything in it, the log file and the
 * principals file. */
void harness_cleanup(harness_server *srv);

/* Runs argv (argv[0] found via PATH or as a path) with stdin_text (NULL: no
 * input) and the environment plus VALV_ADDR=srv->addr when srv is non-NULL.
 * *out and *err_out (either may be NULL) receive malloc'd NUL-terminated
 * stdout and stderr. Returns the exit code, or -1 if it could not run. */
int harness_run(const harness_server *srv, const char *const argv[], const char *stdin_text,
                char **out, char **err_out);

/* Runs `$VALV PREFIX... ARG...` as harness_run does (against srv, with
 * stdin_text, *out and *err_out malloc'd for the caller to free): prefix
 * is valv's global flags, NULL-terminated, may be NULL (a
 * harness_identity's argv); the arguments run from arg up to a NULL. */
int harness_run_valv(const harness_server *srv, const char *const *prefix, const char *stdin_text,
                     char **out, char **err_out, const char *arg, ...);

/* harness_run_valv with the arguments from arg on in ap, for a test's own
 * variadic wrapper. */
int harness_run_valv_va(const harness_server *srv, const char *const *prefix,
                        const char *stdin_text, char **out, char **err_out, const char *arg,
                        va_list ap);

/* Runs `$VALVD verify --data-dir DATA_DIR` (valvd must not be running on
 * it) as harness_run does: *out and *err_out (either may be NULL) receive
 * what it printed, malloc'd for the caller to free. Returns its exit code,
 * 0 when the store is intact, or -1 if it could not run. */
int harness_verify(const char *data_dir, char **out, char **err_out);

/* The path of valv / valvd to run. */
const char *harness_valv(void);
const char *harness_valvd(void);

#endif
