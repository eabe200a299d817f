/* review.c - the security protection chief's review of flagged assets: the
 * review rules, the review queue, approve and return. See store.h "Review".
 *
 * The queue is an index table keyed by the time an asset joined or will
 * join the queue, then its id:
 *   PENDING, RETURNED  state_time (since when it has waited)
 *   APPROVED           due_time (when it falls due again)
 * NOT_REQUIRED and deleted assets have no entry. Every entry with a time
 * up to now is in the queue, so the queue, oldest first, is one walk from
 * the start of the table that stops at the first future time.
 */
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "limits.h"
#include "store_internal.h"
#include "validate.h"

#define QUEUE_KEY_MAX (TIME_KEY_LEN + VALV_ASSET_ID_MAX)

static Valv__V1__ReviewState review_state(const Valv__V1__Asset *a)
{
    return a != NULL && a->review != NULL ? a->review->state
                                          : VALV__V1__REVIEW_STATE__REVIEW_STATE_UNSPECIFIED;
}

static bool flagged(const Valv__V1__Asset *a)
{
    return a != NULL && a->effective != NULL && a->effective->flagged;
}

/* True when an approval of old no longer covers a: its classification,
 * security protection, kind, owner unit or effective values changed. */
static int review_inputs_differ(const Valv__V1__Asset *old, const Valv__V1__Asset *a,
                                bool *differ, valv_error *err)
{
    const Valv__V1__Effective *oe = old->effective, *ae = a->effective;
    bool same_protection = false;
    int rc = protection_same(old, a, &same_protection, err);
    if (rc != VALV_OK)
        return rc;
    /* The values, not their sources: a new path to the same level asks nothing new. */
    bool same_effective = oe != NULL && ae != NULL && oe->confidentiality == ae->confidentiality &&
                          oe->integrity == ae->integrity && oe->availability == ae->availability &&
                          oe->traceability == ae->traceability &&
                          oe->security_class == ae->security_class &&
                          oe->security_sensitive == ae->security_sensitive;
    *differ = !same_protection || old->kind != a->kind ||
              strcmp(old->owner_unit, a->owner_unit) != 0 || !same_effective;
    return VALV_OK;
}

int review_update(const Valv__V1__Asset *old, Valv__V1__Asset *a, bool relinked,
                  const struct timespec *now, bool *changed, valv_error *err)
{
    Valv__V1__ReviewState state = review_state(old), next = state;
    bool differ = false;
    int rc = VALV_OK;

    *changed = false;
    if (a->review == NULL) {
        a->review = malloc(sizeof *a->review);
        if (a->review == NULL)
            return out_of_memory(err);
        valv__v1__review_status__init(a->review);
    }
    if (!flagged(a)) {
        next = VALV__V1__REVIEW_STATE__NOT_REQUIRED;
    } else if (!flagged(old) || relinked || state == VALV__V1__REVIEW_STATE__NOT_REQUIRED ||
               state == VALV__V1__REVIEW_STATE__REVIEW_STATE_UNSPECIFIED) {
        next = VALV__V1__REVIEW_STATE__PENDING;
    } else {
        rc = review_inputs_differ(old, a, &differ, err);
        if (rc != VALV_OK)
            return rc;
        if (differ)
            next = VALV__V1__REVIEW_STATE__PENDING;
    }

    if (next == state && old != NULL && old->review != NULL)
        return VALV_OK;
    a->review->state = next;
    rc = timestamp_set(&a->review->state_time, now, err);
    /* due_time belongs to an approval only. */
    if (next != VALV__V1__REVIEW_STATE__APPROVED)
        timestamp_clear(&a->review->due_time);
    *changed = true;
    return rc;
}

bool review_settled(const Valv__V1__Asset *a)
{
    return !flagged(a) && review_state(a) == VALV__V1__REVIEW_STATE__NOT_REQUIRED;
}

bool review_queue_key(const Valv__V1__Asset *a, unsigned char key[KEY_MAX], size_t *len)
{
    const Google__Protobuf__Timestamp *time;
    const char *id = asset_id(a);
    size_t id_len = strlen(id);

    if (asset_deleted(a) || a->review == NULL || id_len > VALV_ASSET_ID_MAX)
        return false;
    switch (a->review->state) {
    case VALV__V1__REVIEW_STATE__PENDING:
    case VALV__V1__REVIEW_STATE__RETURNED:
        time = a->review->state_time;
        break;
    case VALV__V1__REVIEW_STATE__APPROVED:
        time = a->review->due_time;
        break;
    default:
        return false;
    }
    be64_put(key, (uint64_t)timestamp_ns(time));
    memcpy(key + TIME_KEY_LEN, id, id_len);
    *len = TIME_KEY_LEN + id_len;
    return true;
}

