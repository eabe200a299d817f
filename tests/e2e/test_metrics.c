/* test_metrics.c - valvd --metrics-listen, scraped over HTTP as Prometheus
 * would: the calls a client made show up by method and status code, with
 * their durations, beside the writer's and the inventory's figures. */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/time.h>
#include <jansson.h>

#include "harness.h"

#define METRICS_PREFIX "metrics on "
#define RESPONSE_MAX (1 << 20)

static harness_server srv;
static char metrics_addr[128]; /* "127.0.0.1:PORT", as valvd printed it */

static void start_server(void)
{
    static const char *const args[] = {"--metrics-listen", "127.0.0.1:0", NULL};
    char line[128];
    memset(&srv, 0, sizeof srv);
    ck_assert_msg(harness_start(&srv, args) == 0, "valvd did not start");
    ck_assert_msg(harness_read_stdout_line(&srv, line, sizeof line) == 0,
                  "valvd printed no second line after 'listening on'");
    ck_assert_msg(strncmp(line, METRICS_PREFIX, strlen(METRICS_PREFIX)) == 0, "second line: '%s'", line);
    snprintf(metrics_addr, sizeof metrics_addr, "%s", line + strlen(METRICS_PREFIX));
    ck_assert_msg(strcmp(metrics_addr, "127.0.0.1:0") != 0, "port 0 was not replaced by the bound port");
}

static void stop_server(void)
{
    ck_assert_int_eq(harness_stop(&srv), 0);
    harness_cleanup(&srv);
}

/* Sends "METHOD PATH HTTP/1.0" to addr ("127.0.0.1:PORT") and returns the
 * whole response (status line, headers, body), malloc'd. */
static char *http_request(const char *addr, const char *method, const char *path)
{
    const char *colon = strrchr(addr, ':');
    ck_assert_ptr_nonnull(colon);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(colon + 1))};
    char host[64];
    snprintf(host, sizeof host, "%.*s", (int)(colon - addr), addr);
    ck_assert_int_eq(inet_pton(AF_INET, host, &sa.sin_addr), 1);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(fd, 0);
    ck_assert_msg(connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0, "cannot connect to %s", addr);
    char request[256];
    int n = snprintf(request, sizeof request, "%s %s HTTP/1.0\r\nHost: %s\r\n\r\n", method, path, addr);
    ck_assert_int_eq(write(fd, request, (size_t)n), n);

    char *response = malloc(RESPONSE_MAX);
    ck_assert_ptr_nonnull(response);
    size_t len = 0;
    ssize_t got;
    while (len < RESPONSE_MAX - 1 && (got = read(fd, response + len, RESPONSE_MAX - 1 - len)) > 0)
        len += (size_t)got;
    response[len] = '\0';
    close(fd);
    return response;
}

/* The value of the sample line that starts with series ("name{labels}"),
 * or -1 when there is none. */
static double sample(const char *text, const char *series)
{
    size_t len = strlen(series);
    for (const char *line = text; line != NULL && *line != '\0';) {
        if (strncmp(line, series, len) == 0 && line[len] == ' ')
            return strtod(line + len + 1, NULL);
        line = strchr(line, '\n');
        if (line != NULL)
            line++;
    }
    return -1;
}

/* Runs valv with the arguments given against srv, its output dropped;
 * returns its exit code. */
#define valv(...) harness_run_valv(&srv, NULL, NULL, NULL, NULL, __VA_ARGS__, NULL)

/* Series of an Inventory method (a name the test spells out). */
#define CALLS(method, code) "valv_requests_total{method=\"/valv.v1.Inventory/" method "\",code=\"" code "\"}"
#define DURATION(part, method, le) \
    "valv_request_duration_seconds_" part "{method=\"/valv.v1.Inventory/" method "\"" le "}"

