/* main.c - valv, the command-line client of valvd.
 *
 * Parses the global options, runs the command, and holds what the commands
 * share: one connection per run, error reporting and output.
 */
#include <errno.h>
#include <grpc/support/log.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "google/protobuf/field_mask.pb-c.h"
#include "valv/v1/inventory.pb-c.h"

static const args_command valv_command = {
    .path = "valv",
    .has_subcommands = true,
    .usage =
        "Usage: valv [--addr HOST:PORT] [-o table|json|csv] [--timeout SECONDS] COMMAND ...\n"
        "\n"
        "valv talks to valvd, the Valv asset inventory.\n"
        "\n"
        "Commands:\n"
        "  asset      create, get, list, update, delete and undelete assets\n"
        "  classify   set an asset's consequence levels (K R T S)\n"
        "  protect    set an asset's security protection (security class, ...)\n"
        "  explain    show where an asset's protection comes from\n"
        "  link       say that one asset processes, stores or hosts another\n"
        "  unlink     remove a link\n"
        "  links      list an asset's links\n"
        "  review     the security protection chief's review queue\n"
        "  audit      list and verify the audit log: who changed what, and when\n"
        "  watch      print changes as they happen\n"
        "  import     create and update assets from a CSV or JSON Lines file\n"
        "  export     write the inventory as a file that import reads back\n"
        "  report     the security picture per unit, as a table or an HTML page\n"
        "  health     check that valvd is serving\n"
        "  admin      server information and backups (admin role)\n"
        "\n" ARGS_GLOBAL_FLAGS_HELP
        "\n"
        "Exit status: 0 success, 1 the call failed (the error is on stderr),\n"
        "2 the command line was wrong.\n"
        "\n"
        "Examples:\n"
        "  valv health\n"
        "  valv classify personakter K3 R2 T2\n"
        "  valv --addr 127.0.0.1:50051 asset list -o json --filter 'kind = IT_SYSTEM'\n"
        "  valv --addr valv.example.se:8443 --tls-ca ca.crt --cert anna.crt --key anna.key \\\n"
        "       asset list\n"
        "  VALV_TLS_CA=ca.crt VALV_TOKEN_FILE=~/.config/valv/token valv asset list\n"
        "\n"
        "Run 'valv COMMAND --help' for the flags of a command.\n",
};

static const cmd_entry valv_commands[] = {
    {"asset", cmd_asset},
    {"classify", cmd_classify},
    {"protect", cmd_protect},
    {"explain", cmd_explain},
    {"link", cmd_link},
    {"unlink", cmd_unlink},
    {"links", cmd_links},
    {"review", cmd_review},
    {"health", cmd_health},
    {"audit", cmd_audit},
    {"watch", cmd_watch},
    {"import", cmd_import},
    {"export", cmd_export},
    {"report", cmd_report},
    {"admin", cmd_admin},
    {NULL, NULL},
};

int cmd_run_group(cmd_session *s, const args_command *group, const cmd_entry *entries, int argc,
                  char **argv)
{
    args_parser p;
    if (args_parse_common(group, &s->globals, argc, argv, 1, -1, "COMMAND", &p) == ARGS_STOP)
        return p.exit_code;
    const char *name = argv[optind];
    for (const cmd_entry *e = entries; e->name != NULL; e++) {
        if (strcmp(e->name, name) == 0)
            return e->run(s, argc - optind, argv + optind);
    }
    return args_usage_error(group, "unknown command '%s'", name);
}

/* Longer than any token `valvd token new` makes, with room for a newline. */
#define TOKEN_LINE_MAX 512

/* Reads the bearer token on the first line of path into line. */
static int read_token_file(const char *path, char line[TOKEN_LINE_MAX], valv_error *err)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return valv_error_set(err, VALV_EINVAL, "cannot read the token file %s: %s", path,
                              strerror(errno));
    bool got = fgets(line, TOKEN_LINE_MAX, f) != NULL;
    fclose(f);
    /* Editors and `echo` end the line; the token is what comes before. */
    if (got)
        line[strcspn(line, " \t\r\n")] = '\0';
    if (!got || line[0] == '\0')
        return valv_error_set(err, VALV_EINVAL,
                              "the token file %s has no token on its first line; put there the "
                              "first line 'valvd token new' printed",
                              path);
    return VALV_OK;
}

