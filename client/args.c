/* args.c - command-line parsing shared by the valv commands (see args.h). */
#include "args.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ASSET_NAME_PREFIX "assets/"
/* A day: longer than any call should take, short enough to catch typos. */
#define TIMEOUT_MAX_SECONDS 86400.0
#define KIND_TEXT_MAX 32

void args_globals_init(args_globals *g)
{
    const char *env = getenv("VALV_ADDR");
    g->addr = (env != NULL && env[0] != '\0') ? env : ARGS_DEFAULT_ADDR;
    g->format = OUTPUT_TABLE;
    g->timeout_ms = 0;
}

args_parser args_parser_init(const args_command *command, args_globals *globals, int argc,
                             char **argv, const struct option *options)
{
    args_parser p = {
        .command = command,
        .globals = globals,
        .argc = argc,
        .argv = argv,
        .options = options,
        .started = false,
        .exit_code = ARGS_EXIT_OK,
    };
    return p;
}

int args_usage_error(const args_command *command, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("valv: ", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nrun '%s --help'\n", command->path);
    return ARGS_EXIT_USAGE;
}

/* The option the user typed that getopt just stopped at: the whole word for
 * a long option, "-X" for a short one. */
static const char *offending_option(const args_parser *p, char *buf, size_t cap)
{
    const char *word = optind > 0 && optind <= p->argc ? p->argv[optind - 1] : "";
    if (strncmp(word, "--", 2) == 0)
        return word;
    snprintf(buf, cap, "-%c", optopt != 0 ? optopt : '?');
    return buf;
}

static int parse_timeout(const args_command *command, const char *text, int *timeout_ms)
{
    char *end;
    errno = 0;
    double seconds = strtod(text, &end);
    if (errno != 0 || end == text || *end != '\0' || !(seconds > 0) ||
        seconds > TIMEOUT_MAX_SECONDS) {
        return args_usage_error(command,
                                "--timeout takes a number of seconds above 0 and at most %.0f, "
                                "not '%s'",
                                TIMEOUT_MAX_SECONDS, text);
    }
    *timeout_ms = (int)(seconds * 1000.0);
    if (*timeout_ms == 0)
        *timeout_ms = 1; /* 0 would mean "the default" */
    return ARGS_EXIT_OK;
}

/* Handles an option every command takes (but --help) and getopt's error
 * returns. Returns ARGS_EXIT_OK to go on, or a usage error. */
static int common_option(args_parser *p, int opt)
{
    char buf[8];
    switch (opt) {
    case 'o':
        if (output_format_parse(optarg, &p->globals->format) != 0)
            return args_usage_error(p->command, "-o takes table, json or csv, not '%s'", optarg);
        return ARGS_EXIT_OK;
    case ARGS_OPT_ADDR:
        p->globals->addr = optarg;
        return ARGS_EXIT_OK;
    case ARGS_OPT_TIMEOUT:
        return parse_timeout(p->command, optarg, &p->globals->timeout_ms);
    case ':':
        return args_usage_error(p->command, "option '%s' needs a value",
                                offending_option(p, buf, sizeof buf));
    default: /* '?' */
        return args_usage_error(p->command, "unknown option '%s'",
                                offending_option(p, buf, sizeof buf));
    }
}

int args_next(args_parser *p)
{
    /* '+': a group stops at its subcommand's name, leaving the rest of the
     * line to the subcommand. ':': report a missing value as ':', not '?'. */
    const char *optstring = p->command->has_subcommands ? "+:ho:" : ":ho:";
    if (!p->started) {
        optind = 0; /* 0, not 1: makes GNU getopt start over on a new argv */
        opterr = 0; /* we print our own messages */
        p->started = true;
    }
    for (;;) {
        int opt = getopt_long(p->argc, p->argv, optstring, p->options, NULL);
        if (opt == -1)
            return ARGS_END;
        bool common = opt == 'h' || opt == 'o' || opt == ':' || opt == '?' ||
                      opt == ARGS_OPT_ADDR || opt == ARGS_OPT_TIMEOUT || opt == ARGS_OPT_VERSION;
        if (!common)
            return opt;
        if (opt == 'h' || opt == ARGS_OPT_VERSION) {
            if (opt == 'h')
                fputs(p->command->usage, stdout);
            else
                puts("valv " VALV_VERSION);
            p->exit_code = ARGS_EXIT_OK;
            return ARGS_STOP;
        }
        p->exit_code = common_option(p, opt);
        if (p->exit_code != ARGS_EXIT_OK)
            return ARGS_STOP;
    }
}

int args_operands(const args_parser *p, int min, int max, const char *what)
{
    int n = p->argc - optind;
    if (n < min)
        return args_usage_error(p->command, "missing %s", what);
    if (max >= 0 && n > max)
        return args_usage_error(p->command, "unexpected argument '%s'", p->argv[optind + max]);
    return ARGS_EXIT_OK;
}

int args_parse_int(const args_command *command, const char *flag, const char *text, long min,
                   long max, long *out)
{
    char *end;
    errno = 0;
    long value = strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || value < min || value > max) {
        return args_usage_error(command, "%s takes a whole number from %ld to %ld, not '%s'", flag,
                                min, max, text);
    }
    *out = value;
    return ARGS_EXIT_OK;
}

int args_parse_kind(const args_command *command, const char *text, Valv__V1__AssetKind *out)
{
    char upper[KIND_TEXT_MAX];
    size_t len = strlen(text);
    if (len < sizeof upper) {
        for (size_t i = 0; i <= len; i++)
            upper[i] = text[i] == '-' ? '_' : (char)toupper((unsigned char)text[i]);
        const ProtobufCEnumDescriptor *d = &valv__v1__asset_kind__descriptor;
        for (unsigned i = 0; i < d->n_values; i++) {
            if (d->values[i].value != 0 && strcmp(d->values[i].name, upper) == 0) {
                *out = (Valv__V1__AssetKind)d->values[i].value;
                return ARGS_EXIT_OK;
            }
        }
    }
    return args_usage_error(command, "--kind takes information, it-system or facility, not '%s'",
                            text);
}

int args_split_key_value(const args_command *command, const char *flag, char *text, char **key,
                         char **value)
{
    char *eq = strchr(text, '=');
    if (eq == NULL || eq == text)
        return args_usage_error(command, "%s takes KEY=VALUE, not '%s'", flag, text);
    *eq = '\0';
    *key = text;
    *value = eq + 1;
    return ARGS_EXIT_OK;
}

int args_list_add(args_list *list, char *item)
{
    if (list->n == list->cap) {
        size_t cap = list->cap == 0 ? 8 : list->cap * 2;
        char **items = realloc(list->items, cap * sizeof *items);
        if (items == NULL) {
            fputs("valv: out of memory\n", stderr);
            return ARGS_EXIT_FAILED;
        }
        list->items = items;
        list->cap = cap;
    }
    list->items[list->n++] = item;
    return ARGS_EXIT_OK;
}

void args_list_free(args_list *list)
{
    free(list->items);
    list->items = NULL;
    list->n = 0;
    list->cap = 0;
}

char *args_asset_name(const char *name_or_id)
{
    if (strncmp(name_or_id, ASSET_NAME_PREFIX, strlen(ASSET_NAME_PREFIX)) == 0)
        return strdup(name_or_id);
    char *name;
    if (asprintf(&name, ASSET_NAME_PREFIX "%s", name_or_id) < 0)
        return NULL;
    return name;
}
