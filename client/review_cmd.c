/* review_cmd.c - valv review: the security protection chief's queue of
 * flagged assets, and approving or returning them. */
#include <stdio.h>
#include <stdlib.h>

#include "commands.h"
#include "limits.h"
#include "valv/v1/review.pb-c.h"

#define METHOD_PREFIX "/valv.v1.Review/"

enum { OPT_OWNER_UNIT = ARGS_OPT_FIRST_COMMAND_OPTION, OPT_COMMENT };

static const args_command review_group = {
    .path = "valv review",
    .has_subcommands = true,
    .usage = "Usage: valv review COMMAND ...\n"
             "\n"
             "A flagged asset (security class restricted or higher, security sensitive,\n"
             "a protected object, or a level 4, its own or inherited) needs the security\n"
             "protection chief's approval, again whenever its protection changes and\n"
             "when the approval falls due.\n"
             "\n"
             "Commands:\n"
             "  queue      list the assets waiting for review, oldest first\n"
             "  approve    approve the version of an asset you saw\n"
             "  return     return an asset to its owner, saying what to fix\n"
             "\n" ARGS_GLOBAL_FLAGS_HELP "\n"
             "Example:\n"
             "  valv review queue --owner-unit socialnamnden\n"
             "\n"
             "Run 'valv review COMMAND --help' for the flags of a command.\n",
};

static const args_command queue_command = {
    .path = "valv review queue",
    .usage = "Usage: valv review queue [flags]\n"
             "\n"
             "Lists the flagged assets waiting for review, oldest first: PENDING and\n"
             "RETURNED ones, and APPROVED ones past their due date (APPROVED OVERDUE).\n"
             "The ETAG to approve or return one is in 'valv review queue -o json' or\n"
             "'valv asset get NAME'.\n"
             "\n"
             "Flags:\n"
             "  --owner-unit UNIT      only this unit's assets\n"
             "  --page-size N          assets per page, 1-1000 (default 50)\n"
             "  --page-token TOKEN     continue from where a previous page ended\n"
             "  --all                  follow the pages to the end\n"
             "\n" ARGS_GLOBAL_FLAGS_HELP "\n"
             "Examples:\n"
             "  valv review queue\n"
             "  valv review queue --owner-unit socialnamnden -o json\n",
};

static const args_command approve_command = {
    .path = "valv review approve",
    .usage = "Usage: valv review approve NAME --etag ETAG --comment TEXT\n"
             "\n"
             "Approves the version of the asset you saw, identified by its etag: if the\n"
             "asset changed since, the approval fails with ABORTED and you review the new\n"
             "version. The next review falls due a year later (or as valvd is set up).\n"
             "\n"
             "Flags:\n"
             "  --etag ETAG            the etag shown by 'valv asset get NAME' or\n"
             "                         'valv review queue -o json' (required)\n"
             "  --comment TEXT         what the approval rests on (required)\n"
             ARGS_REQUEST_ID_HELP
             "\n" ARGS_GLOBAL_FLAGS_HELP "\n"
             "Example:\n"
             "  valv asset get procapita       # read it; note its etag\n"
             "  valv review approve procapita --etag 42 --comment 'Skydd enligt SSA 2025-14'\n",
};

static const args_command return_command = {
    .path = "valv review return",
    .usage = "Usage: valv review return NAME --etag ETAG --comment TEXT\n"
             "\n"
             "Returns the version of the asset you saw to its owner, with a comment\n"
             "saying what to fix. It stays in the queue as RETURNED.\n"
             "\n"
             "Flags:\n"
             "  --etag ETAG            the etag shown by 'valv asset get NAME' or\n"
             "                         'valv review queue -o json' (required)\n"
             "  --comment TEXT         what the owner must do (required)\n"
             ARGS_REQUEST_ID_HELP
             "\n" ARGS_GLOBAL_FLAGS_HELP "\n"
             "Example:\n"
             "  valv review return sr-kungsholmen --etag 43 \\\n"
             "      --comment 'Ange skyddsåtgärder för serverrummet'\n",
};

/* ---- valv review queue --------------------------------------------------------- */

