/* harness.h - start a real valvd for end-to-end tests.
 *
 * The binaries come from the environment: $VALVD and $VALV (set by ctest),
 * falling back to ./valvd and ./valv.
 */
#ifndef VALV_HARNESS_H
#define VALV_HARNESS_H

#include <sys/types.h>

typedef struct {
    pid_t pid;
    char addr[64];      /* "127.0.0.1:PORT", as valvd printed it */
    char data_dir[256]; /* a fresh temporary directory, removed by harness_stop */
} harness_server;

/* Starts `$VALVD --dev --listen 127.0.0.1:0 --data-dir TMP EXTRA...` and
 * waits (up to 10 s) for its first stdout line "listening on ADDR".
 * extra_args is NULL-terminated, may be NULL. Returns 0 or -1 (with a
 * message on stderr). If data_dir is already set (non-empty) it is reused
 * (restart on the same data). */
int harness_start(harness_server *srv, const char *const *extra_args);

/* Sends SIGTERM, waits (up to 10 s, then SIGKILL) and returns valvd's exit
 * status (0 for a clean exit), -1 if it had to be killed. Keeps data_dir. */
int harness_stop(harness_server *srv);

/* Removes srv->data_dir and everything in it. */
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
