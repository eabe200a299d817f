#include "log.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "validate.h"

/* Room kept at the end of every line for what closes it: a string's quote,
 * the truncated marker, '}' and the newline. */
#define LOG_TAIL_RESERVE 32
#define REPLACEMENT_CHAR "\xef\xbf\xbd" /* U+FFFD in UTF-8 */

static log_format the_format = LOG_TEXT;
static log_level the_level = LOG_INFO;
static int the_fd = STDERR_FILENO;

static const char *const level_names[] = {[LOG_DEBUG] = "debug", [LOG_INFO] = "info",
                                          [LOG_ERROR] = "error"};
static const char *const level_words[] = {[LOG_DEBUG] = "DEBUG", [LOG_INFO] = "INFO",
                                          [LOG_ERROR] = "ERROR"};

/* A line being rendered. Appends that do not fit below the reserve are
 * refused and mark the line truncated; only the closing marks use the
 * reserve. */
typedef struct {
    char buf[LOG_LINE_MAX];
    size_t len;
    bool truncated;
} line;

static bool put(line *l, const char *s, size_t n)
{
    if (l->truncated || l->len + n > sizeof l->buf - LOG_TAIL_RESERVE) {
        l->truncated = true;
        return false;
    }
    memcpy(l->buf + l->len, s, n);
    l->len += n;
    return true;
}

static bool put_str(line *l, const char *s)
{
    return put(l, s, strlen(s));
}

/* Closing marks: always fit, the reserve is theirs. */
static void put_tail(line *l, const char *s)
{
    size_t n = strlen(s);
    memcpy(l->buf + l->len, s, n);
    l->len += n;
}

/* The length of the UTF-8 sequence at s (at most n bytes), or 0 when s does
 * not start one that is well-formed. */
static size_t utf8_sequence(const unsigned char *s, size_t n)
{
    size_t want = s[0] < 0xc0 ? 0 : s[0] < 0xe0 ? 2 : s[0] < 0xf0 ? 3 : s[0] < 0xf8 ? 4 : 0;
    return want != 0 && want <= n && validate_utf8((const char *)s, want) ? want : 0;
}

/* Appends s escaped as the inside of a JSON string, one whole character at
 * a time, so a cut never splits an escape or a UTF-8 sequence. */
static void put_escaped(line *l, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t left = strlen(s);
    while (left > 0) {
        char esc[8];
        const char *out = esc;
        size_t n = 1, used = 1;
        if (*p == '"' || *p == '\\') {
            esc[0] = '\\';
            esc[1] = (char)*p;
            n = 2;
        } else if (*p < 0x20 || *p == 0x7f) {
            n = (size_t)snprintf(esc, sizeof esc, "\\u%04x", *p);
        } else if (*p < 0x80) {
            out = (const char *)p;
        } else if ((used = utf8_sequence(p, left)) != 0) {
            out = (const char *)p;
            n = used;
        } else {
            out = REPLACEMENT_CHAR;
            n = sizeof REPLACEMENT_CHAR - 1;
            used = 1;
        }
        if (!put(l, out, n))
            return;
        p += used;
        left -= used;
    }
}

/* A text value goes bare only when it cannot be misread: printable ASCII,
 * not empty, and no space, quote, '=' or backslash. */
static bool text_needs_quotes(const char *s)
{
    if (s[0] == '\0')
        return true;
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
        if (*p <= ' ' || *p >= 0x7f || *p == '"' || *p == '=' || *p == '\\')
            return true;
    }
    return false;
}

/* Appends a quoted string; when it is cut, the quote still closes it. */
static void put_string(line *l, const char *s)
{
    if (!put_str(l, "\""))
        return;
    put_escaped(l, s);
    put_tail(l, "\"");
}

/* Appends one field, or nothing (and the line is truncated) when even its
 * key does not fit. */
static void put_field(line *l, const log_field *f)
{
    char prefix[80], num[24];
    bool json = the_format == LOG_JSON;
    snprintf(prefix, sizeof prefix, json ? ",\"%s\":" : " %s=", f->key);
    if (f->type == LOG_FIELD_INT)
        snprintf(num, sizeof num, "%" PRId64, f->num);
    else if (f->str == NULL)
        snprintf(num, sizeof num, "%s", json ? "null" : "-");
    size_t value_len = f->type == LOG_FIELD_INT || f->str == NULL ? strlen(num) : 1;
    /* Key and value start together or not at all. */
    if (l->truncated || l->len + strlen(prefix) + value_len + 1 > sizeof l->buf - LOG_TAIL_RESERVE) {
        l->truncated = true;
        return;
    }
    put_str(l, prefix);
    if (f->type == LOG_FIELD_INT || f->str == NULL)
        put_str(l, num);
    else if (json || text_needs_quotes(f->str))
        put_string(l, f->str);
    else
        put_escaped(l, f->str); /* plain ASCII: copied as it is */
}

static void put_time(line *l)
{
    struct timespec now;
    struct tm tm;
    char stamp[40];
    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    size_t n = strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(stamp + n, sizeof stamp - n, ".%03ldZ", now.tv_nsec / 1000000);
    put_str(l, stamp);
}

void log_fields(log_level level, const char *event, const log_field *fields)
{
    if (level < the_level)
        return;
    line l = {.len = 0, .truncated = false};
    if (the_format == LOG_JSON) {
        put_str(&l, "{\"time\":\"");
        put_time(&l);
        put_str(&l, "\",\"level\":\"");
        put_str(&l, level_names[level]);
        put_str(&l, "\",\"event\":");
        put_string(&l, event);
    } else {
        put_time(&l);
        put_str(&l, " ");
        put_str(&l, level_words[level]);
        put_str(&l, " event=");
        put_escaped(&l, event); /* events are constant identifiers */
    }
    for (const log_field *f = fields; f->type != LOG_FIELD_END; f++)
        put_field(&l, f);
    if (l.truncated)
        put_tail(&l, the_format == LOG_JSON ? ",\"truncated\":true" : " truncated=true");
    put_tail(&l, the_format == LOG_JSON ? "}\n" : "\n");
    ssize_t ignored = write(the_fd, l.buf, l.len);
    (void)ignored; /* nowhere left to report a failed log write */
}

void log_configure(log_format format, log_level min_level, int fd)
{
    the_format = format;
    the_level = min_level;
    the_fd = fd;
}

bool log_format_parse(const char *s, log_format *out)
{
    if (strcmp(s, "text") == 0)
        *out = LOG_TEXT;
    else if (strcmp(s, "json") == 0)
        *out = LOG_JSON;
    else
        return false;
    return true;
}

bool log_level_parse(const char *s, log_level *out)
{
    for (size_t i = 0; i < sizeof level_names / sizeof level_names[0]; i++) {
        if (strcmp(s, level_names[i]) == 0) {
            *out = (log_level)i;
            return true;
        }
    }
    return false;
}
