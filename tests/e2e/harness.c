/* harness.c - start a real valvd, reach it and run commands against it (see harness.h). */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define START_TIMEOUT_MS 10000
#define STOP_TIMEOUT_MS 10000
#define LISTEN_PREFIX "listening on "
#define FIRST_LINE_MAX 256
#define ARGV_MAX 64
/* Servers alive at once (tests that restart or run two servers). */
#define SERVERS_MAX 16

extern char **environ;

/* valvd's stdout pipe stays open while it runs, so that valvd never gets
 * SIGPIPE should it print more; harness_server has no room for the fd, so
 * it lives here, by pid. */
static struct {
    pid_t pid;
    int stdout_fd;
} servers[SERVERS_MAX];

static void remember_stdout(pid_t pid, int fd)
{
    for (int i = 0; i < SERVERS_MAX; i++) {
        if (servers[i].pid == 0) {
            servers[i].pid = pid;
            servers[i].stdout_fd = fd;
            return;
        }
    }
    close(fd); /* out of slots: valvd prints only one line anyway */
}

static void forget_stdout(pid_t pid)
{
    for (int i = 0; i < SERVERS_MAX; i++) {
        if (servers[i].pid == pid) {
            close(servers[i].stdout_fd);
            servers[i].pid = 0;
        }
    }
}

const char *harness_valv(void)
{
    const char *path = getenv("VALV");
    return path != NULL && path[0] != '\0' ? path : "./valv";
}

const char *harness_valvd(void)
{
    const char *path = getenv("VALVD");
    return path != NULL && path[0] != '\0' ? path : "./valvd";
}

