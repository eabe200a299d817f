/* args.c - command-line parsing shared by the valv commands (see args.h). */
#include "args.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "limits.h" /* store/limits.h: the input limits the flags check */

#define ASSET_NAME_PREFIX "assets/"
/* A day: longer than any call should take, short enough to catch typos. */
#define TIMEOUT_MAX_SECONDS 86400.0
/* Longer than any word of an enum (synnerligen-allvarlig). */
#define WORD_TEXT_MAX 32

/* The value of environment variable name, or NULL when it is unset or
 * empty (an empty variable is how a shell user unsets one for a command). */
static const char *env_value(const char *name)
{
    const char *value = getenv(name);
    return value != NULL && value[0] != '\0' ? value : NULL;
}

void args_globals_init(args_globals *g)
{
    const char *addr = env_value("VALV_ADDR");
    const char *tls = env_value("VALV_TLS");
    *g = (args_globals){
        .addr = addr != NULL ? addr : ARGS_DEFAULT_ADDR,
        .format = OUTPUT_TABLE,
        .timeout_ms = 0,
        .tls = tls != NULL && strcmp(tls, "0") != 0,
        .tls_ca = env_value("VALV_TLS_CA"),
        .cert = env_value("VALV_CERT"),
        .key = env_value("VALV_KEY"),
        .token = env_value("VALV_TOKEN"),
    };
    if (g->token == NULL)
        g->token_file = env_value("VALV_TOKEN_FILE");
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
    case ARGS_OPT_TLS:
        p->globals->tls = true;
        return ARGS_EXIT_OK;
    case ARGS_OPT_TLS_CA:
        p->globals->tls_ca = optarg;
        return ARGS_EXIT_OK;
    case ARGS_OPT_CERT:
        p->globals->cert = optarg;
        return ARGS_EXIT_OK;
    case ARGS_OPT_KEY:
        p->globals->key = optarg;
        return ARGS_EXIT_OK;
    case ARGS_OPT_TOKEN:
        p->globals->token = optarg;
        p->globals->token_file = NULL;
        return ARGS_EXIT_OK;
    case ARGS_OPT_TOKEN_FILE:
        p->globals->token_file = optarg;
        p->globals->token = NULL;
        return ARGS_EXIT_OK;
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
        bool own_output = opt == 'o' && p->command->own_output_flag;
        /* The common options are numbered from ARGS_OPT_ADDR up to the
         * commands' own. */
        bool common = opt == 'h' || (opt == 'o' && !own_output) || opt == ':' || opt == '?' ||
                      (opt >= ARGS_OPT_ADDR && opt < ARGS_OPT_FIRST_COMMAND_OPTION);
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

int args_parse_common(const args_command *command, args_globals *globals, int argc, char **argv,
                      int min, int max, const char *what, args_parser *p)
{
    static const struct option options[] = {ARGS_COMMON_OPTIONS, {0}};
    *p = args_parser_init(command, globals, argc, argv, options);
    /* With no option of the command's own, args_next takes every option in
     * one call and returns only ARGS_END or ARGS_STOP. */
    if (args_next(p) == ARGS_STOP)
        return ARGS_STOP;
    p->exit_code = args_operands(p, min, max, what);
    return p->exit_code == ARGS_EXIT_OK ? ARGS_END : ARGS_STOP;
}

int args_paging_option(const args_command *command, int opt, const char *text,
                       args_paging *paging)
{
    long page_size = 0;
    int rc = ARGS_EXIT_OK;
    switch (opt) {
    case ARGS_OPT_PAGE_SIZE:
        rc = args_parse_int(command, "--page-size", text, 1, VALV_PAGE_SIZE_MAX, &page_size);
        paging->page_size = (int32_t)page_size;
        return rc;
    case ARGS_OPT_PAGE_TOKEN:
        paging->page_token = text;
        return rc;
    case ARGS_OPT_ALL:
        paging->all = true;
        return rc;
    }
    return ARGS_EXIT_USAGE;
}

int args_write_option(int opt, char *text, args_write *write)
{
    switch (opt) {
    case ARGS_OPT_ETAG:
        write->etag = text;
        return ARGS_EXIT_OK;
    case ARGS_OPT_REQUEST_ID:
        write->request_id = text;
        return ARGS_EXIT_OK;
    }
    return ARGS_EXIT_USAGE;
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

/* ---- Words for enum values ------------------------------------------------- */

/* A word users may type for an enum value, written as normalise_word
 * leaves it. */
typedef struct {
    const char *word;
    int value;
} enum_word;

/* Writes text to buf in the form the tables use: lower case, '-' for '_',
 * and å, ä, ö (either case, UTF-8) without their marks. Returns false when
 * text is too long to be any of the words. */
static bool normalise_word(const char *text, char buf[WORD_TEXT_MAX])
{
    size_t n = 0;
    for (const unsigned char *c = (const unsigned char *)text; *c != '\0'; c++) {
        char letter = (char)tolower(*c);
        if (*c == '_') {
            letter = '-';
        } else if (c[0] == 0xC3 && c[1] != '\0') {
            /* UTF-8 of å ä Å Ä is C3 A5, C3 A4, C3 85, C3 84; of ö Ö C3 B6, C3 96. */
            unsigned char second = c[1];
            if (second == 0xA5 || second == 0xA4 || second == 0x85 || second == 0x84) {
                letter = 'a';
                c++;
            } else if (second == 0xB6 || second == 0x96) {
                letter = 'o';
                c++;
            }
        }
        if (n + 1 >= WORD_TEXT_MAX)
            return false;
        buf[n++] = letter;
    }
    buf[n] = '\0';
    return true;
}

/* Looks text up among n words; on a match sets *value and returns
 * ARGS_EXIT_OK, else prints "FLAG takes ALLOWED, not 'TEXT'". */
static int parse_enum_word(const args_command *command, const char *flag, const char *allowed,
                           const enum_word *words, size_t n, const char *text, int *value)
{
    char normal[WORD_TEXT_MAX];
    if (normalise_word(text, normal)) {
        for (size_t i = 0; i < n; i++) {
            if (strcmp(words[i].word, normal) == 0) {
                *value = words[i].value;
                return ARGS_EXIT_OK;
            }
        }
    }
    return args_usage_error(command, "%s takes %s, not '%s'", flag, allowed, text);
}

#define N_WORDS(words) (sizeof(words) / sizeof((words)[0]))

int args_parse_kind(const args_command *command, const char *text, Valv__V1__AssetKind *out)
{
    static const enum_word words[] = {
        {"information", VALV__V1__ASSET_KIND__INFORMATION},
        {"it-system", VALV__V1__ASSET_KIND__IT_SYSTEM},
        {"facility", VALV__V1__ASSET_KIND__FACILITY},
    };
    int value = 0; /* set whenever rc is ARGS_EXIT_OK; initialised for the optimiser */
    int rc = parse_enum_word(command, "--kind", "information, it-system or facility", words,
                             N_WORDS(words), text, &value);
    if (rc == ARGS_EXIT_OK)
        *out = (Valv__V1__AssetKind)value;
    return rc;
}

int args_parse_level(const args_command *command, const char *flag, const char *text,
                     Valv__V1__Level *out)
{
    static const enum_word words[] = {
        {"0", VALV__V1__LEVEL__NEGLIGIBLE},
        {"1", VALV__V1__LEVEL__MODERATE},
        {"2", VALV__V1__LEVEL__SIGNIFICANT},
        {"3", VALV__V1__LEVEL__SERIOUS},
        {"4", VALV__V1__LEVEL__VERY_SERIOUS},
        {"negligible", VALV__V1__LEVEL__NEGLIGIBLE},
        {"moderate", VALV__V1__LEVEL__MODERATE},
        {"significant", VALV__V1__LEVEL__SIGNIFICANT},
        {"serious", VALV__V1__LEVEL__SERIOUS},
        {"very-serious", VALV__V1__LEVEL__VERY_SERIOUS},
        {"forsumbar", VALV__V1__LEVEL__NEGLIGIBLE},
        {"ingen", VALV__V1__LEVEL__NEGLIGIBLE},
        {"mattlig", VALV__V1__LEVEL__MODERATE},
        {"betydande", VALV__V1__LEVEL__SIGNIFICANT},
        {"allvarlig", VALV__V1__LEVEL__SERIOUS},
        {"synnerligen-allvarlig", VALV__V1__LEVEL__VERY_SERIOUS},
    };
    int value = 0; /* set whenever rc is ARGS_EXIT_OK; initialised for the optimiser */
    int rc = parse_enum_word(command, flag,
                             "a level 0-4 or its name: negligible, moderate, significant, "
                             "serious, very-serious (försumbar, måttlig, betydande, allvarlig, "
                             "synnerligen-allvarlig)",
                             words, N_WORDS(words), text, &value);
    if (rc == ARGS_EXIT_OK)
        *out = (Valv__V1__Level)value;
    return rc;
}

int args_parse_security_class(const args_command *command, const char *flag, const char *text,
                              Valv__V1__SecurityClass *out)
{
    static const enum_word words[] = {
        {"not-classified", VALV__V1__SECURITY_CLASS__NOT_CLASSIFIED},
        {"restricted", VALV__V1__SECURITY_CLASS__RESTRICTED},
        {"confidential", VALV__V1__SECURITY_CLASS__CONFIDENTIAL},
        {"secret", VALV__V1__SECURITY_CLASS__SECRET},
        {"top-secret", VALV__V1__SECURITY_CLASS__TOP_SECRET},
        {"ingen", VALV__V1__SECURITY_CLASS__NOT_CLASSIFIED},
        {"begransat-hemlig", VALV__V1__SECURITY_CLASS__RESTRICTED},
        {"konfidentiell", VALV__V1__SECURITY_CLASS__CONFIDENTIAL},
        {"hemlig", VALV__V1__SECURITY_CLASS__SECRET},
        {"kvalificerat-hemlig", VALV__V1__SECURITY_CLASS__TOP_SECRET},
    };
    int value = 0; /* set whenever rc is ARGS_EXIT_OK; initialised for the optimiser */
    int rc = parse_enum_word(command, flag,
                             "not-classified, restricted, confidential, secret or top-secret "
                             "(ingen, begränsat-hemlig, konfidentiell, hemlig, "
                             "kvalificerat-hemlig)",
                             words, N_WORDS(words), text, &value);
    if (rc == ARGS_EXIT_OK)
        *out = (Valv__V1__SecurityClass)value;
    return rc;
}

int args_parse_link_type(const args_command *command, const char *text, Valv__V1__LinkType *out)
{
    static const enum_word words[] = {
        {"processed-by", VALV__V1__LINK_TYPE__PROCESSED_BY},
        {"stored-in", VALV__V1__LINK_TYPE__STORED_IN},
        {"hosted-in", VALV__V1__LINK_TYPE__HOSTED_IN},
        {"depends-on", VALV__V1__LINK_TYPE__DEPENDS_ON},
        {"part-of", VALV__V1__LINK_TYPE__PART_OF},
    };
    int value = 0; /* set whenever rc is ARGS_EXIT_OK; initialised for the optimiser */
    int rc = parse_enum_word(command, "TYPE",
                             "processed-by, stored-in, hosted-in, depends-on or part-of", words,
                             N_WORDS(words), text, &value);
    if (rc == ARGS_EXIT_OK)
        *out = (Valv__V1__LinkType)value;
    return rc;
}

int args_parse_audit_action(const args_command *command, const char *text,
                            Valv__V1__AuditAction *out)
{
    static const enum_word words[] = {
        {"create", VALV__V1__AUDIT_ACTION__ACTION_CREATE},
        {"update", VALV__V1__AUDIT_ACTION__ACTION_UPDATE},
        {"delete", VALV__V1__AUDIT_ACTION__ACTION_DELETE},
        {"undelete", VALV__V1__AUDIT_ACTION__ACTION_UNDELETE},
        {"link", VALV__V1__AUDIT_ACTION__ACTION_LINK},
        {"unlink", VALV__V1__AUDIT_ACTION__ACTION_UNLINK},
        {"approve", VALV__V1__AUDIT_ACTION__ACTION_APPROVE},
        {"return", VALV__V1__AUDIT_ACTION__ACTION_RETURN},
        {"inherit", VALV__V1__AUDIT_ACTION__ACTION_INHERIT},
    };
    int value = 0; /* set whenever rc is ARGS_EXIT_OK; initialised for the optimiser */
    int rc = parse_enum_word(command, "--action",
                             "create, update, delete, undelete, link, unlink, approve, return "
                             "or inherit",
                             words, N_WORDS(words), text, &value);
    if (rc == ARGS_EXIT_OK)
        *out = (Valv__V1__AuditAction)value;
    return rc;
}

/* ---- Times ---------------------------------------------------------------- */

/* Reads exactly n digits at *p into *out and moves *p past them. */
static bool read_digits(const char **p, int n, int *out)
{
    int value = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i]))
            return false;
        value = value * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = value;
    return true;
}

