/* audit.c - valv.v1.Audit: reading and checking the audit trail. The
 * events themselves are written by store/, in the transaction of each
 * change. */
#include "audit.h"

#include <stdint.h>

#include "limits.h"
#include "policy.h"
#include "store.h"
#include "validate.h"
#include "valv/v1/audit.pb-c.h"

/* The latest time nanoseconds since 1970 fit an int64_t for: in 2262. */
#define TIMESTAMP_SECONDS_MAX (INT64_MAX / 1000000000LL - 1)

/* A request's time as nanoseconds since 1970 (0: not given). A time before
 * 1970 or past 2262 is a violation of field, not a wrapped number. */
static int64_t timestamp_ns(const Google__Protobuf__Timestamp *t, const char *field,
                            valv_error *err)
{
    if (t == NULL)
        return 0;
    if (t->seconds < 0 || t->seconds > TIMESTAMP_SECONDS_MAX || t->nanos < 0 ||
        t->nanos > 999999999) {
        valv_error_violation(err, field, "must be a time from 1970 to 2262");
        return 0;
    }
    return t->seconds * 1000000000LL + t->nanos;
}

void audit_list_events(call *c, const ProtobufCMessage *request)
{
    const Valv__V1__ListAuditEventsRequest *req = (const void *)request;
    valv_error err;
    valv_error_clear(&err);
    const char *id = NULL;
    if (req->asset[0] != '\0')
        validate_asset_name(req->asset, "asset", &id, &err);
    validate_text(req->actor, VALV_ACTOR_MAX, "actor", &err);
    if (req->action < 0 || req->action > VALV__V1__AUDIT_ACTION__ACTION_INHERIT)
        valv_error_violation(&err, "action", "unknown action %d", (int)req->action);
    int64_t start = timestamp_ns(req->start_time, "start_time", &err);
    int64_t end = timestamp_ns(req->end_time, "end_time", &err);
    if (end != 0 && end <= start)
        valv_error_violation(&err, "end_time", "must be after start_time");
    if (err.code != VALV_OK) {
        call_fail(c, &err);
        return;
    }
    store_actor viewer;
    policy_actor(c, NULL, &viewer);
    store_audit_query q = {
        .viewer = &viewer,
        .asset_id = id,
        .actor = req->actor,
        .action = req->action,
        .start_unix_ns = start,
        .end_unix_ns = end,
        .newest_first = req->newest_first,
        .page_size = req->page_size,
        .page_token = req->page_token,
    };
    store_audit_result result = {0};
    if (store_list_audit_events(call_store(c), &q, &result, &err) != VALV_OK) {
        call_fail(c, &err);
        return;
    }
    Valv__V1__ListAuditEventsResponse resp;
    valv__v1__list_audit_events_response__init(&resp);
    resp.n_events = result.n_events;
    resp.events = result.events;
    if (result.next_page_token != NULL)
        resp.next_page_token = result.next_page_token;
    call_reply(c, &resp.base);
    store_audit_result_free(&result);
}

void audit_verify_log(call *c, const ProtobufCMessage *request)
{
    (void)request;
    valv_error err;
    valv_error_clear(&err);
    store_verify_result result;
    if (store_verify_audit(call_store(c), &result, &err) != VALV_OK) {
        call_fail(c, &err);
        return;
    }
    Valv__V1__VerifyAuditLogResponse resp;
    valv__v1__verify_audit_log_response__init(&resp);
    resp.ok = result.ok;
    resp.events_checked = result.checked;
    resp.last_revision = result.last_revision;
    resp.first_bad_revision = result.first_bad_revision;
    resp.problem = result.problem;
    call_reply(c, &resp.base);
}