static const char *dev_certs_script(void)
{
    const char *path = getenv("VALV_DEV_CERTS");
    return path != NULL && path[0] != '\0' ? path : VALV_SOURCE_DIR "/deploy/dev-certs.sh";
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits up to timeout_ms (< 0: as long as it takes) for pid to exit.
 * Returns its exit code (128 + signal when a signal ended it), -2 on
 * timeout, -1 on error. */
static int wait_exit(pid_t pid, int timeout_ms)
{
    long long deadline = now_ms() + timeout_ms;
    for (;;) {
        int status;
        pid_t r = waitpid(pid, &status, timeout_ms < 0 ? 0 : WNOHANG);
        if (r == pid)
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        if (r < 0 && errno != EINTR)
            return -1;
        if (timeout_ms >= 0 && now_ms() >= deadline)
            return -2;
        struct timespec pause = {.tv_sec = 0, .tv_nsec = 10 * 1000 * 1000};
        nanosleep(&pause, NULL);
    }
}

/* Reads one line from fd into line (without the newline), waiting at most
 * timeout_ms in all. Returns 0, or -1 on timeout, EOF or error. */
static int read_first_line(int fd, char *line, size_t cap, int timeout_ms)
{
    long long deadline = now_ms() + timeout_ms;
    size_t len = 0;
    while (len + 1 < cap) {
        long long left = deadline - now_ms();
        if (left <= 0)
            return -1;
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int n = poll(&pfd, 1, (int)left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        /* One byte at a time, so nothing after the first line is taken. */
        ssize_t r = read(fd, line + len, 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        if (line[len] == '\n')
            break;
        len++;
    }
    line[len] = '\0';
    return 0;
}

/* Makes a fresh directory NAME-XXXXXX under $TMPDIR (else /tmp) into path. */
static int make_temp_dir(const char *name, char path[HARNESS_PATH_MAX])
{
    const char *tmp = getenv("TMPDIR");
    if (tmp == NULL || tmp[0] == '\0')
        tmp = "/tmp";
    snprintf(path, HARNESS_PATH_MAX, "%s/%s-XXXXXX", tmp, name);
    if (mkdtemp(path) == NULL) {
        fprintf(stderr, "harness: cannot create a directory in %s: %s\n", tmp, strerror(errno));
        path[0] = '\0';
        return -1;
    }
    return 0;
}

static int make_data_dir(harness_server *srv)
{
    return make_temp_dir("valv-e2e", srv->data_dir);
}

/* Starts `$VALVD MODE_ARGS... --listen 127.0.0.1:0 --data-dir DIR EXTRA...`
 * (without the --listen and --data-dir flags when !add_address: the
 * arguments say where) and waits for its "listening on" line. With
 * log_to_file valvd's stderr goes to srv->log_path, else to the test's
 * stderr, so that valvd's log shows up with failures. */
static int start_valvd(harness_server *srv, const char *const *mode_args,
                       const char *const *extra_args, bool log_to_file, bool add_address)
{
    const char *argv[ARGV_MAX];
    int n = 0;
    int pipe_fds[2] = {-1, -1};
    int log_fd = -1;
    char line[FIRST_LINE_MAX];
    int rc = -1;

    srv->pid = 0;
    srv->addr[0] = '\0';
    if (srv->data_dir[0] == '\0' && make_data_dir(srv) != 0)
        return -1;
    srv->log_path[0] = '\0';
    if (log_to_file) {
        snprintf(srv->log_path, sizeof srv->log_path, "%s.log", srv->data_dir);
        /* Appended to, so a restart on the same data keeps the earlier log. */
        log_fd = open(srv->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        if (log_fd < 0) {
            fprintf(stderr, "harness: cannot open %s: %s\n", srv->log_path, strerror(errno));
            goto done;
        }
    }

    argv[n++] = harness_valvd();
    for (int i = 0; mode_args[i] != NULL && n < ARGV_MAX - 1; i++)
        argv[n++] = mode_args[i];
    if (add_address) {
        argv[n++] = "--listen";
        argv[n++] = "127.0.0.1:0";
        argv[n++] = "--data-dir";
        argv[n++] = srv->data_dir;
    }
    for (int i = 0; extra_args != NULL && extra_args[i] != NULL && n < ARGV_MAX - 1; i++)
        argv[n++] = extra_args[i];
    argv[n] = NULL;

    if (pipe2(pipe_fds, O_CLOEXEC) != 0) {
        fprintf(stderr, "harness: pipe: %s\n", strerror(errno));
        goto done;
    }
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "harness: fork: %s\n", strerror(errno));
        goto done;
    }
    if (pid == 0) {
        /* A test that fails exits without harness_stop: take valvd along
         * rather than leave it running. */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent)
            _exit(127); /* the test died before prctl took effect */
        dup2(pipe_fds[1], STDOUT_FILENO);
        if (log_fd >= 0)
            dup2(log_fd, STDERR_FILENO);
        execvp(argv[0], (char *const *)argv);
        fprintf(stderr, "harness: cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(pipe_fds[1]);
    pipe_fds[1] = -1;

    if (read_first_line(pipe_fds[0], line, sizeof line, START_TIMEOUT_MS) != 0 ||
        strncmp(line, LISTEN_PREFIX, strlen(LISTEN_PREFIX)) != 0) {
        fprintf(stderr, "harness: %s did not print '" LISTEN_PREFIX "ADDR' within %d ms%s%s\n",
                argv[0], START_TIMEOUT_MS, log_fd >= 0 ? "; its log: " : "",
                log_fd >= 0 ? srv->log_path : "");
        kill(pid, SIGKILL);
        wait_exit(pid, STOP_TIMEOUT_MS);
        goto done;
    }
    snprintf(srv->addr, sizeof srv->addr, "%.*s", (int)sizeof srv->addr - 1, line + strlen(LISTEN_PREFIX));
    srv->pid = pid;
    remember_stdout(pid, pipe_fds[0]);
    pipe_fds[0] = -1;
    rc = 0;
done:
    if (log_fd >= 0)
        close(log_fd);
    for (int i = 0; i < 2; i++) {
        if (pipe_fds[i] >= 0)
            close(pipe_fds[i]);
    }
    return rc;
}

int harness_start(harness_server *srv, const char *const *extra_args)
{
    static const char *const dev_mode[] = {"--dev", NULL};
    return start_valvd(srv, dev_mode, extra_args, false, true);
}

/* harness_start_principals once the principals file is written. */
static int start_tls(harness_server *srv, const char *certs_dir, const char *principals_file,
                     const char *const *extra_args)
{
    char cert[HARNESS_PATH_MAX + 16], key[HARNESS_PATH_MAX + 16], ca[HARNESS_PATH_MAX + 16];
    snprintf(cert, sizeof cert, "%s/server.crt", certs_dir);
    snprintf(key, sizeof key, "%s/server.key", certs_dir);
    snprintf(ca, sizeof ca, "%s/ca.crt", certs_dir);
    const char *const tls_mode[] = {"--tls-cert", cert,  "--tls-key",    key,
                                    "--client-ca", ca,   "--principals", principals_file,
                                    NULL};
    return start_valvd(srv, tls_mode, extra_args, true, true);
}

int harness_start_principals(harness_server *srv, const char *certs_dir,
                             const harness_principal *principals, size_t n,
                             const char *const *extra_args)
{
    /* The file lives beside the data directory, as the log does. */
    if (srv->data_dir[0] == '\0' && make_data_dir(srv) != 0)
        return -1;
    snprintf(srv->principals_path, sizeof srv->principals_path, "%s.principals.json",
             srv->data_dir);
    if (harness_write_principals(srv->principals_path, principals, n) != 0)
        return -1;
    return start_tls(srv, certs_dir, srv->principals_path, extra_args);
}

int harness_start_config(harness_server *srv, const char *config_path,
                         const char *const *extra_args)
{
    const char *const config_mode[] = {"--config", config_path, NULL};
    return start_valvd(srv, config_mode, extra_args, true, false);
}

char *harness_read_file(const char *path)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return NULL;
    FILE *copy = open_memstream(&text, &len);
    bool ok = copy != NULL;
    if (ok) {
        char chunk[4096];
        size_t n;
        while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
            ok = ok && fwrite(chunk, 1, n, copy) == n;
        ok = fclose(copy) == 0 && ok;
    }
    int read_errno = ferror(f) ? errno : 0;
    fclose(f);
    if (ok && read_errno == 0)
        return text;
    free(text);
    errno = read_errno != 0 ? read_errno : ENOMEM;
    return NULL;
}

char *harness_read_log(const harness_server *srv)
{
    char *text = srv->log_path[0] != '\0' ? harness_read_file(srv->log_path) : NULL;
    /* No log file (yet): nothing logged. */
    return text != NULL ? text : strdup("");
}

int harness_read_stdout_line(const harness_server *srv, char *line, size_t cap)
{
    for (int i = 0; i < SERVERS_MAX; i++)
        if (servers[i].pid == srv->pid && srv->pid > 0)
            return read_first_line(servers[i].stdout_fd, line, cap, START_TIMEOUT_MS);
    return -1;
}

int harness_stop(harness_server *srv)
{
    if (srv->pid <= 0)
        return -1;
    kill(srv->pid, SIGTERM);
    int code = wait_exit(srv->pid, STOP_TIMEOUT_MS);
    if (code == -2) {
        fprintf(stderr, "harness: valvd (pid %d) did not stop within %d ms; killing it\n",
                (int)srv->pid, STOP_TIMEOUT_MS);
        kill(srv->pid, SIGKILL);
        wait_exit(srv->pid, STOP_TIMEOUT_MS);
        code = -1;
    }
    forget_stdout(srv->pid);
    srv->pid = 0;
    return code;
}

int harness_kill(harness_server *srv)
{
    if (srv->pid <= 0)
        return -1;
    kill(srv->pid, SIGKILL);
    /* SIGKILL cannot be caught: no timeout needed. */
    wait_exit(srv->pid, -1);
    forget_stdout(srv->pid);
    srv->pid = 0;
    return 0;
}

static int remove_entry(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
    (void)sb;
    (void)type;
    (void)ftw;
    return remove(path);
}

void harness_remove_dir(const char *dir)
{
    if (nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0)
        fprintf(stderr, "harness: cannot remove %s: %s\n", dir, strerror(errno));
}

/* Removes the file path names, if any, and forgets it. */
static void remove_file(char *path)
{
    if (path[0] != '\0' && remove(path) != 0 && errno != ENOENT)
        fprintf(stderr, "harness: cannot remove %s: %s\n", path, strerror(errno));
    path[0] = '\0';
}

void harness_cleanup(harness_server *srv)
{
    remove_file(srv->log_path);
    remove_file(srv->principals_path);
    if (srv->data_dir[0] == '\0')
        return;
    harness_remove_dir(srv->data_dir);
    srv->data_dir[0] = '\0';
}

/* ---- harness_run ----------------------------------------------------------- */

typedef struct {
    char *data;
    size_t len;
    size_t cap;
} buffer;

static int buffer_append(buffer *b, const char *data, size_t len)
{
    if (b->len + len + 1 > b->cap) {
        size_t cap = b->cap == 0 ? 4096 : b->cap;
        while (b->len + len + 1 > cap)
            cap *= 2;
        char *bigger = realloc(b->data, cap);
        if (bigger == NULL)
            return -1;
        b->data = bigger;
        b->cap = cap;
    }
    memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
    return 0;
}

/* The environment with VALV_ADDR=addr in place of any inherited one, made
 * before fork so that the child only has to exec. The strings are
 * borrowed except the returned array and *addr_entry, which the caller
 * frees. */
static char **environment_with_addr(const char *addr, char **addr_entry)
{
    size_t n = 0;
    while (environ[n] != NULL)
        n++;
    char **env = calloc(n + 2, sizeof *env);
    if (env == NULL || asprintf(addr_entry, "VALV_ADDR=%s", addr) < 0) {
        free(env);
        *addr_entry = NULL;
        return NULL;
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (strncmp(environ[i], "VALV_ADDR=", 10) != 0)
            env[k++] = environ[i];
    }
    env[k++] = *addr_entry;
    env[k] = NULL;
    return env;
}

/* Feeds stdin_text to in_fd and collects out_fd and err_fd until both
 * close, all at once, so that a child filling one pipe never waits on us.
 * Closes the three fds. Returns 0, or -1 when out of memory or poll fails. */
static int pump(int in_fd, const char *stdin_text, int out_fd, int err_fd, buffer *out,
                buffer *err)
{
    size_t in_len = stdin_text != NULL ? strlen(stdin_text) : 0;
    size_t in_done = 0;
    struct pollfd fds[3] = {
        {.fd = out_fd, .events = POLLIN},
        {.fd = err_fd, .events = POLLIN},
        {.fd = in_fd, .events = POLLOUT},
    };
    buffer *sinks[2] = {out, err};
    int rc = 0;
    if (in_done == in_len) {
        close(in_fd);
        fds[2].fd = -1;
    }
    while (rc == 0 && (fds[0].fd >= 0 || fds[1].fd >= 0)) {
        if (poll(fds, 3, -1) < 0) {
            if (errno != EINTR)
                rc = -1;
            continue;
        }
        for (int i = 0; i < 2; i++) {
            if (fds[i].fd < 0 || fds[i].revents == 0)
                continue;
            char chunk[4096];
            ssize_t r = read(fds[i].fd, chunk, sizeof chunk);
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0) {
                close(fds[i].fd);
                fds[i].fd = -1;
            } else if (buffer_append(sinks[i], chunk, (size_t)r) != 0) {
                rc = -1;
            }
        }
        if (fds[2].fd >= 0 && fds[2].revents != 0) {
            ssize_t w = write(fds[2].fd, stdin_text + in_done, in_len - in_done);
            if (w > 0)
                in_done += (size_t)w;
            /* Done, or the child stopped reading (EPIPE): close its stdin. */
            if (in_done == in_len || (w < 0 && errno != EINTR && errno != EAGAIN)) {
                close(fds[2].fd);
                fds[2].fd = -1;
            }
        }
    }
    for (int i = 0; i < 3; i++) {
        if (fds[i].fd >= 0)
            close(fds[i].fd);
    }
    return rc;
}

static void close_pipe(int fds[2])
{
    for (int i = 0; i < 2; i++) {
        if (fds[i] >= 0)
            close(fds[i]);
        fds[i] = -1;
    }
}

int harness_run(const harness_server *srv, const char *const argv[], const char *stdin_text,
                char **out, char **err_out)
{
    int in_pipe[2] = {-1, -1}, out_pipe[2] = {-1, -1}, err_pipe[2] = {-1, -1};
    int exec_pipe[2] = {-1, -1}; /* carries errno if exec fails */
    char **env = environ;
    char *addr_entry = NULL;
    buffer out_buf = {0}, err_buf = {0};
    int rc = -1;

    if (out != NULL)
        *out = NULL;
    if (err_out != NULL)
        *err_out = NULL;
    /* A child that exits without reading its input must not kill the test. */
    signal(SIGPIPE, SIG_IGN);

    if (srv != NULL && (env = environment_with_addr(srv->addr, &addr_entry)) == NULL)
        goto done;
    if (pipe2(in_pipe, O_CLOEXEC) != 0 || pipe2(out_pipe, O_CLOEXEC) != 0 ||
        pipe2(err_pipe, O_CLOEXEC) != 0 || pipe2(exec_pipe, O_CLOEXEC) != 0) {
        fprintf(stderr, "harness: pipe: %s\n", strerror(errno));
        goto done;
    }
    fcntl(in_pipe[1], F_SETFL, O_NONBLOCK);

    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "harness: fork: %s\n", strerror(errno));
        goto done;
    }
    if (pid == 0) {
        dup2(in_pipe[0], STDIN_FILENO);
        dup2(out_pipe[1], STDOUT_FILENO);
        dup2(err_pipe[1], STDERR_FILENO);
        execvpe(argv[0], (char *const *)argv, env);
        int e = errno;
        ssize_t ignored = write(exec_pipe[1], &e, sizeof e);
        (void)ignored;
        _exit(127);
    }
    close(in_pipe[0]);
    close(out_pipe[1]);
    close(err_pipe[1]);
    close(exec_pipe[1]);
    in_pipe[0] = out_pipe[1] = err_pipe[1] = exec_pipe[1] = -1;

    int pump_rc = pump(in_pipe[1], stdin_text, out_pipe[0], err_pipe[0], &out_buf, &err_buf);
    in_pipe[1] = out_pipe[0] = err_pipe[0] = -1; /* pump closed them */
    int exec_errno = 0;
    ssize_t got = read(exec_pipe[0], &exec_errno, sizeof exec_errno);
    if (pump_rc != 0)
        kill(pid, SIGKILL); /* we stopped reading: do not leave it blocked */
    int code = wait_exit(pid, -1);
    if (got == (ssize_t)sizeof exec_errno) {
        fprintf(stderr, "harness: cannot run %s: %s\n", argv[0], strerror(exec_errno));
        goto done;
    }
    if (pump_rc != 0)
        goto done;
    rc = code;
    if (out != NULL) {
        *out = out_buf.data != NULL ? out_buf.data : strdup("");
        out_buf.data = NULL;
    }
    if (err_out != NULL) {
        *err_out = err_buf.data != NULL ? err_buf.data : strdup("");
        err_buf.data = NULL;
    }