/* Reads the character c at *p (either case) and moves past it. */
static bool read_char(const char **p, char c)
{
    if (toupper((unsigned char)**p) != c)
        return false;
    (*p)++;
    return true;
}

static int days_in_month(int year, int month)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return month == 2 && leap ? 29 : days[month - 1];
}

/* Reads a date, YYYY-MM-DD, checking that the day exists. */
static bool read_date(const char **p, struct tm *tm)
{
    int year, month, day;
    if (!read_digits(p, 4, &year) || !read_char(p, '-') || !read_digits(p, 2, &month) ||
        !read_char(p, '-') || !read_digits(p, 2, &day))
        return false;
    if (year < 1 || month < 1 || month > 12 || day < 1 || day > days_in_month(year, month))
        return false;
    tm->tm_year = year - 1900;
    tm->tm_mon = month - 1;
    tm->tm_mday = day;
    return true;
}

/* Reads HH:MM:SS and an optional fraction of up to 9 digits. */
static bool read_clock(const char **p, struct tm *tm, int32_t *nanos)
{
    if (!read_digits(p, 2, &tm->tm_hour) || !read_char(p, ':') ||
        !read_digits(p, 2, &tm->tm_min) || !read_char(p, ':') || !read_digits(p, 2, &tm->tm_sec))
        return false;
    if (tm->tm_hour > 23 || tm->tm_min > 59 || tm->tm_sec > 59)
        return false;
    *nanos = 0;
    if (**p != '.')
        return true;
    (*p)++;
    int digits = 0;
    for (; isdigit((unsigned char)**p); (*p)++, digits++) {
        if (digits == 9)
            return false;
        *nanos = *nanos * 10 + (**p - '0');
    }
    for (int i = digits; i < 9; i++)
        *nanos *= 10;
    return digits > 0;
}

