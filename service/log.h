/* log.h - one line per event on stderr, as text or as JSON.
 *
 * A caller names the event and passes its fields typed, once; this module
 * alone decides how they look:
 *
 *   log_event(LOG_INFO, "started", LOG_STR("listen", bound),
 *             LOG_INT("revision", rev), LOG_END);
 *
 * text: 2026-03-01T12:00:00.123Z INFO event=started listen=127.0.0.1:50051 revision=7
 * json: {"time":"2026-03-01T12:00:00.123Z","level":"info","event":"started",
 *        "listen":"127.0.0.1:50051","revision":7}
 *
 * Each line is written with a single write(2) of at most LOG_LINE_MAX bytes
 * (PIPE_BUF), so lines from different threads never interleave. A line that
 * would be longer is cut at a field boundary or inside a string value, stays
 * well-formed, and ends with truncated=true. JSON strings are escaped
 * (quotes, backslashes, control characters); bytes that are not UTF-8 become
 * U+FFFD in both formats. A text value is quoted the same way when it holds
 * anything but printable ASCII other than '"', '=' and '\\', or is empty.
 */
#ifndef VALV_LOG_H
#define VALV_LOG_H

#include <stdbool.h>
#include <stdint.h>

#define LOG_LINE_MAX 4096 /* PIPE_BUF: one write(2) to a pipe stays whole */

typedef enum { LOG_DEBUG, LOG_INFO, LOG_ERROR } log_level;
typedef enum { LOG_TEXT, LOG_JSON } log_format;

typedef enum { LOG_FIELD_END, LOG_FIELD_STR, LOG_FIELD_INT } log_field_type;

/* One key and its value. key is a constant identifier; str is borrowed for
 * the call and may be NULL (JSON null, text "-"). */
typedef struct {
    log_field_type type;
    const char *key;
    const char *str;
    int64_t num;
} log_field;

#define LOG_STR(k, v) ((log_field){.type = LOG_FIELD_STR, .key = (k), .str = (v)})
#define LOG_INT(k, v) ((log_field){.type = LOG_FIELD_INT, .key = (k), .num = (int64_t)(v)})
#define LOG_END ((log_field){.type = LOG_FIELD_END})

/* Writes one event line to the log when level is at or above the configured
 * level. The fields end with LOG_END (the macro's last argument), as execl's
 * arguments end with NULL. */
#define log_event(level, event, ...) log_fields((level), (event), (const log_field[]){__VA_ARGS__})
void log_fields(log_level level, const char *event, const log_field *fields);

/* Sets the format, the lowest level written and the file descriptor (stderr
 * by default: LOG_TEXT, LOG_INFO, 2). Call before any thread logs. */
void log_configure(log_format format, log_level min_level, int fd);

/* Parse "text" / "json" and "debug" / "info" / "error" (the valvd flags'
 * values); false for anything else. */
bool log_format_parse(const char *s, log_format *out);
bool log_level_parse(const char *s, log_level *out);

#endif
