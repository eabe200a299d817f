/* link_cmd.c - valv link, valv unlink, valv links: what carries what. */
#include <stdio.h>
#include <stdlib.h>

#include "commands.h"
#include "google/protobuf/empty.pb-c.h"
#include "limits.h"
#include "valv/v1/inventory.pb-c.h"

#define METHOD_PREFIX "/valv.v1.Inventory/"

/* What link's and unlink's help texts say about the line both take: the
 * link types and the flags. */
#define LINK_LINE_HELP                                                              \
    "TYPE (any case, '-' or '_'):\n"                                                \
    "  processed-by   information processed by an IT system\n"                      \
    "  stored-in      information stored in a facility (archive, server room)\n"    \
    "  hosted-in      an IT system hosted in a facility\n"                          \
    "  depends-on     an IT system depending on another IT system\n"                \
    "  part-of        a facility that is part of another (room in building)\n"      \
    "\n"                                                                            \
    "Flags:\n" ARGS_REQUEST_ID_HELP

static const args_command link_command = {
    .path = "valv link",
    .usage = "Usage: valv link FROM TYPE TO\n"
             "\n"
             "Links two assets: TO processes, stores, hosts or serves FROM, so TO needs\n"
             "at least FROM's protection and inherits it (see 'valv explain TO').\n"
             "\n"
             LINK_LINE_HELP
             "\n" ARGS_GLOBAL_FLAGS_HELP "\n"
             "Examples:\n"
             "  valv link personakter processed-by procapita\n"
             "  valv link sr-kungsholmen part-of stadshuset\n",
};

static const args_command unlink_command = {
    .path = "valv unlink",
    .usage = "Usage: valv unlink FROM TYPE TO\n"
             "\n"
             "Removes the link FROM TYPE TO. What it carried no longer raises TO's\n"
             "protection. Prints nothing on success.\n"
             "\n"
             LINK_LINE_HELP
             "\n" ARGS_GLOBAL_FLAGS_HELP "\n"
             "Example:\n"
             "  valv unlink personakter processed-by procapita\n",
};

static const args_command links_command = {
    .path = "valv links",
    .usage = "Usage: valv links NAME [flags]\n"
             "\n"
             "Lists the links from and to an asset: those from it first.\n"
             "\n"
             "Flags:\n"
             "  --page-size N          links per page, 1-1000 (default 50)\n"
             "  --page-token TOKEN     continue from where a previous page ended\n"
             "  --all                  follow the pages to the end\n"
             "\n" ARGS_GLOBAL_FLAGS_HELP "\n"
             "Example:\n"
             "  valv links procapita\n",
};

/* What link and unlink take. */
typedef struct {
    char *from;             /* malloc'd resource name; NULL after --help */
    char *to;               /* malloc'd resource name */
    Valv__V1__LinkType type;
    args_write write;       /* --request-id */
} link_line;

/* Parses "FROM TYPE TO [--request-id ID]". On success with out->from set,
 * the caller frees out->from and out->to. */
static int parse_link_line(cmd_session *s, const args_command *cmd, int argc, char **argv,
                           link_line *out)
{
    static const struct option options[] = {
        ARGS_REQUEST_ID_OPTION,
        ARGS_COMMON_OPTIONS,
        {0},
    };
    *out = (link_line){.from = NULL, .write = ARGS_WRITE_INIT};
    int rc = ARGS_EXIT_OK;
    args_parser p = args_parser_init(cmd, &s->globals, argc, argv, options);
    int opt;
    while (rc == ARGS_EXIT_OK && (opt = args_next(&p)) != ARGS_END) {
        if (opt == ARGS_STOP)
            return p.exit_code;
        rc = args_write_option(opt, optarg, &out->write);
    }
    if (rc == ARGS_EXIT_OK)
        rc = args_operands(&p, 3, 3, "FROM TYPE TO");
    if (rc == ARGS_EXIT_OK)
        rc = args_parse_link_type(cmd, argv[optind + 1], &out->type);
    if (rc == ARGS_EXIT_OK)
        rc = args_asset_operand(&p, 0, &out->from);
    if (rc == ARGS_EXIT_OK)
        rc = args_asset_operand(&p, 2, &out->to);
    if (rc != ARGS_EXIT_OK) {
        free(out->from);
        out->from = NULL;
    }
    return rc;
}

