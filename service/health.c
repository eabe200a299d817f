/* health.c - grpc.health.v1.Health, so probes (grpc_health_probe,
 * Kubernetes) can ask whether valvd serves. Known services: "" (the whole
 * server) and every service of the method table. */
#include "health.h"

#include <string.h>

#include "grpc/health/v1/health.pb-c.h"
#include "methods.h"

/* True for "" and for a service with a row in the method table, whose
 * paths are "/SERVICE/METHOD": the table is the one list of what valvd
 * serves. */
static bool is_known(const char *service)
{
    size_t len = strlen(service);
    if (len == 0)
        return true;
    for (size_t i = 0; i < method_count; i++) {
        const char *path = method_table[i].path;
        if (strncmp(path + 1, service, len) == 0 && path[1 + len] == '/')
            return true;
    }
    return false;
}

void health_check(call *c, const ProtobufCMessage *request)
{
    const Grpc__Health__V1__HealthCheckRequest *req = (const void *)request;
    if (!is_known(req->service)) {
        valv_error err;
        valv_error_clear(&err);
        /* The services are those of the method table; server reflection
         * lists them, so this message need not (and cannot go stale). */
        valv_error_set(&err, VALV_ENOTFOUND,
                       "unknown service '%s'; give a full service name such as "
                       "valv.v1.Inventory, or '' for the server as a whole (server "
                       "reflection lists every service valvd serves)",
                       req->service);
        call_fail(c, &err);
        return;
    }
    /* While the server accepts calls it serves; a draining server refuses
     * new calls before they reach this handler. */
    Grpc__Health__V1__HealthCheckResponse resp;
    grpc__health__v1__health_check_response__init(&resp);
    resp.status = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING;
    call_reply(c, &resp.base);
}

static void watch_closed(call *c, void *arg)
{
    (void)arg;
    valv_error err;
    valv_error_clear(&err);
    if (call_should_stop(c))
        valv_error_set(&err, VALV_ECANCELLED, "the client ended the watch");
    else
        valv_error_set(&err, VALV_EUNAVAILABLE, "valvd is shutting down");
    call_fail(c, &err);
}

static void watch_sent(call *c, bool ok, void *arg)
{
    (void)arg;
    if (!ok) {
        valv_error err;
        valv_error_clear(&err);
        valv_error_set(&err, VALV_ECANCELLED, "the client went away");
        call_fail(c, &err);
        return;
    }
    /* The status never changes while the server runs: wait for the end. */
    call_on_close(c, watch_closed, NULL);
}

void health_watch(call *c, const ProtobufCMessage *request)
{
    const Grpc__Health__V1__HealthCheckRequest *req = (const void *)request;
    Grpc__Health__V1__HealthCheckResponse resp;
    grpc__health__v1__health_check_response__init(&resp);
    resp.status = is_known(req->service)
                      ? GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING
                      : GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVICE_UNKNOWN;
    call_send(c, &resp.base, watch_sent, NULL);
}