done:
    close_pipe(in_pipe);
    close_pipe(out_pipe);
    close_pipe(err_pipe);
    close_pipe(exec_pipe);
    free(out_buf.data);
    free(err_buf.data);
    if (env != environ)
        free(env);
    free(addr_entry);
    return rc;
}

int harness_run_valv_va(const harness_server *srv, const char *const *prefix,
                        const char *stdin_text, char **out, char **err_out, const char *arg,
                        va_list ap)
{
    const char *argv[ARGV_MAX];
    int n = 0;
    argv[n++] = harness_valv();
    for (int i = 0; prefix != NULL && prefix[i] != NULL && n < ARGV_MAX - 1; i++)
        argv[n++] = prefix[i];
    for (const char *a = arg; a != NULL && n < ARGV_MAX - 1; a = va_arg(ap, const char *))
        argv[n++] = a;
    argv[n] = NULL;
    return harness_run(srv, argv, stdin_text, out, err_out);
}

int harness_run_valv(const harness_server *srv, const char *const *prefix, const char *stdin_text,
                     char **out, char **err_out, const char *arg, ...)
{
    va_list ap;
    va_start(ap, arg);
    int code = harness_run_valv_va(srv, prefix, stdin_text, out, err_out, arg, ap);
    va_end(ap);
    return code;
}

