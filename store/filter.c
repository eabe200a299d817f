/* filter.c - AIP-160 filters: tokenizer, parser and evaluator.
 *
 * The text is cut into tokens first, then parsed by recursive descent into a
 * tree. AND and OR nodes hold a flat list of children rather than a binary
 * chain, so the tree (and the recursion over it) is only as deep as the
 * nesting of parentheses and NOT, which VALV_FILTER_DEPTH_MAX bounds.
 * Values are checked against their field while parsing, so that matching
 * cannot fail and needs no allocation.
 *
 * Positions in messages are 1-based and count characters (UTF-8 code
 * points), so they match what the user sees in a terminal.
 *
 * Extensions to the header's grammar, for convenience: strings may also be
 * single-quoted; a word that starts with a digit may contain ':' and '+', so
 * RFC 3339 times need no quotes; ':' on a field with a single non-string
 * value (kind, a level, a time, ...) means '='; "field:*" on a string field
 * asks whether the field is set (non-empty).
 */
#include "filter.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "limits.h"
#include "validate.h"

/* ------------------------------------------------------------------------
 * Tokens
 */

enum token_kind {
    TOK_END,
    TOK_WORD,
    TOK_STRING,
    TOK_LPAREN,
    TOK_RPAREN,
    TOK_COMMA,
    TOK_MINUS,
    TOK_AND,
    TOK_OR,
    TOK_NOT,
    /* The comparison operators; keep them last (see is_operator). */
    TOK_EQ,
    TOK_NE,
    TOK_LT,
    TOK_LE,
    TOK_GT,
    TOK_GE,
    TOK_HAS,
};

struct token {
    enum token_kind kind;
    size_t offset; /* bytes from the start of the text */
    size_t len;    /* bytes of raw text, quotes and escapes included */
};

/* Longer spellings first, so that "<=" is not read as "<" then "=". */
static const struct {
    const char *text;
    enum token_kind kind;
} punctuation[] = {
    {"!=", TOK_NE}, {"<=", TOK_LE},     {">=", TOK_GE},     {"=", TOK_EQ},
    {"<", TOK_LT},  {">", TOK_GT},      {":", TOK_HAS},     {"(", TOK_LPAREN},
    {")", TOK_RPAREN}, {",", TOK_COMMA}, {"-", TOK_MINUS},
};

#define N_PUNCTUATION (sizeof punctuation / sizeof punctuation[0])

static bool is_operator(enum token_kind kind)
{
    return kind >= TOK_EQ;
}

static const char *operator_text(enum token_kind kind)
{
    for (size_t i = 0; i < N_PUNCTUATION; i++)
        if (punctuation[i].kind == kind)
            return punctuation[i].text;
    return "?";
}

/* ------------------------------------------------------------------------
 * Fields
 */

enum field_type {
    TYPE_STRING,          /* = != : */
    TYPE_NAME,            /* like a string; "=" also takes a bare asset id */
    TYPE_LABELS,          /* "=" and ":" test for one label */
    TYPE_ATTRIBUTES,      /* "attributes:KEY" tests for a key */
    TYPE_ATTRIBUTE_VALUE, /* attributes.KEY, compared as a string */
    TYPE_KIND,
    TYPE_LEVEL,
    TYPE_SECURITY_CLASS,
    TYPE_REVIEW_STATE,
    TYPE_BOOL,
    TYPE_INTEGER,
    TYPE_TIME,
};

enum field_id {
    FIELD_NAME,
    FIELD_KIND,
    FIELD_DISPLAY_NAME,
    FIELD_DESCRIPTION,
    FIELD_OWNER_UNIT,
    FIELD_OWNER,
    FIELD_SOURCE,
    FIELD_EXTERNAL_ID,
    FIELD_LABELS,
    FIELD_ATTRIBUTES,
    FIELD_ATTRIBUTE_VALUE,
    FIELD_CREATE_TIME,
    FIELD_UPDATE_TIME,
    FIELD_DELETE_TIME,
    FIELD_REVISION,
    FIELD_FLAGGED,
    FIELD_REVIEW_STATE,
    FIELD_REVIEW_OVERDUE,
    FIELD_CLASSIFICATION_CONFIDENTIALITY,
    FIELD_CLASSIFICATION_INTEGRITY,
    FIELD_CLASSIFICATION_AVAILABILITY,
    FIELD_CLASSIFICATION_TRACEABILITY,
    FIELD_EFFECTIVE_CONFIDENTIALITY,
    FIELD_EFFECTIVE_INTEGRITY,
    FIELD_EFFECTIVE_AVAILABILITY,
    FIELD_EFFECTIVE_TRACEABILITY,
    FIELD_EFFECTIVE_SECURITY_CLASS,
    FIELD_EFFECTIVE_SECURITY_SENSITIVE,
    FIELD_SECURITY_SECURITY_CLASS,
    FIELD_SECURITY_SECURITY_SENSITIVE,
    FIELD_SECURITY_PROTECTED_OBJECT,
};

struct field {
    const char *name;
    enum field_id id;
    enum field_type type;
};

#define ATTRIBUTE_PREFIX "attributes."

/* Entries sharing a prefix ("effective.") stay together: the list of fields
 * in messages relies on it. */
