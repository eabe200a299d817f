/* bench.c - see bench.h. */
#include "bench.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define METRICS_RESPONSE_MAX (16 << 20) /* far more than valvd's metrics page */

double bench_now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

void bench_die(const char *program, const char *what, const char *why)
{
    fprintf(stderr, "%s: %s: %s\n", program, what, why);
    exit(1);
}

void bench_result(const char *name, double value, const char *unit)
{
    printf("RESULT %s %.6g %s\n", name, value, unit);
    fflush(stdout);
}

void bench_print_command(int argc, char **argv)
{
    printf("command:");
    for (int i = 0; i < argc; i++)
        printf(" %s", argv[i]);
    printf("\n");
}

long bench_proc_status_kib(pid_t pid, const char *key)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    long kib = -1;
    if (f == NULL)
        return -1;
    size_t key_len = strlen(key);
    while (fgets(line, sizeof line, f) != NULL)
        if (strncmp(line, key, key_len) == 0 && line[key_len] == ':')
            kib = strtol(line + key_len + 1, NULL, 10);
    fclose(f);
    return kib;
}

double bench_proc_cpu_s(pid_t pid)
{
    char path[64];
    unsigned long utime = 0, stime = 0;
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return 0;
    /* Fields 14 and 15; the command name (field 2) has no spaces here. */
    if (fscanf(f, "%*d %*s %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime,
               &stime) != 2)
        utime = stime = 0;
    fclose(f);
    return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double bench_percentile(double *values, size_t n, double p)
{
    if (n == 0)
        return 0;
    qsort(values, n, sizeof *values, compare_doubles);
    size_t rank = (size_t)(p / 100.0 * (double)n + 0.999999); /* nearest rank, 1-based */
    if (rank < 1)
        rank = 1;
    if (rank > n)
        rank = n;
    return values[rank - 1];
}

double bench_median(double *values, size_t n)
{
    if (n == 0)
        return 0;
    qsort(values, n, sizeof *values, compare_doubles);
    return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

/* Connects to "HOST:PORT"; -1 with a message on stderr. */
static int connect_to(const char *addr)
{
    char host[64];
    const char *colon = strrchr(addr, ':');
    if (colon == NULL || (size_t)(colon - addr) >= sizeof host) {
        fprintf(stderr, "bench: '%s' is not HOST:PORT\n", addr);
        return -1;
    }
    memcpy(host, addr, (size_t)(colon - addr));
    host[colon - addr] = '\0';
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(colon + 1))};
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
        fprintf(stderr, "bench: '%s' is not a numeric IPv4 address\n", host);
        return -1;
    }
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        fprintf(stderr, "bench: cannot connect to %s: %s\n", addr, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

char *bench_metrics_fetch(const char *addr)
{
    static const char request[] = "GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n";
    char *buf = NULL, *body = NULL;
    size_t len = 0, cap = 0;
    int fd = connect_to(addr);
    if (fd < 0)
        goto done;
    if (write(fd, request, sizeof request - 1) != (ssize_t)(sizeof request - 1)) {
        fprintf(stderr, "bench: cannot send to %s: %s\n", addr, strerror(errno));
        goto done;
    }
    /* HTTP/1.0: the server closes the connection after the body. */
    for (;;) {
        if (len + 1 >= cap) {
            cap = cap == 0 ? 65536 : cap * 2;
            char *bigger = cap <= METRICS_RESPONSE_MAX ? realloc(buf, cap) : NULL;
            if (bigger == NULL) {
                fprintf(stderr, "bench: the metrics response is too large\n");
                goto done;
            }
            buf = bigger;
        }
        ssize_t n = read(fd, buf + len, cap - len - 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            fprintf(stderr, "bench: cannot read from %s: %s\n", addr, strerror(errno));
            goto done;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    buf[len] = '\0';
    char *start = strstr(buf, "\r\n\r\n");
    if (strncmp(buf, "HTTP/1.", 7) != 0 || strstr(buf, " 200 ") == NULL || start == NULL) {
        fprintf(stderr, "bench: %s/metrics did not answer 200 OK\n", addr);
        goto done;
    }
    body = strdup(start + 4);
done:
    if (fd >= 0)
        close(fd);
    free(buf);
    return body;
}

double bench_metrics_sum(const char *text, const char *prefix)
{
    double sum = 0;
    size_t prefix_len = strlen(prefix);
    for (const char *line = text; line != NULL && *line != '\0';) {
        if (line[0] != '#' && strncmp(line, prefix, prefix_len) == 0) {
            const char *value = strchr(line, ' '); /* the series has no spaces */
            if (value != NULL)
                sum += strtod(value + 1, NULL);
        }
        line = strchr(line, '\n');
        if (line != NULL)
            line++;
    }
    return sum;
}

const char *const bench_units[BENCH_UNITS] = {
    "kommunstyrelsen", "fastighetsnamnden", "socialnamnden", "barn-och-utbildning",
    "miljo-och-halsa", "kultur-och-fritid", "tekniska-namnden", "bygg-och-miljo",
    "valnamnden", "overformyndare", "stadsbyggnad", "arbetsmarknad",
    "aldrenamnden", "gymnasienamnden", "revisionen", "it-avdelningen",
    "ekonomi", "hr-avdelningen", "kommunikation", "raddningstjanst"};

Valv__V1__AssetKind bench_kind_of(size_t i)
{
    size_t k = i % 10;
    return k == 0  ? VALV__V1__ASSET_KIND__FACILITY
           : k < 7 ? VALV__V1__ASSET_KIND__IT_SYSTEM
                   : VALV__V1__ASSET_KIND__INFORMATION;
}

static void add_attribute(bench_asset *b, const char *key, const char *value)
{
    size_t i = b->asset.n_attributes++;
    valv__v1__asset__attributes_entry__init(&b->attr[i]);
    snprintf(b->attr_values[i], sizeof b->attr_values[i], "%s", value);
    b->attr[i].key = (char *)key;
    b->attr[i].value = b->attr_values[i];
    b->attr_ptrs[i] = &b->attr[i];
    b->asset.attributes = b->attr_ptrs;
}

void bench_asset_make(bench_asset *b, size_t i)
{
    static char label_cmdb[] = "cmdb", label_prod[] = "production";
    static char label_personal[] = "personal-data";
    char value[48];
    const char *unit = BENCH_UNIT_OF(i);
    Valv__V1__Asset *a = &b->asset;

    valv__v1__asset__init(a);
    a->kind = bench_kind_of(i);
    a->owner_unit = (char *)unit;
    snprintf(b->owner, sizeof b->owner, "owner%zu@%s.example.se", i % 97, unit);
    a->owner = b->owner;
    b->labels[0] = label_cmdb;
    a->labels = b->labels;
    a->n_labels = 1;
    switch (a->kind) {
    case VALV__V1__ASSET_KIND__FACILITY:
        snprintf(b->display_name, sizeof b->display_name, "Room %zu, building %zu", i, i / 100);
        snprintf(value, sizeof value, "Storgatan %zu", i / 100 + 1);
        add_attribute(b, "address", value);
        add_attribute(b, "access", i % 2 ? "card" : "key");
        break;
    case VALV__V1__ASSET_KIND__IT_SYSTEM:
        snprintf(b->display_name, sizeof b->display_name, "Application server %zu", i);
        snprintf(value, sizeof value, "srv%07zu.kommun.example.se", i);
        add_attribute(b, "hostname", value);
        snprintf(value, sizeof value, "10.%zu.%zu.%zu", i >> 16 & 255, i >> 8 & 255, i & 255);
        add_attribute(b, "ip", value);
        add_attribute(b, "os", i % 3 == 0 ? "Windows Server 2022" : "Debian 12");
        b->labels[1] = label_prod;
        a->n_labels = 2;
        break;
    default:
        snprintf(b->display_name, sizeof b->display_name, "Case records, register %zu", i);
        snprintf(b->description, sizeof b->description,
                 "Records kept by %s under the archive plan, series %zu.", unit, i % 40);
        a->description = b->description;
        add_attribute(b, "retention", i % 2 ? "10 years" : "permanent");
        add_attribute(b, "format", "PDF/A");
        b->labels[1] = label_personal;
        a->n_labels = 2;
        break;
    }
    a->display_name = b->display_name;
}