int harness_verify(const char *data_dir, char **out, char **err_out)
{
    const char *const argv[] = {harness_valvd(), "verify", "--data-dir", data_dir, NULL};
    return harness_run(NULL, argv, NULL, out, err_out);
}

/* ---- TLS: certificates, tokens, principals, identities ------------------------- */

int harness_make_certs(const char *const *clients, char dir[HARNESS_PATH_MAX])
{
    const char *argv[ARGV_MAX];
    int n = 0;
    char *out = NULL, *err = NULL;

    if (make_temp_dir("valv-certs", dir) != 0)
        return -1;
    argv[n++] = dev_certs_script();
    argv[n++] = dir;
    for (int i = 0; clients != NULL && clients[i] != NULL && n < ARGV_MAX - 1; i++)
        argv[n++] = clients[i];
    argv[n] = NULL;
    int code = harness_run(NULL, argv, NULL, &out, &err);
    if (code != 0)
        fprintf(stderr, "harness: %s %s failed (exit %d): %s\n", argv[0], dir, code,
                err != NULL ? err : "");
    free(out);
    free(err);
    if (code != 0) {
        harness_remove_dir(dir);
        dir[0] = '\0';
        return -1;
    }
    return 0;
}

int harness_token_new(char *token, size_t token_cap, char *identity, size_t identity_cap)
{
    const char *const argv[] = {harness_valvd(), "token", "new", NULL};
    char *out = NULL;
    int rc = -1;

    int code = harness_run(NULL, argv, NULL, &out, NULL);
    if (code != 0 || out == NULL) {
        fprintf(stderr, "harness: %s token new failed (exit %d)\n", argv[0], code);
        goto done;
    }
    /* Line 1: the token. Line 2: {"token": "sha256:HEX"}. */
    size_t token_len = strcspn(out, "\n");
    const char *hash = strstr(out + token_len, "sha256:");
    size_t hash_len = hash != NULL ? strcspn(hash, "\"") : 0;
    if (token_len == 0 || token_len >= token_cap || hash == NULL || hash_len >= identity_cap) {
        fprintf(stderr, "harness: cannot read a token and its hash from: %s\n", out);
        goto done;
    }
    memcpy(token, out, token_len);
    token[token_len] = '\0';
    memcpy(identity, hash, hash_len);
    identity[hash_len] = '\0';
    rc = 0;
done:
    free(out);
    return rc;
}