static const struct field fields[] = {
    {"name", FIELD_NAME, TYPE_NAME},
    {"kind", FIELD_KIND, TYPE_KIND},
    {"display_name", FIELD_DISPLAY_NAME, TYPE_STRING},
    {"description", FIELD_DESCRIPTION, TYPE_STRING},
    {"owner_unit", FIELD_OWNER_UNIT, TYPE_STRING},
    {"owner", FIELD_OWNER, TYPE_STRING},
    {"source", FIELD_SOURCE, TYPE_STRING},
    {"external_id", FIELD_EXTERNAL_ID, TYPE_STRING},
    {"labels", FIELD_LABELS, TYPE_LABELS},
    {"attributes", FIELD_ATTRIBUTES, TYPE_ATTRIBUTES},
    {ATTRIBUTE_PREFIX "KEY", FIELD_ATTRIBUTE_VALUE, TYPE_ATTRIBUTE_VALUE},
    {"create_time", FIELD_CREATE_TIME, TYPE_TIME},
    {"update_time", FIELD_UPDATE_TIME, TYPE_TIME},
    {"delete_time", FIELD_DELETE_TIME, TYPE_TIME},
    {"revision", FIELD_REVISION, TYPE_INTEGER},
    {"flagged", FIELD_FLAGGED, TYPE_BOOL},
    {"review.state", FIELD_REVIEW_STATE, TYPE_REVIEW_STATE},
    {"review.overdue", FIELD_REVIEW_OVERDUE, TYPE_BOOL},
    {"classification.confidentiality", FIELD_CLASSIFICATION_CONFIDENTIALITY, TYPE_LEVEL},
    {"classification.integrity", FIELD_CLASSIFICATION_INTEGRITY, TYPE_LEVEL},
    {"classification.availability", FIELD_CLASSIFICATION_AVAILABILITY, TYPE_LEVEL},
    {"classification.traceability", FIELD_CLASSIFICATION_TRACEABILITY, TYPE_LEVEL},
    {"effective.confidentiality", FIELD_EFFECTIVE_CONFIDENTIALITY, TYPE_LEVEL},
    {"effective.integrity", FIELD_EFFECTIVE_INTEGRITY, TYPE_LEVEL},
    {"effective.availability", FIELD_EFFECTIVE_AVAILABILITY, TYPE_LEVEL},
    {"effective.traceability", FIELD_EFFECTIVE_TRACEABILITY, TYPE_LEVEL},
    {"effective.security_class", FIELD_EFFECTIVE_SECURITY_CLASS, TYPE_SECURITY_CLASS},
    {"effective.security_sensitive", FIELD_EFFECTIVE_SECURITY_SENSITIVE, TYPE_BOOL},
    {"security.security_class", FIELD_SECURITY_SECURITY_CLASS, TYPE_SECURITY_CLASS},
    {"security.security_sensitive", FIELD_SECURITY_SECURITY_SENSITIVE, TYPE_BOOL},
    {"security.protected_object", FIELD_SECURITY_PROTECTED_OBJECT, TYPE_BOOL},
};

#define N_FIELDS (sizeof fields / sizeof fields[0])

#define OPERATOR_BIT(kind) (1u << ((kind) - TOK_EQ))
#define EQUALITY_OPERATORS (OPERATOR_BIT(TOK_EQ) | OPERATOR_BIT(TOK_NE) | OPERATOR_BIT(TOK_HAS))
#define ALL_OPERATORS                                                                        \
    (EQUALITY_OPERATORS | OPERATOR_BIT(TOK_LT) | OPERATOR_BIT(TOK_LE) | OPERATOR_BIT(TOK_GT) | \
     OPERATOR_BIT(TOK_GE))

static unsigned allowed_operators(enum field_type type)
{
    switch (type) {
    case TYPE_ATTRIBUTES:
        return OPERATOR_BIT(TOK_HAS);
    case TYPE_LEVEL:
    case TYPE_SECURITY_CLASS:
    case TYPE_INTEGER:
    case TYPE_TIME:
        return ALL_OPERATORS;
    default:
        return EQUALITY_OPERATORS;
    }
}

/* ------------------------------------------------------------------------
 * The tree
 */

enum node_kind { NODE_AND, NODE_OR, NODE_NOT, NODE_COMPARE, NODE_SEARCH };

struct node {
    enum node_kind kind;
    struct node **children; /* AND, OR: two or more; NOT: one */
    size_t n_children;
    size_t children_cap;
    /* COMPARE: field op value. SEARCH: a bare value (field NULL). */
    const struct field *field;
    char *key;             /* the KEY of attributes.KEY */
    enum token_kind op;
    char *text;            /* the value; for name "=" always "assets/ID" */
    long long number;      /* enum value, boolean, integer, or a time's seconds */
    int nanos;             /* a time's nanoseconds */
};

struct filter {
    struct node *root;
};

static void node_free(struct node *n)
{
    if (n == NULL)
        return;
    for (size_t i = 0; i < n->n_children; i++)
        node_free(n->children[i]);
    free(n->children);
    free(n->key);
    free(n->text);
    free(n);
}

static struct node *node_new(enum node_kind kind)
{
    struct node *n = calloc(1, sizeof *n);
    if (n != NULL)
        n->kind = kind;
    return n;
}

/* Adds child to list's children. On failure the caller still owns child. */
static int node_append(struct node *list, struct node *child)
{
    if (list->n_children == list->children_cap) {
        size_t cap = list->children_cap == 0 ? 4 : 2 * list->children_cap;
        struct node **grown = realloc(list->children, cap * sizeof *grown);
        if (grown == NULL)
            return VALV_EINTERNAL;
        list->children = grown;
        list->children_cap = cap;
    }
    list->children[list->n_children++] = child;
    return 0;
}

/* ------------------------------------------------------------------------
 * The parser's state and its errors
 */

struct parser {
    const char *text;
    struct token *tokens; /* ends with a TOK_END */
    size_t n_tokens;
    size_t next;          /* index of the token being looked at */
    int depth;            /* parentheses and NOTs open around the current point */
    valv_error *err;
};

#define TOKEN_SHOWN_MAX 40 /* bytes of a token quoted in a message */

#define DESCRIPTION_CAP sizeof(((valv_violation *)NULL)->description)

/* Records the one violation of a bad filter. The message gets the whole
 * text; the violation's shorter description ends a list that does not fit
 * with ", ..." rather than in the middle of a word. */
