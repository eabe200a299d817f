/* audit_cmd.c - valv audit (list, verify) and valv watch: the audit log of
 * every change, read afterwards or followed as it grows. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "commands.h"
#include "limits.h"
#include "valv/v1/audit.pb-c.h"
#include "valv/v1/inventory.pb-c.h"

#define AUDIT_METHOD_PREFIX "/valv.v1.Audit/"
#define WATCH_METHOD "/valv.v1.Inventory/WatchChanges"
/* The flags of 'valv audit list' repeated in the next-page hint, as words. */
#define LIST_HINT_WORDS_MAX 16

enum {
    OPT_ASSET = ARGS_OPT_FIRST_COMMAND_OPTION,
    OPT_ACTOR,
    OPT_ACTION,
    OPT_SINCE,
    OPT_UNTIL,
    OPT_NEWEST_FIRST,
    OPT_FROM,
    OPT_FILTER
};

/* ---- Help texts ------------------------------------------------------------ */

static const args_command audit_group = {
    .path = "valv audit",
    .has_subcommands = true,
    .usage = "Usage: valv audit COMMAND ...\n"
             "\n"
             "Every change to the inventory appends one event to the audit log, in the\n"
             "same transaction as the change: its revision, time, actor, action, asset,\n"
             "the fields changed with their values before and after, and the reason.\n"
             "Events are hash-chained, so that altering or removing one is found.\n"
             "\n"
             "Commands:\n"
             "  list       list events, oldest first, with filters and in pages\n"
             "  verify     check the hash chain of the whole log\n"
             "\n"
             "To follow changes as they happen, see 'valv watch'.\n"
             "\n" ARGS_GLOBAL_FLAGS_HELP "\n"
             "Example:\n"
             "  valv audit list --asset ekonomisystem\n"
             "\n"
             "Run 'valv audit COMMAND --help' for the flags of a command.\n",
};

static const args_command list_command = {
    .path = "valv audit list",
    .usage =
        "Usage: valv audit list [flags]\n"
        "\n"
        "Lists audit events, oldest first, one page at a time unless --all is given.\n"
        "When there are more, the command for the next page is printed on stderr.\n"
        "\n"
        "The table shows REVISION TIME ACTOR ACTION ASSET CHANGES REASON: ASSET is\n"
        "'FROM -> TO' for a link, each change 'FIELD: BEFORE -> AFTER' (just\n"
        "'FIELD: AFTER' when it had no value), long changes and reasons cut short\n"
        "with '...'. -o json prints each event whole, one per line (the hashes in\n"
        "base64); -o csv adds request_id, related_asset and cause_revision and keeps\n"
        "every change.\n"
        "\n"
        "Flags:\n"
        "  --asset NAME           only this asset's events (including links to it)\n"
        "  --actor ACTOR          only the changes this principal made\n"
        "  --action ACTION        create, update, delete, undelete, link, unlink,\n"
        "                         approve, return or inherit\n"
        "  --since TIME           events at or after TIME\n"
        "  --until TIME           events before TIME\n"
        "  --newest-first         the latest events first\n"
        "  --page-size N          events per page, 1-1000 (default 50)\n"
        "  --page-token TOKEN     continue from where a previous page ended\n"
        "  --all                  follow the pages to the end\n"
        "\n"
        "TIME is a date, 2026-03-01 (midnight UTC), or an RFC 3339 time,\n"
        "2026-03-01T14:30:00Z or 2026-03-01T14:30:00+01:00.\n"
        "\n" ARGS_GLOBAL_FLAGS_HELP "\n"
        "Examples:\n"
        "  valv audit list --asset ekonomisystem --newest-first\n"
        "  valv audit list --action delete --since 2026-01-01 --until 2026-04-01 --all -o csv\n",
};