bool review_mark_overdue(Valv__V1__Asset *a, int64_t now_ns)
{
    Valv__V1__ReviewStatus *r = a->review;
    if (r == NULL)
        return false;
    protobuf_c_boolean overdue = r->state == VALV__V1__REVIEW_STATE__APPROVED &&
                                 r->due_time != NULL && timestamp_ns(r->due_time) <= now_ns;
    bool changed = overdue != r->overdue;
    r->overdue = overdue;
    return changed;
}

/* --- Approve and return ------------------------------------------------------------ */

/* Refuses a review of a when it is not in the queue, saying why. */
static int check_in_queue(const Valv__V1__Asset *a, int64_t now_ns, valv_error *err)
{
    char due[32];
    time_t due_seconds;
    struct tm tm;

    if (asset_deleted(a))
        return valv_error_set(err, VALV_EPRECONDITION,
                              "asset %s is deleted; deleted assets are not reviewed", a->name);
    switch (review_state(a)) {
    case VALV__V1__REVIEW_STATE__PENDING:
    case VALV__V1__REVIEW_STATE__RETURNED:
        return VALV_OK;
    case VALV__V1__REVIEW_STATE__APPROVED:
        if (timestamp_ns(a->review->due_time) <= now_ns)
            return VALV_OK; /* overdue: back in the queue */
        due_seconds = (time_t)a->review->due_time->seconds;
        gmtime_r(&due_seconds, &tm);
        strftime(due, sizeof due, "%Y-%m-%dT%H:%M:%SZ", &tm);
        return valv_error_set(err, VALV_EPRECONDITION,
                              "asset %s is already approved until %s; it needs no review before "
                              "then unless it changes",
                              a->name, due);
    default:
        return valv_error_set(err, VALV_EPRECONDITION,
                              "asset %s is not flagged, so it needs no review", a->name);
    }
}

/* Records the chief's decision (APPROVED or RETURNED) on the version of
 * asset id with etag. */
static int review_decide(store_txn *t, const char *id, const char *etag, const char *comment,
                         Valv__V1__ReviewState decision, const store_actor *who,
                         Valv__V1__Asset **out, valv_error *err)
{
    Valv__V1__Asset *stored = NULL, *a = NULL;
    struct timespec now;
    int rc;

    valv_error_clear(err);
    *out = NULL;
    clock_now(&now);
    if (etag == NULL || etag[0] == '\0')
        valv_error_violation(err, "etag",
                             "required: the etag of the version you reviewed, so that a change "
                             "made meanwhile is not approved unseen");
    if (comment == NULL || comment[0] == '\0')
        valv_error_violation(err, "comment", "required: 1 to %d bytes saying what you found%s",
                             VALV_COMMENT_MAX,
                             decision == VALV__V1__REVIEW_STATE__RETURNED
                                 ? " and what the owner must do"
                                 : "");
    else
        validate_text(comment, VALV_COMMENT_MAX, "comment", err);
    if (err->n_violations > 0)
        return VALV_EINVAL;

    rc = audit_change_begin(t,
                            decision == VALV__V1__REVIEW_STATE__APPROVED
                                ? VALV__V1__AUDIT_ACTION__ACTION_APPROVE
                                : VALV__V1__AUDIT_ACTION__ACTION_RETURN,
                            who, comment, &now, err);
    if (rc == VALV_OK)
        rc = load_for_change(t, id, who, STORE_ACT_REVIEW, etag, &stored, err);
    if (rc == VALV_OK)
        rc = check_in_queue(stored, timespec_ns(&now), err);
    if (rc == VALV_OK)
        rc = asset_copy(stored, &a, err);
    if (rc != VALV_OK)
        goto done;

    Valv__V1__ReviewStatus *r = a->review;
    r->state = decision;
    rc = string_set(&r->reviewer, actor_name(who), err);
    if (rc == VALV_OK)
        rc = string_set(&r->comment, comment, err);
    if (rc == VALV_OK)
        rc = timestamp_set(&r->review_time, &now, err);
    if (rc == VALV_OK)
        rc = timestamp_set(&r->state_time, &now, err);
    timestamp_clear(&r->due_time);
    if (rc == VALV_OK && decision == VALV__V1__REVIEW_STATE__APPROVED) {
        /* Whole seconds, so that "due_time <= now" reads the same in the
         * store, in the queue and in the review.overdue filter. */
        struct timespec due = {now.tv_sec + t->s->review_interval, 0};
        rc = timestamp_set(&r->due_time, &due, err);
    }
    if (rc == VALV_OK)
        rc = asset_write(t, stored, a, err);
    if (rc != VALV_OK)
        goto done;
    review_mark_overdue(a, timespec_ns(&now));
    *out = a;
    a = NULL;
done:
    if (stored != NULL)
        valv__v1__asset__free_unpacked(stored, NULL);
    if (a != NULL)
        valv__v1__asset__free_unpacked(a, NULL);
    return rc;
}

