#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "error.h"

#define LOG_LINE_MAX 1024

static void log_line(const char *level, const char *fmt, va_list ap)
{
    char line[LOG_LINE_MAX];
    struct timespec now;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    int n = (int)strftime(line, sizeof line, "%Y-%m-%dT%H:%M:%S", &tm);
    n += snprintf(line + n, sizeof line - (size_t)n, ".%03ldZ %s ", now.tv_nsec / 1000000, level);
    int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    n = (m < 0 || n + m >= (int)sizeof line - 1) ? (int)sizeof line - 2 : n + m;
    line[n++] = '\n';
    ssize_t ignored = write(STDERR_FILENO, line, (size_t)n);
    (void)ignored; /* nowhere left to report a failed log write */
}

void log_info(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_line("INFO", fmt, ap);
    va_end(ap);
}

void log_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_line("ERROR", fmt, ap);
    va_end(ap);
}

void log_request(const char *method, int code, int64_t duration_us)
{
    log_info("request method=%s status=%s duration_us=%lld", method, valv_code_name(code),
             (long long)duration_us);
}