/* Reads the zone, Z or +HH:MM / -HH:MM, as seconds east of UTC. */
static bool read_zone(const char **p, int *offset)
{
    if (read_char(p, 'Z')) {
        *offset = 0;
        return true;
    }
    char sign = **p;
    int hours, minutes;
    if (sign != '+' && sign != '-')
        return false;
    (*p)++;
    if (!read_digits(p, 2, &hours) || !read_char(p, ':') || !read_digits(p, 2, &minutes) ||
        hours > 23 || minutes > 59)
        return false;
    *offset = (sign == '-' ? -1 : 1) * (hours * 3600 + minutes * 60);
    return true;
}

int args_parse_time(const args_command *command, const char *flag, const char *text,
                    Google__Protobuf__Timestamp *out)
{
    const char *p = text;
    struct tm tm = {0};
    int32_t nanos = 0;
    int offset = 0;
    bool ok = read_date(&p, &tm);
    if (ok && *p != '\0') {
        ok = (read_char(&p, 'T') || read_char(&p, ' ')) && read_clock(&p, &tm, &nanos) &&
             read_zone(&p, &offset) && *p == '\0';
    }
    if (!ok) {
        return args_usage_error(command,
                                "%s takes a date (2026-03-01, midnight UTC) or an RFC 3339 time "
                                "(2026-03-01T14:30:00Z, 2026-03-01T14:30:00+01:00), not '%s'",
                                flag, text);
    }
    out->seconds = (int64_t)timegm(&tm) - offset;
    out->nanos = nanos;
    return ARGS_EXIT_OK;
}