static const args_command verify_command = {
    .path = "valv audit verify",
    .usage = "Usage: valv audit verify\n"
             "\n"
             "Asks valvd to walk the whole audit log and check its hash chain: revisions\n"
             "without gaps, every hash correct, each event pointing at the one before.\n"
             "Prints 'audit log intact: N events up to revision R' and exits 0, or\n"
             "'audit log DAMAGED at revision R: PROBLEM' and exits 1.\n"
             "\n" ARGS_GLOBAL_FLAGS_HELP "\n"
             "Example:\n"
             "  valv audit verify\n",
};

static const args_command watch_command = {
    .path = "valv watch",
    .usage =
        "Usage: valv watch [--from REVISION] [--filter FILTER]\n"
        "\n"
        "Prints each change as it happens, one line per audit event:\n"
        "REVISION TIME ACTOR ACTION ASSET CHANGES REASON, with every change. -o json\n"
        "prints JSON Lines (one event per line), -o csv a header and one row per event.\n"
        "Runs until Ctrl-C or SIGTERM (exit 0), or for --timeout SECONDS when given.\n"
        "\n"
        "If the watch breaks (valvd stops, or the watch falls too far behind) valv\n"
        "prints the error and the last revision it printed, and exits 1: run it again\n"
        "with --from that revision to go on without missing or repeating a change.\n"
        "\n"
        "Flags:\n"
        "  --from REVISION        first replay the changes after REVISION, then follow\n"
        "                         (default 0: only changes from now on)\n"
        "  --filter FILTER        only changes to assets that match this filter (as in\n"
        "                         'valv asset list'), as they are when the change is sent\n"
        "\n" ARGS_GLOBAL_FLAGS_HELP "\n"
        "Examples:\n"
        "  valv watch --filter 'owner_unit = socialnamnden'\n"
        "  valv watch --from 1200 -o json >> changes.jsonl\n",
};

/* ---- valv audit list --------------------------------------------------------- */

/* The flags whose text the request does not keep, as the user typed them,
 * for the next-page hint; NULL when not given. */
typedef struct {
    const char *asset, *action, *since, *until;
} list_flags;

static void print_next_page_hint(const Valv__V1__ListAuditEventsRequest *req,
                                 const list_flags *f, const char *token)
{
    const struct {
        const char *flag, *value;
    } given[] = {
        {"--asset", f->asset}, {"--actor", req->actor[0] != '\0' ? req->actor : NULL},
        {"--action", f->action},
        {"--since", f->since}, {"--until", f->until},
    };
    const char *words[LIST_HINT_WORDS_MAX];
    char page_size[16];
    size_t n = 0;
    for (size_t i = 0; i < sizeof given / sizeof given[0]; i++) {
        if (given[i].value != NULL) {
            words[n++] = given[i].flag;
            words[n++] = given[i].value;
        }
    }
    if (req->newest_first)
        words[n++] = "--newest-first";
    if (req->page_size > 0) {
        snprintf(page_size, sizeof page_size, "%d", req->page_size);
        words[n++] = "--page-size";
        words[n++] = page_size;
    }
    cmd_print_next_page_hint(list_command.path, words, n, token);
}

