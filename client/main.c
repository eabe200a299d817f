/* main.c - valv, the command-line client of valvd.
 *
 * Parses the global options, runs the command, and holds what the commands
 * share: one connection per run, error reporting and output.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"

static const args_command valv_command = {
    .path = "valv",
    .has_subcommands = true,
    .usage =
        "Usage: valv [--addr HOST:PORT] [-o table|json|csv] [--timeout SECONDS] COMMAND ...\n"
        "\n"
        "valv talks to valvd, the Valv asset inventory.\n"
        "\n"
        "Commands:\n"
        "  asset    create, get, list, update, delete and undelete assets\n"
        "  health   check that valvd is serving\n"
        "\n" ARGS_GLOBAL_FLAGS_HELP
        "  --version            print valv's version\n"
        "\n"
        "Exit status: 0 success, 1 the call failed (the error is on stderr),\n"
        "2 the command line was wrong.\n"
        "\n"
        "Examples:\n"
        "  valv health\n"
        "  valv --addr 127.0.0.1:50051 asset list -o json --filter 'kind = IT_SYSTEM'\n"
        "\n"
        "Run 'valv COMMAND --help' for the flags of a command.\n",
};

static const cmd_entry valv_commands[] = {
    {"asset", cmd_asset},
    {"health", cmd_health},
    {NULL, NULL},
};

int cmd_run_group(cmd_session *s, const args_command *group, const cmd_entry *entries, int argc,
                  char **argv)
{
    static const struct option options[] = {ARGS_COMMON_OPTIONS, {0}};
    args_parser p = args_parser_init(group, &s->globals, argc, argv, options);
    int opt;
    while ((opt = args_next(&p)) != ARGS_END) {
        if (opt == ARGS_STOP)
            return p.exit_code;
    }
    if (optind >= argc)
        return args_usage_error(group, "missing COMMAND");
    const char *name = argv[optind];
    for (const cmd_entry *e = entries; e->name != NULL; e++) {
        if (strcmp(e->name, name) == 0)
            return e->run(s, argc - optind, argv + optind);
    }
    return args_usage_error(group, "unknown command '%s'", name);
}

int cmd_call(cmd_session *s, const char *method, const ProtobufCMessage *req,
             const ProtobufCMessageDescriptor *resp_desc, ProtobufCMessage **resp_out)
{
    valv_error err;
    valv_error_clear(&err);
    *resp_out = NULL;
    int rc = VALV_OK;
    if (s->conn == NULL)
        rc = rpc_connect(s->globals.addr, &s->conn, &err);
    if (rc == VALV_OK)
        rc = rpc_unary(s->conn, method, req, resp_desc, resp_out, s->globals.timeout_ms, &err);
    if (rc != VALV_OK) {
        output_error(stderr, &err);
        return ARGS_EXIT_FAILED;
    }
    return ARGS_EXIT_OK;
}

/* Turns an output function's result into an exit status. */
static int output_status(int output_rc)
{
    if (output_rc == 0 && fflush(stdout) == 0)
        return ARGS_EXIT_OK;
    fprintf(stderr, "valv: cannot write the output: %s\n", strerror(errno));
    return ARGS_EXIT_FAILED;
}

int cmd_print_asset(const cmd_session *s, const Valv__V1__Asset *asset)
{
    return output_status(output_asset(stdout, s->globals.format, asset));
}

int cmd_print_asset_list(const cmd_session *s, Valv__V1__Asset *const *assets, size_t n_assets)
{
    return output_status(output_asset_list(stdout, s->globals.format, assets, n_assets));
}

int cmd_print_value(const cmd_session *s, const char *name, const char *value)
{
    return output_status(output_value(stdout, s->globals.format, name, value));
}

int main(int argc, char **argv)
{
    cmd_session session = {.conn = NULL};
    args_globals_init(&session.globals);
    int rc = cmd_run_group(&session, &valv_command, valv_commands, argc, argv);
    rpc_close(session.conn);
    return rc;
}