static int review_queue(cmd_session *s, int argc, char **argv)
{
    static const struct option options[] = {
        {"owner-unit", required_argument, NULL, OPT_OWNER_UNIT},
        ARGS_PAGING_OPTIONS,
        ARGS_COMMON_OPTIONS,
        {0},
    };
    Valv__V1__ListReviewQueueRequest req = VALV__V1__LIST_REVIEW_QUEUE_REQUEST__INIT;
    cmd_pages pages;
    args_paging paging = {0};
    int rc = ARGS_EXIT_OK;

    args_parser p = args_parser_init(&queue_command, &s->globals, argc, argv, options);
    int opt;
    while (rc == ARGS_EXIT_OK && (opt = args_next(&p)) != ARGS_END) {
        switch (opt) {
        case ARGS_STOP:
            return p.exit_code;
        case OPT_OWNER_UNIT:
            req.owner_unit = optarg;
            break;
        default:
            rc = args_paging_option(&queue_command, opt, optarg, &paging);
            break;
        }
    }
    if (rc == ARGS_EXIT_OK)
        rc = args_operands(&p, 0, 0, "");
    if (rc != ARGS_EXIT_OK)
        return rc;

    req.page_size = paging.page_size;
    if (paging.page_token != NULL)
        req.page_token = (char *)paging.page_token;
    rc = cmd_list_pages(s, METHOD_PREFIX "ListReviewQueue", &req.base, &req.page_token,
                        &valv__v1__list_review_queue_response__descriptor, paging.all, &pages);
    if (rc == ARGS_EXIT_OK)
        rc = cmd_print_asset_list(s, (Valv__V1__Asset *const *)pages.items, pages.n_items);
    if (rc == ARGS_EXIT_OK && pages.next_page_token[0] != '\0') {
        const char *words[4];
        size_t n = 0;
        char size[16];
        if (req.owner_unit[0] != '\0') {
            words[n++] = "--owner-unit";
            words[n++] = req.owner_unit;
        }
        if (req.page_size > 0) {
            snprintf(size, sizeof size, "%d", req.page_size);
            words[n++] = "--page-size";
            words[n++] = size;
        }
        cmd_print_next_page_hint(queue_command.path, words, n, pages.next_page_token);
    }
    cmd_pages_free(&pages);
    return rc;
}

/* ---- valv review approve / return ------------------------------------------------ */

/* Approving and returning take the same line and differ in the method. */
static int review_decision(cmd_session *s, const args_command *cmd, bool approve, int argc,
                           char **argv)
{
    static const struct option options[] = {
        {"comment", required_argument, NULL, OPT_COMMENT},
        ARGS_WRITE_OPTIONS,
        ARGS_COMMON_OPTIONS,
        {0},
    };
    args_write write = ARGS_WRITE_INIT;
    char *comment = NULL;
    char *name = NULL;
    int rc = ARGS_EXIT_OK;

    args_parser p = args_parser_init(cmd, &s->globals, argc, argv, options);
    int opt;
    while (rc == ARGS_EXIT_OK && (opt = args_next(&p)) != ARGS_END) {
        switch (opt) {
        case ARGS_STOP:
            return p.exit_code;
        case OPT_COMMENT:
            comment = optarg;
            break;
        default:
            rc = args_write_option(opt, optarg, &write);
            break;
        }
    }
    if (rc == ARGS_EXIT_OK)
        rc = args_operands(&p, 1, 1, "NAME");
    if (rc != ARGS_EXIT_OK)
        return rc;
    /* No etag is never filled in by reading the asset: the decision must
     * be about the version the reviewer actually saw. */
    if (write.etag[0] == '\0')
        return args_usage_error(cmd,
                                "missing --etag: pass the etag of the version you reviewed, "
                                "as shown by 'valv asset get %s' or 'valv review queue -o json'",
                                argv[optind]);
    if (comment == NULL || comment[0] == '\0')
        return args_usage_error(cmd, "missing --comment: say what the decision rests on");
    if ((rc = args_asset_operand(&p, 0, &name)) != ARGS_EXIT_OK)
        return rc;

    /* The two requests have the same fields. */
    if (approve) {
        Valv__V1__ApproveAssetRequest req = VALV__V1__APPROVE_ASSET_REQUEST__INIT;
        req.name = name;
        req.etag = write.etag;
        req.comment = comment;
        req.request_id = write.request_id;
        rc = cmd_call_asset(s, METHOD_PREFIX "ApproveAsset", &req.base);
    } else {
        Valv__V1__ReturnAssetRequest req = VALV__V1__RETURN_ASSET_REQUEST__INIT;
        req.name = name;
        req.etag = write.etag;
        req.comment = comment;
        req.request_id = write.request_id;
        rc = cmd_call_asset(s, METHOD_PREFIX "ReturnAsset", &req.base);
    }
    free(name);
    return rc;
}

static int review_approve(cmd_session *s, int argc, char **argv)
{
    return review_decision(s, &approve_command, true, argc, argv);
}

static int review_return(cmd_session *s, int argc, char **argv)
{
    return review_decision(s, &return_command, false, argc, argv);
}

/* ---- valv review ----------------------------------------------------------------- */

int cmd_review(cmd_session *s, int argc, char **argv)
{
    static const cmd_entry commands[] = {
        {"queue", review_queue},
        {"approve", review_approve},
        {"return", review_return},
        {NULL, NULL},
    };
    return cmd_run_group(s, &review_group, commands, argc, argv);
}