int cmd_connect(cmd_session *s, valv_error *err)
{
    char token_line[TOKEN_LINE_MAX];
    const args_globals *g = &s->globals;
    if (s->conn != NULL)
        return VALV_OK;
    rpc_options options = {
        .addr = g->addr,
        .tls = g->tls,
        .tls_ca_file = g->tls_ca,
        .cert_file = g->cert,
        .key_file = g->key,
        .token = g->token,
    };
    int rc = VALV_OK;
    if (g->token_file != NULL) {
        rc = read_token_file(g->token_file, token_line, err);
        options.token = token_line;
    }
    if (rc == VALV_OK)
        rc = rpc_connect(&options, &s->conn, err);
    explicit_bzero(token_line, sizeof token_line);
    return rc;
}

int cmd_call(cmd_session *s, const char *method, const ProtobufCMessage *req,
             const ProtobufCMessageDescriptor *resp_desc, ProtobufCMessage **resp_out)
{
    valv_error err;
    valv_error_clear(&err);
    *resp_out = NULL;
    int rc = cmd_connect(s, &err);
    if (rc == VALV_OK)
        rc = rpc_unary(s->conn, method, req, resp_desc, resp_out, s->globals.timeout_ms, &err);
    if (rc != VALV_OK) {
        output_error(stderr, &err);
        return ARGS_EXIT_FAILED;
    }
    return ARGS_EXIT_OK;
}

/* ---- Following a stream until the user stops it ---------------------------- */

/* Shared by the stream's thread and the thread that waits for SIGINT and
 * SIGTERM. gRPC calls are not safe in a signal handler, so a thread of
 * its own takes the signals with sigwait and cancels the stream from
 * there, which gRPC allows from any thread. */
typedef struct {
    pthread_mutex_t lock;
    rpc_stream *stream; /* open and not yet being closed; else NULL */
    bool interrupted;   /* the user sent SIGINT or SIGTERM */
    bool finished;      /* the stream is over: a signal now just ends the thread */
} stream_guard;

static void stop_signals(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGTERM);
}

static void *guard_signals(void *arg)
{
    stream_guard *g = arg;
    sigset_t set;
    int sig;
    stop_signals(&set);
    sigwait(&set, &sig);
    pthread_mutex_lock(&g->lock);
    if (!g->finished) {
        g->interrupted = true;
        if (g->stream != NULL)
            rpc_stream_cancel(g->stream);
    }
    pthread_mutex_unlock(&g->lock);
    return NULL;
}

/* Sets the stream the guard cancels (NULL: none). Returns whether the user
 * has asked to stop already. */
static bool guard_set_stream(stream_guard *g, rpc_stream *stream)
{
    pthread_mutex_lock(&g->lock);
    g->stream = stream;
    bool interrupted = g->interrupted;
    if (interrupted && stream != NULL)
        rpc_stream_cancel(stream);
    pthread_mutex_unlock(&g->lock);
    return interrupted;
}

/* Reads the stream to its end, handing each message to on_message. */
static int read_stream(cmd_session *s, rpc_stream *stream, const ProtobufCMessageDescriptor *desc,
                       cmd_message_fn on_message, void *arg, valv_error *err)
{
    int rc = ARGS_EXIT_OK;
    ProtobufCMessage *message = NULL;
    while (rc == ARGS_EXIT_OK && rpc_stream_next(stream, desc, &message, err) == VALV_OK &&
           message != NULL) {
        rc = on_message(s, message, arg);
        protobuf_c_message_free_unpacked(message, NULL);
    }
    return rc;
}

int cmd_read_stream(cmd_session *s, const char *method, const ProtobufCMessage *req,
                    const ProtobufCMessageDescriptor *desc, cmd_take_fn take, void *arg,
                    valv_error *err)
{
    rpc_stream *stream = NULL;
    int rc = cmd_connect(s, err);
    if (rc == VALV_OK)
        rc = rpc_stream_open(s->conn, method, req, s->globals.timeout_ms, &stream, err);
    while (rc == VALV_OK) {
        ProtobufCMessage *message = NULL;
        rc = rpc_stream_next(stream, desc, &message, err);
        if (rc != VALV_OK || message == NULL)
            break;
        rc = take(arg, message, err);
        protobuf_c_message_free_unpacked(message, NULL);
    }
    rpc_stream_close(stream);
    return rc;
}