/* Sends CreateLink for the line and prints the link made. */
static int create_link(cmd_session *s, const link_line *line)
{
    Valv__V1__CreateLinkRequest req = VALV__V1__CREATE_LINK_REQUEST__INIT;
    Valv__V1__Link link = VALV__V1__LINK__INIT;
    Valv__V1__Link *created = NULL;
    link.from_asset = line->from;
    link.to_asset = line->to;
    link.type = line->type;
    req.link = &link;
    req.request_id = line->write.request_id;
    int rc = cmd_call(s, METHOD_PREFIX "CreateLink", &req.base, &valv__v1__link__descriptor,
                      (ProtobufCMessage **)&created);
    if (rc == ARGS_EXIT_OK) {
        rc = cmd_print_link_list(s, &created, 1);
        valv__v1__link__free_unpacked(created, NULL);
    }
    return rc;
}

/* Sends DeleteLink for the line; prints nothing. */
static int delete_link(cmd_session *s, const link_line *line)
{
    Valv__V1__DeleteLinkRequest req = VALV__V1__DELETE_LINK_REQUEST__INIT;
    ProtobufCMessage *empty = NULL;
    req.from_asset = line->from;
    req.to_asset = line->to;
    req.type = line->type;
    req.request_id = line->write.request_id;
    int rc = cmd_call(s, METHOD_PREFIX "DeleteLink", &req.base,
                      &google__protobuf__empty__descriptor, &empty);
    if (empty != NULL)
        protobuf_c_message_free_unpacked(empty, NULL);
    return rc;
}

/* Links (creating true) or unlinks as the line says: the two take the same
 * line and differ in the request. */
static int change_link(cmd_session *s, const args_command *cmd, bool creating, int argc,
                       char **argv)
{
    link_line line;
    int rc = parse_link_line(s, cmd, argc, argv, &line);
    if (rc != ARGS_EXIT_OK || line.from == NULL)
        return rc; /* an error, or --help */
    rc = creating ? create_link(s, &line) : delete_link(s, &line);
    free(line.from);
    free(line.to);
    return rc;
}

int cmd_link(cmd_session *s, int argc, char **argv)
{
    return change_link(s, &link_command, true, argc, argv);
}

int cmd_unlink(cmd_session *s, int argc, char **argv)
{
    return change_link(s, &unlink_command, false, argc, argv);
}

int cmd_links(cmd_session *s, int argc, char **argv)
{
    static const struct option options[] = {
        ARGS_PAGING_OPTIONS,
        ARGS_COMMON_OPTIONS,
        {0},
    };
    Valv__V1__ListLinksRequest req = VALV__V1__LIST_LINKS_REQUEST__INIT;
    cmd_pages pages;
    args_paging paging = {0};
    char *name = NULL;
    int rc = ARGS_EXIT_OK;

    args_parser p = args_parser_init(&links_command, &s->globals, argc, argv, options);
    int opt;
    while (rc == ARGS_EXIT_OK && (opt = args_next(&p)) != ARGS_END) {
        switch (opt) {
        case ARGS_STOP:
            return p.exit_code;
        default:
            rc = args_paging_option(&links_command, opt, optarg, &paging);
            break;
        }
    }
    if (rc == ARGS_EXIT_OK)
        rc = args_single_asset(&p, &name);
    if (rc != ARGS_EXIT_OK)
        return rc;

    req.asset = name;
    req.page_size = paging.page_size;
    if (paging.page_token != NULL)
        req.page_token = (char *)paging.page_token;
    rc = cmd_list_pages(s, METHOD_PREFIX "ListLinks", &req.base, &req.page_token,
                        &valv__v1__list_links_response__descriptor, paging.all, &pages);
    if (rc == ARGS_EXIT_OK)
        rc = cmd_print_link_list(s, (Valv__V1__Link *const *)pages.items, pages.n_items);
    if (rc == ARGS_EXIT_OK && pages.next_page_token[0] != '\0') {
        char size[16];
        snprintf(size, sizeof size, "%d", req.page_size);
        const char *words[] = {name, "--page-size", size};
        cmd_print_next_page_hint(links_command.path, words, req.page_size > 0 ? 3 : 1,
                                 pages.next_page_token);
    }
    cmd_pages_free(&pages);
    free(name);
    return rc;
}