static int fail(valv_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(valv_error *err, const char *fmt, ...)
{
    char text[VALV_ERROR_MESSAGE_MAX - sizeof "filter: " + 1];
    char description[DESCRIPTION_CAP];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    if (err == NULL)
        return VALV_EINVAL;
    size_t len = strlen(text);
    bool cut = len >= sizeof description;
    if (cut)
        len = sizeof description - sizeof ", ...";
    memcpy(description, text, len);
    description[len] = '\0';
    char *comma = cut ? strrchr(description, ',') : NULL;
    if (comma != NULL)
        strcpy(comma, ", ...");
    bool message_free = err->message[0] == '\0';
    valv_error_violation(err, "filter", "%s", description);
    if (message_free)
        snprintf(err->message, sizeof err->message, "filter: %s", text);
    return VALV_EINVAL;
}

/* 1-based character position of the byte at offset. */
static size_t position_of(const char *text, size_t offset)
{
    size_t position = 1;
    for (size_t i = 0; i < offset; i++)
        if (((unsigned char)text[i] & 0xC0) != 0x80) /* not a continuation byte */
            position++;
    return position;
}

static int fail_at(const struct parser *p, size_t offset, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail_at(const struct parser *p, size_t offset, const char *fmt, ...)
{
    char text[VALV_ERROR_MESSAGE_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    return fail(p->err, "at position %zu: %s", position_of(p->text, offset), text);
}

static int out_of_memory(const struct parser *p)
{
    return valv_error_set(p->err, VALV_EINTERNAL, "filter: out of memory");
}

/* Writes t as a message shows it: 'its text', cut at TOKEN_SHOWN_MAX bytes
 * on a character boundary. Returns buf. */
static const char *show_token(const struct parser *p, const struct token *t, char *buf,
                              size_t cap)
{
    if (t->kind == TOK_END) {
        snprintf(buf, cap, "the end of the filter");
        return buf;
    }
    const char *s = p->text + t->offset;
    size_t len = t->len;
    bool cut = len > TOKEN_SHOWN_MAX;
    if (cut) {
        len = TOKEN_SHOWN_MAX;
        while (len > 0 && ((unsigned char)s[len] & 0xC0) == 0x80)
            len--;
    }
    snprintf(buf, cap, "'%.*s%s'", (int)len, s, cut ? "..." : "");
    return buf;
}

#define SHOWN_CAP (TOKEN_SHOWN_MAX + 8)

/* ------------------------------------------------------------------------
 * Tokenizer
 */

static bool is_ascii_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static bool is_ascii_letter(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static char ascii_upper(char c)
{
    return c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
}

static char ascii_lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* Bytes >= 0x80 belong to words, so non-ASCII names need no quotes. A word
 * that starts with a digit may hold ':' and '+' to spell an RFC 3339 time. */
static bool is_word_byte(unsigned char c, bool first, bool numeric)
{
    if (is_ascii_letter(c) || is_ascii_digit(c) || c == '_' || c == '.' || c == '*' || c >= 0x80)
        return true;
    if (first)
        return false;
    return c == '-' || (numeric && (c == ':' || c == '+'));
}

static void lex_word(struct parser *p, struct token *t)
{
    const char *s = p->text + t->offset;
    bool numeric = is_ascii_digit((unsigned char)s[0]);
    size_t len = 0;
    while (is_word_byte((unsigned char)s[len], len == 0, numeric))
        len++;
    t->len = len;
    t->kind = TOK_WORD;
    /* The keywords are upper case only, as in AIP-160; "and" is a value. */
    if (len == 3 && memcmp(s, "AND", 3) == 0)
        t->kind = TOK_AND;
    else if (len == 2 && memcmp(s, "OR", 2) == 0)
        t->kind = TOK_OR;
    else if (len == 3 && memcmp(s, "NOT", 3) == 0)
        t->kind = TOK_NOT;
}

static bool is_escapable(char c)
{
    return c == '"' || c == '\'' || c == '\\';
}

static int lex_string(struct parser *p, struct token *t)
{
    const char *s = p->text + t->offset;
    char quote = s[0];
    size_t i = 1;
    while (s[i] != quote) {
        if (s[i] == '\0')
            return fail_at(p, t->offset, "unterminated string; end it with %c", quote);
        if (s[i] == '\\') {
            if (!is_escapable(s[i + 1]))
                return fail_at(p, t->offset + i,
                               "unknown escape in a string; only \\\", \\' and \\\\ are allowed");
            i++;
        }
        i++;
    }
    t->kind = TOK_STRING;
    t->len = i + 1;
    return 0;
}

static bool lex_punctuation(struct parser *p, struct token *t)
{
    const char *s = p->text + t->offset;
    for (size_t i = 0; i < N_PUNCTUATION; i++) {
        size_t len = strlen(punctuation[i].text);
        if (strncmp(s, punctuation[i].text, len) == 0) {
            t->kind = punctuation[i].kind;
            t->len = len;
            return true;
        }
    }
    return false;
}

/* Fills p->tokens, which has room for one token per byte plus TOK_END. */
static int lex(struct parser *p)
{
    size_t offset = 0;
    for (;;) {
        while (p->text[offset] != '\0' && strchr(" \t\r\n", p->text[offset]) != NULL)
            offset++;
        struct token *t = &p->tokens[p->n_tokens++];
        t->offset = offset;
        unsigned char c = (unsigned char)p->text[offset];
        if (c == '\0') {
            t->kind = TOK_END;
            t->len = 0;
            return 0;
        }
        if (c == '"' || c == '\'') {
            int rc = lex_string(p, t);
            if (rc != 0)
                return rc;
        } else if (is_word_byte(c, true, false)) {
            lex_word(p, t);
        } else if (!lex_punctuation(p, t)) {
            if (c >= 0x20 && c < 0x7F)
                return fail_at(p, offset, "unexpected character '%c'", c);
            return fail_at(p, offset, "unexpected control character 0x%02x", c);
        }
        offset += t->len;
    }
}

/* Copies the value of a WORD or STRING token, without quotes and escapes.
 * NULL when out of memory. */
static char *token_value(const struct parser *p, const struct token *t)
{
    const char *s = p->text + t->offset;
    size_t len = t->len;
    bool quoted = t->kind == TOK_STRING;
    if (quoted) {
        s++;
        len -= 2;
    }
    char *value = malloc(len + 1);
    if (value == NULL)
        return NULL;
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (quoted && s[i] == '\\')
            i++; /* the lexer made sure an escapable character follows */
        value[n++] = s[i];
    }
    value[n] = '\0';
    return value;
}

/* ------------------------------------------------------------------------
 * Values
 */

static const ProtobufCEnumDescriptor *enum_descriptor(enum field_type type)
{
    switch (type) {
    case TYPE_KIND:
        return &valv__v1__asset_kind__descriptor;
    case TYPE_LEVEL:
        return &valv__v1__level__descriptor;
    case TYPE_SECURITY_CLASS:
        return &valv__v1__security_class__descriptor;
    case TYPE_REVIEW_STATE:
        return &valv__v1__review_state__descriptor;
    default:
        return NULL;
    }
}

/* Finds an enum value by name, ignoring case and taking '-' for '_'
 * ("it-system" is IT_SYSTEM). */
static bool enum_lookup(const ProtobufCEnumDescriptor *desc, const char *text, long long *value)
{
    char name[64];
    size_t i;
    for (i = 0; text[i] != '\0'; i++) {
        if (i + 1 >= sizeof name)
            return false;
        name[i] = text[i] == '-' ? '_' : ascii_upper(text[i]);
    }
    name[i] = '\0';
    const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value_by_name(desc, name);
    if (v == NULL)
        return false;
    *value = v->value;
    return true;
}

/* Writes the names a user may give for an enum field, in declaration order,
 * leaving out the unspecified value (accepted, but rarely meant). */
static void list_enum_names(enum field_type type, char *buf, size_t cap)
{
    const ProtobufCEnumDescriptor *desc = enum_descriptor(type);
    size_t len = snprintf(buf, cap, "%s", type == TYPE_LEVEL ? "0-4" : "");
    for (unsigned i = 0; i < desc->n_values && len < cap; i++) {
        if (desc->values[i].value == 0)
            continue;
        len += snprintf(buf + len, cap - len, "%s%s", len > 0 ? ", " : "", desc->values[i].name);
    }
}

static bool read_digits(const char **s, int count, int *out)
{
    int value = 0;
    for (int i = 0; i < count; i++) {
        if (!is_ascii_digit((unsigned char)(*s)[i]))
            return false;
        value = value * 10 + ((*s)[i] - '0');
    }
    *s += count;
    *out = value;
    return true;
}

/* Steps over c if *s starts with it (either case for letters). */
static bool read_char(const char **s, char c)
{
    if (ascii_upper(**s) != c)
        return false;
    (*s)++;
    return true;
}

static bool is_leap_year(int year)
{
    return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

static int days_in_month(int year, int month)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return month == 2 && is_leap_year(year) ? 29 : days[month - 1];
}

/* Parses an RFC 3339 time ("2026-01-01T12:00:00.5+02:00", "...Z"), or a bare
 * date ("2026-01-01"), which means its midnight UTC. */
static bool parse_time(const char *text, long long *seconds, int *nanos)
{
    const char *s = text;
    int year, month, day, hour = 0, minute = 0, second = 0, fraction = 0;
    long offset = 0;
    if (!read_digits(&s, 4, &year) || !read_char(&s, '-') || !read_digits(&s, 2, &month) ||
        !read_char(&s, '-') || !read_digits(&s, 2, &day))
        return false;
    if (*s != '\0') {
        if (!read_char(&s, 'T') || !read_digits(&s, 2, &hour) || !read_char(&s, ':') ||
            !read_digits(&s, 2, &minute) || !read_char(&s, ':') || !read_digits(&s, 2, &second))
            return false;
        if (read_char(&s, '.')) {
            int digits = 0;
            for (; is_ascii_digit((unsigned char)*s); s++, digits++)
                if (digits < 9) /* finer than a nanosecond is dropped */
                    fraction = fraction * 10 + (*s - '0');
            if (digits == 0)
                return false;
            for (; digits < 9; digits++)
                fraction *= 10;
        }
        if (!read_char(&s, 'Z')) {
            int sign = *s == '+' ? 1 : *s == '-' ? -1 : 0;
            int offset_hours, offset_minutes;
            if (sign == 0)
                return false;
            s++;
            if (!read_digits(&s, 2, &offset_hours) || !read_char(&s, ':') ||
                !read_digits(&s, 2, &offset_minutes) || offset_hours > 23 || offset_minutes > 59)
                return false;
            offset = sign * (offset_hours * 3600L + offset_minutes * 60L);
        }
    }
    if (*s != '\0' || year < 1 || month < 1 || month > 12 || day < 1 ||
        day > days_in_month(year, month) || hour > 23 || minute > 59 || second > 60)
        return false;
    struct tm tm = {.tm_year = year - 1900, .tm_mon = month - 1, .tm_mday = day,
                    .tm_hour = hour, .tm_min = minute, .tm_sec = second};
    *seconds = (long long)timegm(&tm) - offset;
    *nanos = fraction;
    return true;
}

static bool parse_integer(const char *text, long long *out)
{
    if (!is_ascii_digit((unsigned char)text[0]))
        return false;
    char *end;
    errno = 0;
    long long value = strtoll(text, &end, 10);
    if (errno != 0 || *end != '\0')
        return false;
    *out = value;
    return true;
}

/* Turns n->text into the form its field compares: a number, a time, or the
 * full resource name. value is the token n->text came from. */
static int convert_value(struct parser *p, const struct token *value, struct node *n)
{
    const struct field *field = n->field;
    char shown[SHOWN_CAP];
    char allowed[256];
    switch (field->type) {
    case TYPE_NAME:
        if (n->op != TOK_HAS && strchr(n->text, '/') == NULL) {
            char *full = malloc(strlen("assets/") + strlen(n->text) + 1);
            if (full == NULL)
                return out_of_memory(p);
            sprintf(full, "assets/%s", n->text);
            free(n->text);
            n->text = full;
        }
        return 0;
    case TYPE_LEVEL:
        /* The level number the CLI shows is the enum value minus one. */
        if (n->text[0] >= '0' && n->text[0] <= '4' && n->text[1] == '\0') {
            n->number = n->text[0] - '0' + 1;
            return 0;
        }
        /* fall through */
    case TYPE_KIND:
    case TYPE_SECURITY_CLASS:
    case TYPE_REVIEW_STATE:
        if (enum_lookup(enum_descriptor(field->type), n->text, &n->number))
            return 0;
        list_enum_names(field->type, allowed, sizeof allowed);
        return fail_at(p, value->offset, "%s: %s is not one of %s", field->name,
                       show_token(p, value, shown, sizeof shown), allowed);
    case TYPE_BOOL:
        if (strcasecmp(n->text, "true") == 0 || strcasecmp(n->text, "false") == 0) {
            n->number = strcasecmp(n->text, "true") == 0;
            return 0;
        }
        return fail_at(p, value->offset, "%s: %s is not one of true, false", field->name,
                       show_token(p, value, shown, sizeof shown));
    case TYPE_INTEGER:
        if (parse_integer(n->text, &n->number))
            return 0;
        return fail_at(p, value->offset, "%s: %s is not a whole number", field->name,
                       show_token(p, value, shown, sizeof shown));
    case TYPE_TIME:
        if (parse_time(n->text, &n->number, &n->nanos))
            return 0;
        return fail_at(p, value->offset,
                       "%s: %s is not an RFC 3339 time such as 2026-01-01T00:00:00Z",
                       field->name, show_token(p, value, shown, sizeof shown));
    default:
        return 0; /* strings, labels and attributes compare as written */
    }
}

/* ------------------------------------------------------------------------
 * Parser
 */

static const struct token *peek(const struct parser *p)
{
    return &p->tokens[p->next];
}

static const struct token *advance(struct parser *p)
{
    const struct token *t = &p->tokens[p->next];
    if (t->kind != TOK_END)
        p->next++;
    return t;
}

static bool starts_term(enum token_kind kind)
{
    return kind == TOK_WORD || kind == TOK_STRING || kind == TOK_LPAREN || kind == TOK_NOT ||
           kind == TOK_MINUS;
}

/* Length of the group prefix of name[0..len) ("effective." is 10), 0 when
 * it has no dot. */
static size_t group_prefix_len(const char *name, size_t len)
{
    const char *dot = memchr(name, '.', len);
    return dot == NULL ? 0 : (size_t)(dot - name + 1);
}

static bool in_group(const char *name, const char *prefix, size_t prefix_len)
{
    return prefix_len > 0 && strncmp(name, prefix, prefix_len) == 0;
}

/* Writes the field names a user might have meant. For "effective.colour"
 * those of the group "effective."; otherwise every field, groups of two or
 * more shown as "effective.*" to keep the message short. */
static void list_fields(const char *unknown, size_t unknown_len, char *buf, size_t cap)
{
    size_t wanted_len = group_prefix_len(unknown, unknown_len);
    bool group_known = false;
    for (size_t i = 0; i < N_FIELDS; i++)
        group_known |= in_group(fields[i].name, unknown, wanted_len);

    size_t len = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < N_FIELDS && len < cap; i++) {
        const char *name = fields[i].name;
        size_t prefix_len = group_prefix_len(name, strlen(name));
        if (group_known) {
            if (in_group(name, unknown, wanted_len))
                len += snprintf(buf + len, cap - len, "%s%s", len > 0 ? ", " : "", name);
            continue;
        }
        bool grouped = prefix_len > 0 &&
                       ((i > 0 && in_group(fields[i - 1].name, name, prefix_len)) ||
                        (i + 1 < N_FIELDS && in_group(fields[i + 1].name, name, prefix_len)));
        if (!grouped)
            len += snprintf(buf + len, cap - len, "%s%s", len > 0 ? ", " : "", name);
        else if (i == 0 || !in_group(fields[i - 1].name, name, prefix_len))
            len += snprintf(buf + len, cap - len, "%s%.*s*", len > 0 ? ", " : "",
                            (int)prefix_len, name);
    }
}

/* Finds the field a WORD token names; attributes.KEY is any key. */
static const struct field *find_field(const char *name, size_t len)
{
    size_t prefix_len = strlen(ATTRIBUTE_PREFIX);
    for (size_t i = 0; i < N_FIELDS; i++) {
        const struct field *field = &fields[i];
        if (field->type == TYPE_ATTRIBUTE_VALUE) {
            if (len > prefix_len && memcmp(name, ATTRIBUTE_PREFIX, prefix_len) == 0)
                return field;
        } else if (strlen(field->name) == len && memcmp(name, field->name, len) == 0) {
            return field;
        }
    }
    return NULL;
}

/* Writes the operators mask allows: "=, != or :". */
static void list_operators(unsigned mask, char *buf, size_t cap)
{
    int total = 0, written = 0;
    size_t len = 0;
    for (enum token_kind k = TOK_EQ; k <= TOK_HAS; k++)
        total += (mask & OPERATOR_BIT(k)) != 0;
    buf[0] = '\0';
    for (enum token_kind k = TOK_EQ; k <= TOK_HAS && len < cap; k++) {
        if (!(mask & OPERATOR_BIT(k)))
            continue;
        const char *separator = written == 0 ? "" : written == total - 1 ? " or " : ", ";
        len += snprintf(buf + len, cap - len, "%s%s", separator, operator_text(k));
        written++;
    }
}

/* comparison := field op value; the field token is next. */
static int parse_comparison(struct parser *p, struct node **out)
{
    const struct token *name = advance(p);
    const struct token *op = advance(p);
    const struct token *value = peek(p);
    const char *name_text = p->text + name->offset;
    char shown[SHOWN_CAP];
    char allowed[512];
    struct node *n = NULL;
    int rc;

    const struct field *field = find_field(name_text, name->len);
    if (field == NULL) {
        list_fields(name_text, name->len, allowed, sizeof allowed);
        rc = fail_at(p, name->offset, "unknown field %s; fields are: %s",
                     show_token(p, name, shown, sizeof shown), allowed);
        goto done;
    }
    if (!(allowed_operators(field->type) & OPERATOR_BIT(op->kind))) {
        list_operators(allowed_operators(field->type), allowed, sizeof allowed);
        rc = fail_at(p, op->offset, "'%s' is not allowed on %s; use %s", operator_text(op->kind),
                     field->name, allowed);
        goto done;
    }
    if (value->kind != TOK_WORD && value->kind != TOK_STRING) {
        rc = fail_at(p, value->offset, "expected a value after '%s', found %s",
                     operator_text(op->kind), show_token(p, value, shown, sizeof shown));
        goto done;
    }
    advance(p);

    n = node_new(NODE_COMPARE);
    if (n == NULL) {
        rc = out_of_memory(p);
        goto done;
    }
    n->field = field;
    n->op = op->kind;
    n->text = token_value(p, value);
    size_t prefix_len = strlen(ATTRIBUTE_PREFIX);
    if (field->type == TYPE_ATTRIBUTE_VALUE)
        n->key = strndup(name_text + prefix_len, name->len - prefix_len);
    if (n->text == NULL || (field->type == TYPE_ATTRIBUTE_VALUE && n->key == NULL)) {
        rc = out_of_memory(p);
        goto done;
    }
    rc = convert_value(p, value, n);

done:
    if (rc != 0) {
        node_free(n);
        n = NULL;
    }
    *out = n;
    return rc;
}

static int parse_list(struct parser *p, enum node_kind kind, struct node **out);

/* Opens one level of nesting at token t (a '(' or NOT). */
static int enter(struct parser *p, const struct token *t)
{
    if (++p->depth > VALV_FILTER_DEPTH_MAX)
        return fail_at(p, t->offset, "nested deeper than %d levels of parentheses and NOT",
                       VALV_FILTER_DEPTH_MAX);
    return 0;
}

/* simple := "(" expr ")" | comparison | value */
static int parse_simple(struct parser *p, struct node **out)
{
    const struct token *t = peek(p);
    const struct token *after = &p->tokens[p->next + (t->kind == TOK_END ? 0 : 1)];
    char shown[SHOWN_CAP];
    char shown_other[SHOWN_CAP];
    struct node *n = NULL;
    int rc = 0;

    if (t->kind == TOK_LPAREN) {
        rc = enter(p, t);
        if (rc != 0)
            goto done;
        advance(p);
        rc = parse_list(p, NODE_AND, &n);
        if (rc != 0)
            goto done;
        if (peek(p)->kind != TOK_RPAREN) {
            rc = fail_at(p, peek(p)->offset,
                         "expected ')' to close the '(' at position %zu, found %s",
                         position_of(p->text, t->offset),
                         show_token(p, peek(p), shown, sizeof shown));
            goto done;
        }
        advance(p);
        p->depth--;
    } else if (t->kind == TOK_WORD && is_operator(after->kind)) {
        rc = parse_comparison(p, &n);
    } else if (t->kind == TOK_STRING && is_operator(after->kind)) {
        rc = fail_at(p, t->offset, "expected a field name before '%s', found %s",
                     operator_text(after->kind), show_token(p, t, shown, sizeof shown));
    } else if (t->kind == TOK_WORD || t->kind == TOK_STRING) {
        n = node_new(NODE_SEARCH);
        if (n == NULL || (n->text = token_value(p, t)) == NULL) {
            rc = out_of_memory(p);
            goto done;
        }
        advance(p);
    } else if (p->next > 0) {
        rc = fail_at(p, t->offset, "expected a comparison, a value or '(' after %s, found %s",
                     show_token(p, &p->tokens[p->next - 1], shown_other, sizeof shown_other),
                     show_token(p, t, shown, sizeof shown));
    } else {
        rc = fail_at(p, t->offset, "expected a comparison, a value or '(', found %s",
                     show_token(p, t, shown, sizeof shown));
    }

done:
    if (rc != 0) {
        node_free(n);
        n = NULL;
    }
    *out = n;
    return rc;
}

/* term := [ "NOT" | "-" ] simple */
static int parse_term(struct parser *p, struct node **out)
{
    const struct token *t = peek(p);
    struct node *not = NULL;
    struct node *child = NULL;
    int rc;

    if (t->kind != TOK_NOT && t->kind != TOK_MINUS)
        return parse_simple(p, out);
    rc = enter(p, t);
    if (rc != 0)
        goto done;
    advance(p);
    rc = parse_simple(p, &child);
    if (rc != 0)
        goto done;
    p->depth--;
    not = node_new(NODE_NOT);
    if (not == NULL || node_append(not, child) != 0) {
        rc = out_of_memory(p);
        goto done;
    }
    child = NULL;

done:
    node_free(child);
    if (rc != 0) {
        node_free(not);
        not = NULL;
    }
    *out = not;
    return rc;
}

/* Makes *list the AND (or OR, per kind) of *list and item. Takes item in
 * all cases; on failure *list is unchanged. */
static int join(struct parser *p, enum node_kind kind, struct node **list, struct node *item)
{
    if (*list == NULL) {
        *list = item;
        return 0;
    }
    if ((*list)->kind != kind) {
        struct node *joined = node_new(kind);
        if (joined == NULL || node_append(joined, *list) != 0) {
            free(joined);
            node_free(item);
            return out_of_memory(p);
        }
        *list = joined;
    }
    if (node_append(*list, item) != 0) {
        node_free(item);
        return out_of_memory(p);
    }
    return 0;
}

/* expr   := factor { ["AND"] factor }    (kind NODE_AND)
 * factor := term { "OR" term }           (kind NODE_OR)
 * One loop serves both: they differ in the item and in the separator, and
 * only AND may be left out (juxtaposition). */
static int parse_list(struct parser *p, enum node_kind kind, struct node **out)
{
    enum token_kind separator = kind == NODE_AND ? TOK_AND : TOK_OR;
    struct node *list = NULL;
    int rc;

    for (;;) {
        struct node *item;
        rc = kind == NODE_AND ? parse_list(p, NODE_OR, &item) : parse_term(p, &item);
        if (rc != 0)
            goto done;
        rc = join(p, kind, &list, item);
        if (rc != 0)
            goto done;
        if (peek(p)->kind == separator)
            advance(p); /* an item must follow: the next round reports it if not */
        else if (kind != NODE_AND || !starts_term(peek(p)->kind))
            break;
    }

done:
    if (rc != 0) {
        node_free(list);
        list = NULL;
    }
    *out = list;
    return rc;
}

int filter_parse(const char *text, filter **out, valv_error *err)
{
    struct parser p = {.text = text == NULL ? "" : text, .err = err};
    struct node *root = NULL;
    char shown[SHOWN_CAP];
    int rc = 0;

    *out = NULL;
    size_t len = strnlen(p.text, VALV_FILTER_MAX + 1);
    if (len > VALV_FILTER_MAX) {
        rc = fail(err, "is longer than the %d bytes allowed", VALV_FILTER_MAX);
        goto done;
    }
    if (!validate_utf8(p.text, len)) {
        rc = fail(err, "is not valid UTF-8");
        goto done;
    }
    /* Every token but TOK_END takes at least one byte. */
    p.tokens = malloc((len + 1) * sizeof *p.tokens);
    if (p.tokens == NULL) {
        rc = out_of_memory(&p);
        goto done;
    }
    rc = lex(&p);
    if (rc != 0 || p.n_tokens == 1) /* blank text: *out stays NULL, matching everything */
        goto done;

    rc = parse_list(&p, NODE_AND, &root);
    if (rc != 0)
        goto done;
    const struct token *rest = peek(&p);
    if (rest->kind == TOK_RPAREN) {
        rc = fail_at(&p, rest->offset, "unexpected ')' without a matching '('");
        goto done;
    }
    if (rest->kind != TOK_END) {
        rc = fail_at(&p, rest->offset,
                     "unexpected %s; expected AND, OR, a comparison or the end of the filter",
                     show_token(&p, rest, shown, sizeof shown));
        goto done;
    }
    filter *f = malloc(sizeof *f);
    if (f == NULL) {
        rc = out_of_memory(&p);
        goto done;
    }
    f->root = root;
    root = NULL;
    *out = f;

done:
    node_free(root);
    free(p.tokens);
    return rc;
}

void filter_free(filter *f)
{
    if (f == NULL)
        return;
    node_free(f->root);
    free(f);
}

/* ------------------------------------------------------------------------
 * Matching
 */

static bool same_char(char a, char b, bool fold_case)
{
    return fold_case ? ascii_lower(a) == ascii_lower(b) : a == b;
}

/* Matches text against pattern, where '*' stands for any run of bytes.
 * contains: a case-insensitive test for pattern anywhere in text, as if the
 * pattern began and ended with '*'. Case folding is ASCII only. Linear
 * backtracking to the last '*' keeps this O(len(pattern) * len(text)). */
static bool wildcard_match(const char *pattern, const char *text, bool contains)
{
    const char *p = pattern, *t = text;
    const char *star_p = contains ? pattern : NULL; /* where to resume after a '*' */
    const char *star_t = text;
    while (*t != '\0') {
        if (contains && *p == '\0')
            return true;
        if (*p == '*') {
            star_p = ++p;
            star_t = t;
        } else if (*p != '\0' && same_char(*p, *t, contains)) {
            p++;
            t++;
        } else if (star_p != NULL) {
            p = star_p;
            t = ++star_t;
        } else {
            return false;
        }
    }
    while (*p == '*')
        p++;
    return *p == '\0';
}

/* '=' and '!=' test the whole string (with '*' wildcards); ':' tests for a
 * case-insensitive substring, and "field:*" for a non-empty field. */
static bool string_matches(enum token_kind op, const char *actual, const char *pattern)
{
    if (actual == NULL)
        actual = "";
    switch (op) {
    case TOK_EQ:
        return wildcard_match(pattern, actual, false);
    case TOK_NE:
        return !wildcard_match(pattern, actual, false);
    default: /* TOK_HAS */
        if (strcmp(pattern, "*") == 0)
            return actual[0] != '\0';
        return wildcard_match(pattern, actual, true);
    }
}

static const char *string_field(const Valv__V1__Asset *a, enum field_id id)
{
    switch (id) {
    case FIELD_NAME:
        return a->name;
    case FIELD_DISPLAY_NAME:
        return a->display_name;
    case FIELD_DESCRIPTION:
        return a->description;
    case FIELD_OWNER_UNIT:
        return a->owner_unit;
    case FIELD_OWNER:
        return a->owner;
    case FIELD_SOURCE:
        return a->source;
    case FIELD_EXTERNAL_ID:
        return a->external_id;
    default:
        return NULL;
    }
}

/* APPROVED and due: the review is back in the queue. Computed from now_unix
 * rather than read from review.overdue, so that a filter means the same on
 * any asset, however it was obtained. */
static bool review_overdue(const Valv__V1__Asset *a, long long now_unix)
{
    const Valv__V1__ReviewStatus *r = a->review;
    return r != NULL && r->state == VALV__V1__REVIEW_STATE__APPROVED && r->due_time != NULL &&
           (r->due_time->seconds < now_unix ||
            (r->due_time->seconds == now_unix && r->due_time->nanos == 0));
}

/* The value of an enum, boolean or integer field; unset sub-messages give 0. */
static long long number_field(const Valv__V1__Asset *a, enum field_id id, long long now_unix)
{
    const Valv__V1__Classification *c = a->classification;
    const Valv__V1__Effective *e = a->effective;
    const Valv__V1__SecurityProtection *s = a->security;
    switch (id) {
    case FIELD_KIND:
        return a->kind;
    case FIELD_REVISION:
        return a->revision;
    case FIELD_FLAGGED:
        return e != NULL && e->flagged;
    case FIELD_REVIEW_STATE:
        return a->review != NULL ? a->review->state : 0;
    case FIELD_REVIEW_OVERDUE:
        return review_overdue(a, now_unix);
    case FIELD_CLASSIFICATION_CONFIDENTIALITY:
        return c != NULL ? c->confidentiality : 0;
    case FIELD_CLASSIFICATION_INTEGRITY:
        return c != NULL ? c->integrity : 0;
    case FIELD_CLASSIFICATION_AVAILABILITY:
        return c != NULL ? c->availability : 0;
    case FIELD_CLASSIFICATION_TRACEABILITY:
        return c != NULL ? c->traceability : 0;
    case FIELD_EFFECTIVE_CONFIDENTIALITY:
        return e != NULL ? e->confidentiality : 0;
    case FIELD_EFFECTIVE_INTEGRITY:
        return e != NULL ? e->integrity : 0;
    case FIELD_EFFECTIVE_AVAILABILITY:
        return e != NULL ? e->availability : 0;
    case FIELD_EFFECTIVE_TRACEABILITY:
        return e != NULL ? e->traceability : 0;
    case FIELD_EFFECTIVE_SECURITY_CLASS:
        return e != NULL ? e->security_class : 0;
    case FIELD_EFFECTIVE_SECURITY_SENSITIVE:
        return e != NULL && e->security_sensitive;
    case FIELD_SECURITY_SECURITY_CLASS:
        return s != NULL ? s->security_class : 0;
    case FIELD_SECURITY_SECURITY_SENSITIVE:
        return s != NULL && s->security_sensitive;
    case FIELD_SECURITY_PROTECTED_OBJECT:
        return s != NULL && s->protected_object;
    default:
        return 0;
    }
}

static const Google__Protobuf__Timestamp *time_field(const Valv__V1__Asset *a, enum field_id id)
{
    switch (id) {
    case FIELD_CREATE_TIME:
        return a->create_time;
    case FIELD_UPDATE_TIME:
        return a->update_time;
    case FIELD_DELETE_TIME:
        return a->delete_time;
    default:
        return NULL;
    }
}

static bool order_holds(enum token_kind op, int cmp)
{
    switch (op) {
    case TOK_NE:
        return cmp != 0;
    case TOK_LT:
        return cmp < 0;
    case TOK_LE:
        return cmp <= 0;
    case TOK_GT:
        return cmp > 0;
    case TOK_GE:
        return cmp >= 0;
    default: /* TOK_EQ, and TOK_HAS, which means '=' on a single value */
        return cmp == 0;
    }
}

static int compare_numbers(long long a, long long b)
{
    return (a > b) - (a < b);
}

/* Compares a number, a time, an enum or a boolean. An unset level or
 * security class is "not classified", not "below NEGLIGIBLE": it never
 * satisfies '<', '<=', '>' or '>='. */
static bool number_matches(const Valv__V1__Asset *a, const struct node *n, long long now_unix)
{
    int cmp;
    if (n->field->type == TYPE_TIME) {
        const Google__Protobuf__Timestamp *ts = time_field(a, n->field->id);
        long long seconds = ts != NULL ? ts->seconds : 0;
        int nanos = ts != NULL ? ts->nanos : 0;
        cmp = compare_numbers(seconds, n->number);
        if (cmp == 0)
            cmp = compare_numbers(nanos, n->nanos);
    } else {
        long long actual = number_field(a, n->field->id, now_unix);
        bool ordering = n->op != TOK_EQ && n->op != TOK_NE && n->op != TOK_HAS;
        bool ranked = n->field->type == TYPE_LEVEL || n->field->type == TYPE_SECURITY_CLASS;
        if (ordering && ranked && actual == 0)
            return false;
        cmp = compare_numbers(actual, n->number);
    }
    return order_holds(n->op, cmp);
}

static bool compare_matches(const Valv__V1__Asset *a, const struct node *n, long long now_unix)
{
    bool found = false;
    switch (n->field->type) {
    case TYPE_STRING:
    case TYPE_NAME:
        return string_matches(n->op, string_field(a, n->field->id), n->text);
    case TYPE_LABELS:
        for (size_t i = 0; i < a->n_labels && !found; i++)
            found = wildcard_match(n->text, a->labels[i], false);
        return n->op == TOK_NE ? !found : found;
    case TYPE_ATTRIBUTES:
        for (size_t i = 0; i < a->n_attributes && !found; i++)
            found = wildcard_match(n->text, a->attributes[i]->key, false);
        return found;
    case TYPE_ATTRIBUTE_VALUE:
        for (size_t i = 0; i < a->n_attributes; i++)
            if (strcmp(a->attributes[i]->key, n->key) == 0)
                return string_matches(n->op, a->attributes[i]->value, n->text);
        return n->op == TOK_NE; /* a missing key is "not equal" to anything */
    default:
        return number_matches(a, n, now_unix);
    }
}

/* A bare value: a case-insensitive search of the free-text fields. */
static bool search_matches(const Valv__V1__Asset *a, const struct node *n)
{
    const char *texts[] = {a->display_name, a->description, a->owner, a->external_id};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
        if (texts[i] != NULL && wildcard_match(n->text, texts[i], true))
            return true;
    return false;
}

static bool node_matches(const struct node *n, const Valv__V1__Asset *a, long long now_unix)
{
    switch (n->kind) {
    case NODE_AND:
        for (size_t i = 0; i < n->n_children; i++)
            if (!node_matches(n->children[i], a, now_unix))
                return false;
        return true;
    case NODE_OR:
        for (size_t i = 0; i < n->n_children; i++)
            if (node_matches(n->children[i], a, now_unix))
                return true;
        return false;
    case NODE_NOT:
        return !node_matches(n->children[0], a, now_unix);
    case NODE_COMPARE:
        return compare_matches(a, n, now_unix);
    default: /* NODE_SEARCH */
        return search_matches(a, n);
    }
}

bool filter_match(const filter *f, const Valv__V1__Asset *asset, long long now_unix)
{
    return f == NULL || node_matches(f->root, asset, now_unix);
}

/* ------------------------------------------------------------------------
 * Index hint
 */

/* Takes the equalities of an AND chain, going into nested ANDs; anything
 * else (OR, NOT, other fields, wildcards, other operators) adds nothing. */
static void hint_collect(const struct node *n, filter_hint *out)
{
    if (n->kind == NODE_AND) {
        for (size_t i = 0; i < n->n_children; i++)
            hint_collect(n->children[i], out);
        return;
    }
    if (n->kind != NODE_COMPARE || n->op != TOK_EQ)
        return;
    bool literal = n->text[0] != '\0' && strchr(n->text, '*') == NULL;
    switch (n->field->id) {
    case FIELD_OWNER_UNIT:
        if (literal)
            out->owner_unit = n->text;
        break;
    case FIELD_SOURCE:
        if (literal)
            out->source = n->text;
        break;
    case FIELD_KIND:
        out->kind = (int)n->number;
        break;
    default:
        break;
    }
}

void filter_hint_get(const filter *f, filter_hint *out)
{
    memset(out, 0, sizeof *out);
    if (f != NULL)
        hint_collect(f->root, out);
}