int cmd_follow_stream(cmd_session *s, const char *method, const ProtobufCMessage *req,
                      const ProtobufCMessageDescriptor *desc, cmd_message_fn on_message,
                      void *arg, valv_code *end_code)
{
    stream_guard guard = {.lock = PTHREAD_MUTEX_INITIALIZER};
    rpc_stream *stream = NULL;
    pthread_t guard_thread;
    sigset_t set;
    valv_error err;
    int rc = ARGS_EXIT_OK;

    valv_error_clear(&err);
    if (end_code != NULL)
        *end_code = VALV_OK;
    /* Blocked before gRPC starts its threads, which inherit the mask, so
     * that only sigwait sees these signals. */
    stop_signals(&set);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    if (pthread_create(&guard_thread, NULL, guard_signals, &guard) != 0) {
        fputs("valv: cannot start a thread to watch for Ctrl-C\n", stderr);
        return ARGS_EXIT_FAILED;
    }

    cmd_connect(s, &err);
    if (err.code == VALV_OK)
        rpc_stream_open(s->conn, method, req, s->globals.timeout_ms, &stream, &err);
    if (err.code == VALV_OK) {
        guard_set_stream(&guard, stream);
        rc = read_stream(s, stream, desc, on_message, arg, &err);
    }
    bool interrupted = guard_set_stream(&guard, NULL);
    rpc_stream_close(stream);

    /* The guard thread still waits unless a signal came: end it with one. */
    pthread_mutex_lock(&guard.lock);
    guard.finished = true;
    pthread_mutex_unlock(&guard.lock);
    pthread_kill(guard_thread, SIGTERM);
    pthread_join(guard_thread, NULL);
    pthread_mutex_destroy(&guard.lock);

    bool asked_to_end = (interrupted && err.code == VALV_ECANCELLED) ||
                        (s->globals.timeout_ms > 0 && err.code == VALV_EDEADLINE);
    if (rc == ARGS_EXIT_OK && err.code != VALV_OK && !asked_to_end) {
        output_error(stderr, &err);
        if (end_code != NULL)
            *end_code = err.code;
        rc = ARGS_EXIT_FAILED;
    }
    return rc;
}

int cmd_call_asset(cmd_session *s, const char *method, const ProtobufCMessage *req)
{
    Valv__V1__Asset *asset = NULL;
    int rc = cmd_call(s, method, req, &valv__v1__asset__descriptor, (ProtobufCMessage **)&asset);
    if (rc == ARGS_EXIT_OK)
        rc = cmd_print_asset(s, asset);
    if (asset != NULL)
        valv__v1__asset__free_unpacked(asset, NULL);
    return rc;
}

void cmd_asset_patch_free(cmd_asset_patch *patch)
{
    args_list_free_items(&patch->paths);
    free(patch->name);
    patch->name = NULL;
}

int cmd_update_asset(cmd_session *s, const args_parser *p, cmd_asset_patch *patch,
                     const char *nothing_to_change)
{
    if (patch->paths.n == 0)
        return args_usage_error(p->command, "%s", nothing_to_change);
    int rc = args_asset_operand(p, 0, &patch->name);
    if (rc != ARGS_EXIT_OK)
        return rc;
    Valv__V1__UpdateAssetRequest req = VALV__V1__UPDATE_ASSET_REQUEST__INIT;
    Google__Protobuf__FieldMask mask = GOOGLE__PROTOBUF__FIELD_MASK__INIT;
    mask.n_paths = patch->paths.n;
    mask.paths = patch->paths.items;
    patch->asset.name = patch->name;
    patch->asset.etag = patch->write.etag;
    req.asset = &patch->asset;
    req.update_mask = &mask;
    req.request_id = patch->write.request_id;
    return cmd_call_asset(s, "/valv.v1.Inventory/UpdateAsset", &req.base);
}

/* The field of a List reply that holds its items: its one repeated message
 * field. */
static const ProtobufCFieldDescriptor *items_field(const ProtobufCMessageDescriptor *d)
{
    for (unsigned i = 0; i < d->n_fields; i++) {
        if (d->fields[i].label == PROTOBUF_C_LABEL_REPEATED &&
            d->fields[i].type == PROTOBUF_C_TYPE_MESSAGE)
            return &d->fields[i];
    }
    return NULL;
}

/* Keeps page in pages and appends its items. Frees page when it cannot. */
static int pages_add(cmd_pages *pages, ProtobufCMessage *page)
{
    const ProtobufCMessageDescriptor *d = page->descriptor;
    const ProtobufCFieldDescriptor *items = items_field(d);
    const ProtobufCFieldDescriptor *token =
        protobuf_c_message_descriptor_get_field_by_name(d, "next_page_token");
    /* protobuf-c lays out a repeated message field as a count and an array
     * of pointers to the messages, which is how its own code reads them. */
    size_t n = *(const size_t *)((const char *)page + items->quantifier_offset);
    ProtobufCMessage *const *array = *(ProtobufCMessage *const *const *)((const char *)page +
                                                                        items->offset);
    ProtobufCMessage **all_pages = realloc(pages->pages, (pages->n_pages + 1) * sizeof *all_pages);
    if (all_pages != NULL)
        pages->pages = all_pages;
    ProtobufCMessage **all_items =
        realloc(pages->items, (pages->n_items + n + 1) * sizeof *all_items);
    if (all_items != NULL)
        pages->items = all_items;
    if (all_pages == NULL || all_items == NULL) {
        protobuf_c_message_free_unpacked(page, NULL);
        fputs("valv: out of memory\n", stderr);
        return ARGS_EXIT_FAILED;
    }
    pages->pages[pages->n_pages++] = page;
    for (size_t i = 0; i < n; i++)
        pages->items[pages->n_items++] = array[i];
    pages->next_page_token = *(char *const *)((const char *)page + token->offset);
    return ARGS_EXIT_OK;
}