int store_approve_asset(store_txn *t, const char *id, const char *etag, const char *comment,
                        const store_actor *who, Valv__V1__Asset **out, valv_error *err)
{
    return review_decide(t, id, etag, comment, VALV__V1__REVIEW_STATE__APPROVED, who, out, err);
}

int store_return_asset(store_txn *t, const char *id, const char *etag, const char *comment,
                       const store_actor *who, Valv__V1__Asset **out, valv_error *err)
{
    return review_decide(t, id, etag, comment, VALV__V1__REVIEW_STATE__RETURNED, who, out, err);
}

/* --- The queue ------------------------------------------------------------------------ */

int store_list_review_queue(store *s, const store_queue_request *req, store_list_result *out,
                            valv_error *err)
{
    const char *unit = req->owner_unit != NULL ? req->owner_unit : "";
    unsigned char digest[PAGETOKEN_DIGEST_LEN];
    unsigned char after[PAGETOKEN_CURSOR_MAX], last[QUEUE_KEY_MAX];
    size_t after_len = 0, last_len = 0, page_size = 0;
    bool has_after = false, more = false;
    Valv__V1__Asset *a = NULL;
    MDB_txn *txn = NULL;
    MDB_cursor *cur = NULL;
    MDB_val key, val;
    struct timespec now;
    int rc;

    valv_error_clear(err);
    memset(out, 0, sizeof *out);
    clock_now(&now);
    rc = page_size_get(req->page_size, &page_size, err);
    if (rc != VALV_OK)
        goto done;
    /* Tokens belong to the unit they page through. */
    pagetoken_query_digest(unit, "review_queue", false, digest);
    if (req->page_token != NULL && req->page_token[0] != '\0') {
        rc = pagetoken_decode(s->page_token_key, digest, req->page_token, after, sizeof after,
                              &after_len, err);
        if (rc != VALV_OK)
            goto done;
        if (after_len <= TIME_KEY_LEN || after_len > QUEUE_KEY_MAX) {
            rc = valv_error_violation(err, "page_token", "not a page token from this server");
            goto done;
        }
        has_after = true;
    }
    out->assets = calloc(page_size, sizeof *out->assets);
    if (out->assets == NULL) {
        rc = out_of_memory(err);
        goto done;
    }

    rc = read_begin(s, &txn, err);
    if (rc != VALV_OK)
        goto done;
    rc = mdb_cursor_open(txn, s->tables[TABLE_REVIEW_QUEUE], &cur);
    if (rc != 0) {
        rc = storage_error(rc, "reading the review queue", err);
        goto done;
    }
    key.mv_size = after_len;
    key.mv_data = after;
    rc = has_after ? mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE)
                   : mdb_cursor_get(cur, &key, &val, MDB_FIRST);
    if (rc == 0 && has_after && key.mv_size == after_len &&
        memcmp(key.mv_data, after, after_len) == 0)
        rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT);
    for (; rc == 0; rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
        char id[VALV_ASSET_ID_MAX + 1];
        size_t id_len = key.mv_size - TIME_KEY_LEN;

        if (key.mv_size <= TIME_KEY_LEN || id_len > VALV_ASSET_ID_MAX)
            continue; /* not a key this file writes */
        if ((int64_t)be64_get(key.mv_data) > timespec_ns(&now))
            break; /* approvals not yet due, and everything after them */
        memcpy(id, (const char *)key.mv_data + TIME_KEY_LEN, id_len);
        id[id_len] = '\0';
        rc = asset_load(s, txn, id, &a, err);
        if (rc != VALV_OK)
            goto done;
        if ((unit[0] != '\0' && strcmp(a->owner_unit, unit) != 0) ||
            !store_asset_visible(req->viewer, a)) {
            valv__v1__asset__free_unpacked(a, NULL);
            a = NULL;
            continue;
        }
        if (out->n_assets == page_size) {
            more = true;
            break;
        }
        review_mark_overdue(a, timespec_ns(&now));
        out->assets[out->n_assets++] = a;
        a = NULL;
        last_len = key.mv_size;
        memcpy(last, key.mv_data, last_len);
    }
    if (rc != 0 && rc != MDB_NOTFOUND) {
        rc = storage_error(rc, "reading the review queue", err);
        goto done;
    }
    rc = VALV_OK;
    if (more)
        rc = pagetoken_encode(s->page_token_key, digest, last, last_len, &out->next_page_token,
                              err);
done:
    if (a != NULL)
        valv__v1__asset__free_unpacked(a, NULL);
    if (cur != NULL)
        mdb_cursor_close(cur);
    if (txn != NULL)
        read_end(s, txn);
    if (rc != VALV_OK)
        store_list_result_free(out);
    return rc;
}