int harness_write_principals(const char *path, const harness_principal *principals, size_t n)
{
    char(*identities)[HARNESS_TOKEN_MAX] = calloc(n > 0 ? n : 1, sizeof *identities);
    FILE *f = NULL;
    bool failed;
    int rc = -1;

    if (identities == NULL) {
        fprintf(stderr, "harness: out of memory\n");
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        if (principals[i].new_token != NULL &&
            harness_token_new(principals[i].new_token, HARNESS_TOKEN_MAX, identities[i],
                              HARNESS_TOKEN_MAX) != 0)
            goto done; /* harness_token_new said why */
    }
    f = fopen(path, "w");
    if (f == NULL) {
        fprintf(stderr, "harness: cannot write %s: %s\n", path, strerror(errno));
        goto done;
    }
    fprintf(f, "{\"principals\": [\n");
    for (size_t i = 0; i < n; i++) {
        const harness_principal *p = &principals[i];
        const char *token = p->new_token != NULL ? identities[i] : p->token;
        fprintf(f, "  {\"id\": \"%s\", \"roles\": [\"%s\"]", p->id, p->role);
        if (p->unit != NULL)
            fprintf(f, ", \"units\": [\"%s\"]", p->unit);
        if (p->source != NULL)
            fprintf(f, ", \"sources\": [\"%s\"]", p->source);
        fprintf(f, ", \"identities\": [");
        if (p->cert != NULL)
            fprintf(f, "{\"cert\": \"%s.clients.valv.test\"}%s", p->cert,
                    token != NULL ? ", " : "");
        if (token != NULL)
            fprintf(f, "{\"token\": \"%s\"}", token);
        fprintf(f, "]}%s\n", i + 1 < n ? "," : "");
    }
    fprintf(f, "]}\n");
    failed = ferror(f) != 0;
    failed |= fclose(f) != 0; /* flushes: a full disk shows here */
    f = NULL;
    if (failed) {
        fprintf(stderr, "harness: cannot write %s\n", path);
        goto done;
    }
    rc = 0;
done:
    if (f != NULL)
        fclose(f);
    free(identities);
    return rc;
}