START_TEST(scrape_counts_calls)
{
    start_server();
    ck_assert_int_eq(valv("asset", "create", "--kind", "information", "--display-name",
                          "Personakter", "--owner-unit", "socialnamnden", "--id", "personakter"),
                     0);
    ck_assert_int_eq(valv("asset", "get", "personakter"), 0);
    ck_assert_int_eq(valv("asset", "get", "personakter"), 0);
    ck_assert_int_eq(valv("asset", "get", "no-such-asset"), 1);

    char *r = http_request(metrics_addr, "GET", "/metrics");
    ck_assert_msg(strncmp(r, "HTTP/1.", 7) == 0 && strncmp(r + 8, " 200", 4) == 0, "response: %.200s", r);
    ck_assert_ptr_nonnull(strstr(r, "text/plain; version=0.0.4"));
    ck_assert_ptr_nonnull(strstr(r, "# TYPE valv_requests_total counter\n"));
    ck_assert_ptr_nonnull(strstr(r, "# TYPE valv_request_duration_seconds histogram\n"));

    ck_assert_double_eq(sample(r, CALLS("CreateAsset", "OK")), 1);
    ck_assert_double_eq(sample(r, CALLS("GetAsset", "OK")), 2);
    ck_assert_double_eq(sample(r, CALLS("GetAsset", "NOT_FOUND")), 1);
    ck_assert_double_eq(sample(r, CALLS("ListAssets", "OK")), -1); /* never called: no series */
    ck_assert_double_eq(sample(r, DURATION("count", "GetAsset", "")), 3);
    ck_assert_double_eq(sample(r, DURATION("bucket", "GetAsset", ",le=\"+Inf\"")), 3);
    ck_assert_double_eq(sample(r, DURATION("bucket", "GetAsset", ",le=\"10\"")), 3);
    ck_assert(sample(r, DURATION("sum", "GetAsset", "")) > 0);
    ck_assert_double_eq(sample(r, "valv_calls_in_flight"), 0);

    ck_assert_double_eq(sample(r, "valv_writer_commits_total"), 1);
    ck_assert_double_eq(sample(r, "valv_writer_writes_total"), 1);
    ck_assert_double_eq(sample(r, "valv_writes_per_commit_bucket{le=\"1\"}"), 1);
    ck_assert_double_eq(sample(r, "valv_writes_per_commit_count"), 1);

    ck_assert_double_eq(sample(r, "valv_assets{kind=\"INFORMATION\"}"), 1);
    ck_assert_double_eq(sample(r, "valv_assets{kind=\"IT_SYSTEM\"}"), 0);
    ck_assert_double_eq(sample(r, "valv_reviews{state=\"pending\"}"), 0);
    ck_assert(sample(r, "valv_revision") >= 1);
    ck_assert(sample(r, "valv_database_bytes") > 0);
    ck_assert(sample(r, "valv_map_bytes_max") >= sample(r, "valv_map_bytes"));
    ck_assert_ptr_nonnull(strstr(r, "\nvalv_build_info{version=\""));
    free(r);
    stop_server();
}
END_TEST

/* The start the metrics report agrees with AdminService.Info's, to the
 * second (both are printed in whole seconds): a wrong clock, zone or field
 * shows here. valvd takes the time once, so they cannot drift apart. */
START_TEST(start_time_is_admin_infos)
{
    char *out = NULL;
    start_server();
    ck_assert_int_eq(harness_run_valv(&srv, NULL, NULL, &out, NULL, "-o", "json", "admin", "info", NULL), 0);
    json_t *info = json_loads(out, 0, NULL);
    ck_assert_msg(info != NULL, "valv admin info printed no JSON: %s", out);
    const char *start = json_string_value(json_object_get(info, "start_time"));
    ck_assert_ptr_nonnull(start);
    struct tm tm = {0};
    ck_assert_ptr_nonnull(strptime(start, "%Y-%m-%dT%H:%M:%S", &tm));

    char *r = http_request(metrics_addr, "GET", "/metrics");
    ck_assert_double_eq(sample(r, "valv_start_time_seconds"), (double)timegm(&tm));
    free(r);
    json_decref(info);
    free(out);
    stop_server();
}
END_TEST

/* Waits for tag on cq (up to 10 s); false when it did not come. */
static bool wait_for(grpc_completion_queue *cq, void *tag)
{
    grpc_event ev = grpc_completion_queue_next(cq, gpr_time_add(gpr_now(GPR_CLOCK_REALTIME),
                                                               gpr_time_from_seconds(10, GPR_TIMESPAN)),
                                               NULL);
    return ev.type == GRPC_OP_COMPLETE && ev.tag == tag;
}

/* A client that opens a GetAsset call, sends its headers but never its
 * message, and cancels: valvd never saw a request, so the call is counted
 * CANCELLED, not as a bad request (INVALID_ARGUMENT). */
