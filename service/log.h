/* log.h - one line per event on stderr.
 *
 * Lines are written with a single write(2), so lines from different threads
 * never interleave. Format: "TIME LEVEL event key=value ...".
 */
#ifndef VALV_LOG_H
#define VALV_LOG_H

#include <stdint.h>

void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The per-request line: method path, gRPC status code, duration. */
void log_request(const char *method, int code, int64_t duration_us);

#endif