int harness_connect(const harness_server *srv, const char *certs_dir, const char *token,
                    rpc_conn **conn, valv_error *err)
{
    char ca[HARNESS_PATH_MAX + 16];
    rpc_options options = {.addr = srv->addr, .token = token};
    if (certs_dir != NULL) {
        snprintf(ca, sizeof ca, "%s/ca.crt", certs_dir);
        options.tls_ca_file = ca;
    }
    *conn = NULL;
    valv_error_clear(err);
    return rpc_connect(&options, conn, err);
}

/* Appends `flag value` to id's flags. */
static void identity_add(harness_identity *id, const char *flag, const char *value)
{
    int n = 0;
    while (id->argv[n] != NULL)
        n++;
    id->argv[n++] = flag;
    id->argv[n++] = value;
    id->argv[n] = NULL;
}

void harness_as_nobody(harness_identity *id, const char *ca_dir)
{
    snprintf(id->ca, sizeof id->ca, "%s/ca.crt", ca_dir);
    id->cert[0] = '\0';
    id->key[0] = '\0';
    id->argv[0] = NULL;
    identity_add(id, "--tls-ca", id->ca);
}

void harness_as_client(harness_identity *id, const char *ca_dir, const char *cert_dir,
                       const char *client)
{
    harness_as_nobody(id, ca_dir);
    snprintf(id->cert, sizeof id->cert, "%s/%s.crt", cert_dir, client);
    snprintf(id->key, sizeof id->key, "%s/%s.key", cert_dir, client);
    identity_add(id, "--cert", id->cert);
    identity_add(id, "--key", id->key);
}

void harness_as_token_file(harness_identity *id, const char *ca_dir, const char *token_file)
{
    harness_as_nobody(id, ca_dir);
    identity_add(id, "--token-file", token_file);
}