static int audit_list(cmd_session *s, int argc, char **argv)
{
    static const struct option options[] = {
        {"asset", required_argument, NULL, OPT_ASSET},
        {"actor", required_argument, NULL, OPT_ACTOR},
        {"action", required_argument, NULL, OPT_ACTION},
        {"since", required_argument, NULL, OPT_SINCE},
        {"until", required_argument, NULL, OPT_UNTIL},
        {"newest-first", no_argument, NULL, OPT_NEWEST_FIRST},
        ARGS_PAGING_OPTIONS,
        ARGS_COMMON_OPTIONS,
        {0},
    };
    Valv__V1__ListAuditEventsRequest req = VALV__V1__LIST_AUDIT_EVENTS_REQUEST__INIT;
    Google__Protobuf__Timestamp since = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    Google__Protobuf__Timestamp until = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    list_flags flags = {0};
    cmd_pages pages = {.next_page_token = ""};
    char *asset = NULL;
    args_paging paging = {0};
    int rc = ARGS_EXIT_OK;

    args_parser p = args_parser_init(&list_command, &s->globals, argc, argv, options);
    int opt;
    while (rc == ARGS_EXIT_OK && (opt = args_next(&p)) != ARGS_END) {
        switch (opt) {
        case ARGS_STOP:
            rc = p.exit_code;
            goto done;
        case OPT_ASSET:
            flags.asset = optarg;
            break;
        case OPT_ACTOR:
            req.actor = optarg;
            break;
        case OPT_ACTION:
            flags.action = optarg;
            rc = args_parse_audit_action(&list_command, optarg, &req.action);
            break;
        case OPT_SINCE:
            flags.since = optarg;
            rc = args_parse_time(&list_command, "--since", optarg, &since);
            req.start_time = &since;
            break;
        case OPT_UNTIL:
            flags.until = optarg;
            rc = args_parse_time(&list_command, "--until", optarg, &until);
            req.end_time = &until;
            break;
        case OPT_NEWEST_FIRST:
            req.newest_first = true;
            break;
        default:
            rc = args_paging_option(&list_command, opt, optarg, &paging);
            break;
        }
    }
    if (rc == ARGS_EXIT_OK)
        rc = args_operands(&p, 0, 0, "");
    if (rc == ARGS_EXIT_OK && req.start_time != NULL && req.end_time != NULL &&
        (until.seconds < since.seconds ||
         (until.seconds == since.seconds && until.nanos <= since.nanos)))
        rc = args_usage_error(&list_command, "--until %s is not after --since %s", flags.until,
                              flags.since);
    if (rc == ARGS_EXIT_OK && flags.asset != NULL) {
        asset = args_asset_name(flags.asset);
        if (asset == NULL) {
            fputs("valv: out of memory\n", stderr);
            rc = ARGS_EXIT_FAILED;
        }
        req.asset = asset;
    }
    if (rc != ARGS_EXIT_OK)
        goto done;

    req.page_size = paging.page_size;
    if (paging.page_token != NULL)
        req.page_token = (char *)paging.page_token;
    rc = cmd_list_pages(s, AUDIT_METHOD_PREFIX "ListAuditEvents", &req.base, &req.page_token,
                        &valv__v1__list_audit_events_response__descriptor, paging.all, &pages);
    if (rc == ARGS_EXIT_OK)
        rc = cmd_output_status(stdout, output_audit_list(stdout, s->globals.format,
                                                         (Valv__V1__AuditEvent *const *)pages.items,
                                                         pages.n_items));
    if (rc == ARGS_EXIT_OK && pages.next_page_token[0] != '\0')
        print_next_page_hint(&req, &flags, pages.next_page_token);
done:
    cmd_pages_free(&pages);
    free(asset);
    return rc;
}

/* ---- valv audit verify --------------------------------------------------------- */

static int audit_verify(cmd_session *s, int argc, char **argv)
{
    Valv__V1__VerifyAuditLogRequest req = VALV__V1__VERIFY_AUDIT_LOG_REQUEST__INIT;
    Valv__V1__VerifyAuditLogResponse *resp = NULL;
    char text[VALV_ERROR_MESSAGE_MAX + 128];
    args_parser p;

    if (args_parse_common(&verify_command, &s->globals, argc, argv, 0, 0, "", &p) == ARGS_STOP)
        return p.exit_code;
    int rc = cmd_call(s, AUDIT_METHOD_PREFIX "VerifyAuditLog", &req.base,
                      &valv__v1__verify_audit_log_response__descriptor,
                      (ProtobufCMessage **)&resp);
    if (rc != ARGS_EXIT_OK)
        return rc;

    if (resp->ok)
        snprintf(text, sizeof text, "audit log intact: %" PRId64 " events up to revision %" PRId64,
                 resp->events_checked, resp->last_revision);
    else if (resp->first_bad_revision != 0)
        snprintf(text, sizeof text, "audit log DAMAGED at revision %" PRId64 ": %s",
                 resp->first_bad_revision, resp->problem);
    else /* a problem with the log as a whole, such as its last revision */
        snprintf(text, sizeof text, "audit log DAMAGED: %s", resp->problem);
    if (s->globals.format == OUTPUT_JSON)
        rc = cmd_output_status(stdout, output_message_json(stdout, &resp->base));
    else
        rc = cmd_print_value(s, "result", text);
    if (rc == ARGS_EXIT_OK && !resp->ok)
        rc = ARGS_EXIT_FAILED;
    valv__v1__verify_audit_log_response__free_unpacked(resp, NULL);
    return rc;
}