START_TEST(a_call_cut_off_before_its_request_is_cancelled)
{
    start_server();
    grpc_init();
    grpc_channel_credentials *creds = grpc_insecure_credentials_create();
    grpc_channel *channel = grpc_channel_create(srv.addr, creds, NULL);
    grpc_channel_credentials_release(creds);
    grpc_completion_queue *cq = grpc_completion_queue_create_for_next(NULL);
    grpc_slice method = grpc_slice_from_static_string("/valv.v1.Inventory/GetAsset");
    grpc_call *call = grpc_channel_create_call(channel, NULL, GRPC_PROPAGATE_DEFAULTS, cq, method,
                                               NULL, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
    grpc_op op;
    memset(&op, 0, sizeof op);
    op.op = GRPC_OP_SEND_INITIAL_METADATA;
    ck_assert_int_eq(grpc_call_start_batch(call, &op, 1, &op, NULL), GRPC_CALL_OK);
    ck_assert(wait_for(cq, &op));
    usleep(200 * 1000); /* the headers reach valvd, which waits for the message */
    ck_assert_int_eq(grpc_call_cancel(call, NULL), GRPC_CALL_OK);

    /* valvd counts the call once it has ended it. */
    double cancelled = -1;
    for (int i = 0; i < 100 && cancelled != 1; i++) {
        usleep(50 * 1000);
        char *r = http_request(metrics_addr, "GET", "/metrics");
        cancelled = sample(r, CALLS("GetAsset", "CANCELLED"));
        ck_assert_double_eq(sample(r, CALLS("GetAsset", "INVALID_ARGUMENT")), -1);
        free(r);
    }
    ck_assert_double_eq(cancelled, 1);

    grpc_call_unref(call);
    grpc_completion_queue_shutdown(cq);
    while (grpc_completion_queue_next(cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL).type !=
           GRPC_QUEUE_SHUTDOWN)
        ;
    grpc_completion_queue_destroy(cq);
    grpc_channel_destroy(channel);
    grpc_shutdown();
    stop_server();
}
END_TEST

START_TEST(only_get_metrics_is_served)
{
    start_server();
    char *r = http_request(metrics_addr, "GET", "/");
    ck_assert_msg(strncmp(r + 8, " 404", 4) == 0, "GET /: %.200s", r);
    ck_assert_ptr_nonnull(strstr(r, "/metrics"));
    free(r);
    r = http_request(metrics_addr, "POST", "/metrics");
    ck_assert_msg(strncmp(r + 8, " 405", 4) == 0, "POST /metrics: %.200s", r);
    free(r);
    r = http_request(metrics_addr, "HEAD", "/metrics");
    ck_assert_msg(strncmp(r + 8, " 200", 4) == 0, "HEAD /metrics: %.200s", r);
    ck_assert_ptr_null(strstr(r, "valv_build_info"));
    free(r);
    stop_server();
}
END_TEST

/* Runs valvd with extra (NULL-terminated) on a fresh data directory and
 * returns its exit code; *err_out: what it printed on stderr. */
static int run_valvd(const char *const *extra, char **err_out)
{
    char dir[] = "/tmp/valv-metrics-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    const char *argv[16] = {harness_valvd(), "--data-dir", dir};
    int n = 3;
    for (int i = 0; extra[i] != NULL && n < 15; i++)
        argv[n++] = extra[i];
    argv[n] = NULL;
    char *out = NULL;
    int code = harness_run(NULL, argv, NULL, &out, err_out);
    free(out);
    harness_remove_dir(dir);
    return code;
}

START_TEST(bad_address_is_refused)
{
    static const char *const bad[] = {"127.0.0.1", "127.0.0.1:", "127.0.0.1:99999", "127.0.0.1:http",
                                      "127.0.0.1:-1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *args[] = {"--dev", "--metrics-listen", bad[i], NULL};
        char *err = NULL;
        ck_assert_int_eq(run_valvd(args, &err), 1);
        ck_assert_msg(strstr(err, "--metrics-listen takes ADDR:PORT") != NULL && strstr(err, bad[i]) != NULL,
                      "for '%s': %s", bad[i], err);
        free(err);
    }

    /* --dev keeps every port on loopback, the metrics port too. */
    static const char *const wide[] = {"0.0.0.0:0", ":9464", "nonsense"};
    for (size_t i = 0; i < sizeof wide / sizeof wide[0]; i++) {
        const char *args[] = {"--dev", "--metrics-listen", wide[i], NULL};
        char *err = NULL;
        ck_assert_int_eq(run_valvd(args, &err), 2);
        ck_assert_msg(strstr(err, "loopback") != NULL && strstr(err, wide[i]) != NULL, "for '%s': %s",
                      wide[i], err);
        free(err);
    }
}
END_TEST

START_TEST(port_in_use_is_refused)
{
    start_server();
    const char *args[] = {"--dev", "--listen", "127.0.0.1:0", "--metrics-listen", metrics_addr, NULL};
    char *err = NULL;
    ck_assert_int_eq(run_valvd(args, &err), 1);
    ck_assert_msg(strstr(err, "cannot listen on") != NULL && strstr(err, "in use") != NULL, "%s", err);
    free(err);
    stop_server();
}
END_TEST

int main(void)
{
    Suite *s = suite_create("metrics");
    TCase *tc = tcase_create("scrape");
    tcase_add_test(tc, scrape_counts_calls);
    tcase_add_test(tc, start_time_is_admin_infos);
    tcase_add_test(tc, only_get_metrics_is_served);
    tcase_add_test(tc, a_call_cut_off_before_its_request_is_cancelled);
    suite_add_tcase(s, tc);
    tc = tcase_create("refused");
    tcase_add_test(tc, bad_address_is_refused);
    tcase_add_test(tc, port_in_use_is_refused);
    suite_add_tcase(s, tc);

    SRunner *runner = srunner_create(s);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? 0 : 1;
}