int cmd_list_pages(cmd_session *s, const char *method, const ProtobufCMessage *req,
                   char **page_token, const ProtobufCMessageDescriptor *resp_desc, bool all,
                   cmd_pages *out)
{
    int rc;
    *out = (cmd_pages){.next_page_token = ""};
    do {
        ProtobufCMessage *page = NULL;
        rc = cmd_call(s, method, req, resp_desc, &page);
        if (rc == ARGS_EXIT_OK)
            rc = pages_add(out, page);
        /* The next call asks for the page after this one; the token
         * lives in the reply, which out keeps. */
        *page_token = (char *)out->next_page_token;
    } while (rc == ARGS_EXIT_OK && all && out->next_page_token[0] != '\0');
    return rc;
}

void cmd_pages_free(cmd_pages *pages)
{
    for (size_t i = 0; i < pages->n_pages; i++)
        protobuf_c_message_free_unpacked(pages->pages[i], NULL);
    free(pages->pages);
    free(pages->items);
    *pages = (cmd_pages){.next_page_token = ""};
}

/* Prints " WORD", quoted for a POSIX shell when needed. */
static void print_shell_word(FILE *out, const char *word)
{
    fputc(' ', out);
    if (word[0] != '\0' && strspn(word, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                        "0123456789_-+=/.,:@%") == strlen(word)) {
        fputs(word, out);
        return;
    }
    fputc('\'', out);
    for (const char *c = word; *c != '\0'; c++) {
        if (*c == '\'')
            fputs("'\\''", out);
        else
            fputc(*c, out);
    }
    fputc('\'', out);
}

void cmd_print_next_page_hint(const char *command, const char *const *words, size_t n_words,
                              const char *token)
{
    fprintf(stderr, "next page: %s", command);
    for (size_t i = 0; i < n_words; i++)
        print_shell_word(stderr, words[i]);
    fputs(" --page-token", stderr);
    print_shell_word(stderr, token);
    fputc('\n', stderr);
}

int cmd_output_status(FILE *out, int output_rc)
{
    if (output_rc == 0 && fflush(out) == 0)
        return ARGS_EXIT_OK;
    fprintf(stderr, "valv: cannot write the output: %s\n", strerror(errno));
    return ARGS_EXIT_FAILED;
}

int cmd_print_asset(const cmd_session *s, const Valv__V1__Asset *asset)
{
    return cmd_output_status(stdout, output_asset(stdout, s->globals.format, asset));
}

int cmd_print_asset_list(const cmd_session *s, Valv__V1__Asset *const *assets, size_t n_assets)
{
    return cmd_output_status(stdout,
                             output_asset_list(stdout, s->globals.format, assets, n_assets));
}

int cmd_print_value(const cmd_session *s, const char *name, const char *value)
{
    return cmd_output_status(stdout, output_value(stdout, s->globals.format, name, value));
}

int cmd_print_link_list(const cmd_session *s, Valv__V1__Link *const *links, size_t n_links)
{
    return cmd_output_status(stdout, output_link_list(stdout, s->globals.format, links, n_links));
}

int cmd_print_explanation(const cmd_session *s, const Valv__V1__Asset *asset)
{
    return cmd_output_status(stdout, output_explanation(stdout, s->globals.format, asset));
}

/* gRPC logs a failed TLS handshake on stderr in its own words; valv's
 * error message repeats them and says what to do, so gRPC's lines show only
 * when asked for with GRPC_VERBOSITY. */
static void discard_grpc_log(gpr_log_func_args *args)
{
    (void)args;
}

int main(int argc, char **argv)
{
    cmd_session session = {.conn = NULL};
    if (getenv("GRPC_VERBOSITY") == NULL)
        gpr_set_log_function(discard_grpc_log);
    args_globals_init(&session.globals);
    int rc = cmd_run_group(&session, &valv_command, valv_commands, argc, argv);
    rpc_close(session.conn);
    return rc;
}
