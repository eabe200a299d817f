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

/* Connects to valvd unless the session is connected already. */
int cmd_connect(cmd_session *s, valv_error *err);

/* Calls a unary method on valvd (connecting on first use) with the
 * session's timeout. On failure prints the error ("valv: NOT_FOUND: ...",
 * field violations below) and returns ARGS_EXIT_FAILED; on success
 * *resp_out is the reply, which the caller frees with
 * protobuf_c_message_free_unpacked. */
int cmd_call(cmd_session *s, const char *method, const ProtobufCMessage *req,
             const ProtobufCMessageDescriptor *resp_desc, ProtobufCMessage **resp_out);

/* Calls a method whose reply is an Asset and prints the asset. */
int cmd_call_asset(cmd_session *s, const char *method, const ProtobufCMessage *req);

/* The change a command that updates an asset (valv asset update, classify,
 * protect) gathers from its flags for cmd_update_asset. Start from
 * CMD_ASSET_PATCH_INIT; free with cmd_asset_patch_free. */
typedef struct {
    Valv__V1__Asset asset; /* the values to set; cmd_update_asset sets name and etag */
    args_list paths;       /* the update mask: the fields given (malloc'd strings) */
    args_write write;      /* --etag, --request-id */
    char *name;            /* the asset's resource name (malloc'd), once known */
} cmd_asset_patch;

#define CMD_ASSET_PATCH_INIT \
    {.asset = VALV__V1__ASSET__INIT, .paths = {0}, .write = ARGS_WRITE_INIT, .name = NULL}

void cmd_asset_patch_free(cmd_asset_patch *patch);

/* Sends UpdateAsset for the asset named by the first operand of p, with
 * patch's values, mask and write flags, and prints the updated asset. An
 * empty mask is the user's mistake: a usage error saying nothing_to_change. */
int cmd_update_asset(cmd_session *s, const args_parser *p, cmd_asset_patch *patch,
                     const char *nothing_to_change);

/* Called with each message of a stream (borrowed). Returns ARGS_EXIT_OK to
 * go on, any other exit status to stop the stream and return that status. */
typedef int (*cmd_message_fn)(const cmd_session *s, const ProtobufCMessage *message, void *arg);

/* Calls a server-streaming method and hands each message, unpacked with
 * desc, to on_message as it arrives, until the stream ends. The session's
 * --timeout, when given, is how long to follow the stream; without it the
 * stream runs until the server ends it.
 *
 * SIGINT and SIGTERM cancel the stream and end it as a success: the user
 * asked to stop. For this they are blocked in every thread, gRPC's
 * included, so this must run before the session's first call (which starts
 * gRPC), and they stay blocked until valv exits.
 *
 * Returns ARGS_EXIT_OK when the stream ended cleanly, the user stopped it,
 * or --timeout ran out; on_message's status when it stopped the stream; or
 * ARGS_EXIT_FAILED after printing the error the stream ended with, whose
 * code is then in *end_code (may be NULL; VALV_OK otherwise). */
int cmd_follow_stream(cmd_session *s, const char *method, const ProtobufCMessage *req,
                      const ProtobufCMessageDescriptor *desc, cmd_message_fn on_message,
                      void *arg, valv_code *end_code);

/* Called with each message of a stream read by cmd_read_stream (borrowed;
 * freed once this returns). Returns VALV_OK to go on, or an error code with
 * err filled to stop the stream. */
typedef int (*cmd_take_fn)(void *arg, const ProtobufCMessage *message, valv_error *err);

/* Connects (on first use), calls the server-streaming method with req and
 * hands each message, unpacked with desc, to take until the stream ends.
 * Returns VALV_OK, or the error that ended it, take's or the call's, with
 * err filled. For streams read to their end (export, backup); a stream
 * the user follows until Ctrl-C is cmd_follow_stream's. */
int cmd_read_stream(cmd_session *s, const char *method, const ProtobufCMessage *req,
                    const ProtobufCMessageDescriptor *desc, cmd_take_fn take, void *arg,
                    valv_error *err);

/* The replies of a List method, kept whole because the items point into
 * them. Every List reply of the API has one repeated field of items
 * (assets, links) and next_page_token. */
typedef struct {
    ProtobufCMessage **pages;
    size_t n_pages;
    ProtobufCMessage **items;    /* every page's items in order; borrowed from pages */
    size_t n_items;
    const char *next_page_token; /* the last page's; "" when it was the last */
} cmd_pages;

/* Calls method with req, and again with each next page token for as long as
 * all is true and there are more pages. page_token points at req's
 * page_token field, which this sets for each call. Returns ARGS_EXIT_OK or
 * ARGS_EXIT_FAILED (the error printed); either way the caller frees *out
 * with cmd_pages_free. */
int cmd_list_pages(cmd_session *s, const char *method, const ProtobufCMessage *req,
                   char **page_token, const ProtobufCMessageDescriptor *resp_desc, bool all,
                   cmd_pages *out);
void cmd_pages_free(cmd_pages *pages);

/* Tells the user on stderr how to get the next page:
 * "next page: COMMAND WORD... --page-token TOKEN", each word quoted for a
 * POSIX shell when it needs to be. */
void cmd_print_next_page_hint(const char *command, const char *const *words, size_t n_words,
                              const char *token);

/* Turns what an output function returned (0, or -1 when a write failed)
 * into an exit status: flushes out, so that a failed write shows now, and
 * on failure says on stderr why the output could not be written. Returns
 * ARGS_EXIT_OK or ARGS_EXIT_FAILED. */
int cmd_output_status(FILE *out, int output_rc);

/* Print in the session's format; return ARGS_EXIT_OK, or ARGS_EXIT_FAILED
 * after saying why the output could not be written. */
int cmd_print_asset(const cmd_session *s, const Valv__V1__Asset *asset);
int cmd_print_asset_list(const cmd_session *s, Valv__V1__Asset *const *assets, size_t n_assets);
int cmd_print_value(const cmd_session *s, const char *name, const char *value);
int cmd_print_link_list(const cmd_session *s, Valv__V1__Link *const *links, size_t n_links);
int cmd_print_explanation(const cmd_session *s, const Valv__V1__Asset *asset);

/* The command groups and commands. */
int cmd_asset(cmd_session *s, int argc, char **argv);  /* asset_cmd.c */
int cmd_health(cmd_session *s, int argc, char **argv); /* health_cmd.c */
int cmd_classify(cmd_session *s, int argc, char **argv); /* protection_cmd.c */
int cmd_protect(cmd_session *s, int argc, char **argv);  /* protection_cmd.c */
int cmd_explain(cmd_session *s, int argc, char **argv);  /* protection_cmd.c */
int cmd_link(cmd_session *s, int argc, char **argv);     /* link_cmd.c */
int cmd_unlink(cmd_session *s, int argc, char **argv);   /* link_cmd.c */
int cmd_links(cmd_session *s, int argc, char **argv);    /* link_cmd.c */
int cmd_review(cmd_session *s, int argc, char **argv);   /* review_cmd.c */
int cmd_audit(cmd_session *s, int argc, char **argv);    /* audit_cmd.c */
int cmd_watch(cmd_session *s, int argc, char **argv);    /* audit_cmd.c */
int cmd_import(cmd_session *s, int argc, char **argv);   /* import_cmd.c */
int cmd_export(cmd_session *s, int argc, char **argv);   /* export_cmd.c */
int cmd_report(cmd_session *s, int argc, char **argv);   /* report_cmd.c */
int cmd_admin(cmd_session *s, int argc, char **argv);    /* admin_cmd.c */

#endif
