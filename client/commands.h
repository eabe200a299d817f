/* commands.h - the valv commands and what they share.
 *
 * A command is a function that gets the session and its own part of the
 * command line (argv[0] is the command's word: "create", "health") and
 * returns valv's exit status (ARGS_EXIT_*). Groups of commands ("valv",
 * "valv asset") dispatch to their subcommands with cmd_run_group.
 */
#ifndef VALV_COMMANDS_H
#define VALV_COMMANDS_H

#include <protobuf-c/protobuf-c.h>

#include "args.h"
#include "output.h"
#include "rpc.h"
#include "valv/v1/asset.pb-c.h"

typedef struct {
    args_globals globals;
    rpc_conn *conn; /* opened by the first cmd_call; closed by main */
} cmd_session;

typedef int (*cmd_fn)(cmd_session *s, int argc, char **argv);

typedef struct {
    const char *name; /* NULL ends a table */
    cmd_fn run;
} cmd_entry;

/* Parses group's own options (the global ones), then runs the entry named
 * by the first operand with the rest of the line. */
int cmd_run_group(cmd_session *s, const args_command *group, const cmd_entry *entries, int argc,
                  char **argv);

/* Calls a unary method on valvd (connecting on first use) with the
 * session's timeout. On failure prints the error ("valv: NOT_FOUND: ...",
 * field violations below) and returns ARGS_EXIT_FAILED; on success
 * *resp_out is the reply, which the caller frees with
 * protobuf_c_message_free_unpacked. */
int cmd_call(cmd_session *s, const char *method, const ProtobufCMessage *req,
             const ProtobufCMessageDescriptor *resp_desc, ProtobufCMessage **resp_out);

/* Print in the session's format; return ARGS_EXIT_OK, or ARGS_EXIT_FAILED
 * after saying why the output could not be written. */
int cmd_print_asset(const cmd_session *s, const Valv__V1__Asset *asset);
int cmd_print_asset_list(const cmd_session *s, Valv__V1__Asset *const *assets, size_t n_assets);
int cmd_print_value(const cmd_session *s, const char *name, const char *value);

/* The command groups and commands. */
int cmd_asset(cmd_session *s, int argc, char **argv);  /* asset_cmd.c */
int cmd_health(cmd_session *s, int argc, char **argv); /* health_cmd.c */

#endif