/* ---- valv watch ------------------------------------------------------------------ */

typedef struct {
    int64_t last_revision; /* the last revision printed, else --from: where to resume */
} watch_state;

static int print_change(const cmd_session *s, const ProtobufCMessage *message, void *arg)
{
    const Valv__V1__WatchChangesResponse *resp = (const void *)message;
    watch_state *w = arg;
    if (resp->event == NULL)
        return ARGS_EXIT_OK;
    /* Flushed line by line: whoever reads the pipe sees each change now. */
    int rc = cmd_output_status(stdout, output_audit_event(stdout, s->globals.format, resp->event));
    if (rc != ARGS_EXIT_OK)
        return rc;
    w->last_revision = resp->event->revision;
    return ARGS_EXIT_OK;
}

/* Whether a watch that ended with code broke off, so that running it again
 * from where it stopped goes on: it fell behind, valvd went away or ended
 * it. Any other code is about the request itself, which would fail again. */
static bool watch_broke(valv_code code)
{
    return code == VALV_EFULL || code == VALV_EUNAVAILABLE || code == VALV_ECANCELLED ||
           code == VALV_EABORTED || code == VALV_EINTERNAL;
}

int cmd_watch(cmd_session *s, int argc, char **argv)
{
    static const struct option options[] = {
        {"from", required_argument, NULL, OPT_FROM},
        {"filter", required_argument, NULL, OPT_FILTER},
        ARGS_COMMON_OPTIONS,
        {0},
    };
    Valv__V1__WatchChangesRequest req = VALV__V1__WATCH_CHANGES_REQUEST__INIT;
    long from = 0;
    int rc = ARGS_EXIT_OK;

    args_parser p = args_parser_init(&watch_command, &s->globals, argc, argv, options);
    int opt;
    while (rc == ARGS_EXIT_OK && (opt = args_next(&p)) != ARGS_END) {
        switch (opt) {
        case ARGS_STOP:
            return p.exit_code;
        case OPT_FROM:
            rc = args_parse_int(&watch_command, "--from", optarg, 0, INT64_MAX, &from);
            req.start_revision = from;
            break;
        case OPT_FILTER:
            req.filter = optarg;
            break;
        }
    }
    if (rc == ARGS_EXIT_OK)
        rc = args_operands(&p, 0, 0, "");
    if (rc != ARGS_EXIT_OK)
        return rc;

    watch_state w = {.last_revision = req.start_revision};
    rc = cmd_output_status(stdout, output_audit_stream_start(stdout, s->globals.format));
    if (rc != ARGS_EXIT_OK)
        return rc;
    valv_code end_code;
    rc = cmd_follow_stream(s, WATCH_METHOD, &req.base,
                           &valv__v1__watch_changes_response__descriptor, print_change, &w,
                           &end_code);
    /* Nothing to resume from when the watch began "from now" and printed
     * nothing: the user has not missed a change they could name. */
    if (rc == ARGS_EXIT_FAILED && watch_broke(end_code) && w.last_revision > 0) {
        fprintf(stderr, "valv: the last revision seen is %" PRId64 "; resume with "
                        "'valv watch --from %" PRId64 "'\n",
                w.last_revision, w.last_revision);
    }
    return rc;
}

/* ---- valv audit ------------------------------------------------------------------ */

int cmd_audit(cmd_session *s, int argc, char **argv)
{
    static const cmd_entry commands[] = {
        {"list", audit_list},
        {"verify", audit_verify},
        {NULL, NULL},
    };
    return cmd_run_group(s, &audit_group, commands, argc, argv);
}