/* The short-form letters, in args_dimension order. */
static const char dimension_letters[ARGS_DIMENSIONS] = {'K', 'R', 'T', 'S'};

const char *args_dimension_field(args_dimension dimension)
{
    static const char *const fields[ARGS_DIMENSIONS] = {
        "confidentiality", "integrity", "availability", "traceability",
    };
    return fields[dimension];
}

int args_parse_short_level(const args_command *command, const char *text,
                           args_dimension *dimension_out, Valv__V1__Level *level_out)
{
    char letter = (char)toupper((unsigned char)text[0]);
    if (text[0] != '\0' && text[1] >= '0' && text[1] <= '4' && text[2] == '\0') {
        for (int d = 0; d < ARGS_DIMENSIONS; d++) {
            if (dimension_letters[d] == letter) {
                *dimension_out = (args_dimension)d;
                *level_out = (Valv__V1__Level)(VALV__V1__LEVEL__NEGLIGIBLE + (text[1] - '0'));
                return ARGS_EXIT_OK;
            }
        }
    }
    return args_usage_error(command,
                            "a short level is K, R, T or S and a number 0-4 (K3 R2 T2 S1), "
                            "not '%s'",
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

void args_list_free_items(args_list *list)
{
    for (size_t i = 0; i < list->n; i++)
        free(list->items[i]);
    args_list_free(list);
}

int args_mask_add(args_list *paths, const char *fmt, ...)
{
    char *path;
    va_list ap;
    va_start(ap, fmt);
    int len = vasprintf(&path, fmt, ap);
    va_end(ap);
    if (len < 0) {
        fputs("valv: out of memory\n", stderr);
        return ARGS_EXIT_FAILED;
    }
    for (size_t i = 0; i < paths->n; i++) {
        if (strcmp(paths->items[i], path) == 0) {
            free(path);
            return ARGS_EXIT_OK;
        }
    }
    int rc = args_list_add(paths, path);
    if (rc != ARGS_EXIT_OK)
        free(path);
    return rc;
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

int args_asset_operand(const args_parser *p, int index, char **name_out)
{
    *name_out = args_asset_name(p->argv[optind + index]);
    if (*name_out == NULL) {
        fputs("valv: out of memory\n", stderr);
        return ARGS_EXIT_FAILED;
    }
    return ARGS_EXIT_OK;
}

int args_single_asset(const args_parser *p, char **name_out)
{
    int rc = args_operands(p, 1, 1, "NAME");
    if (rc == ARGS_EXIT_OK)
        rc = args_asset_operand(p, 0, name_out);
    return rc;
}
