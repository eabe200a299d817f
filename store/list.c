/* list.c - store_list_assets: index walks, orders and cursors. See store.h.
 *
 * Two ways to make a page:
 *   walk    id, display_name and update_time orders walk an index table in
 *           key order and stop one match past the page; the cursor is the
 *           last key returned.
 *   sorted  orders on classification, effective values and review state
 *           have no index: every candidate is read, its (value, id) kept,
 *           sorted, and the page taken after the cursor (value, id). This
 *           costs a full scan of the candidates on every page.
 */
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "filter.h"
#include "limits.h"
#include "store_internal.h"

typedef enum {
    ORDER_ID,
    ORDER_DISPLAY_NAME,
    ORDER_UPDATE_TIME,
    ORDER_CLASSIFICATION_CONFIDENTIALITY,
    ORDER_CLASSIFICATION_INTEGRITY,
    ORDER_CLASSIFICATION_AVAILABILITY,
    ORDER_CLASSIFICATION_TRACEABILITY,
    ORDER_EFFECTIVE_CONFIDENTIALITY,
    ORDER_EFFECTIVE_INTEGRITY,
    ORDER_EFFECTIVE_AVAILABILITY,
    ORDER_EFFECTIVE_TRACEABILITY,
    ORDER_EFFECTIVE_SECURITY_CLASS,
    ORDER_REVIEW_STATE,
} order_field;

/* The fields order_by names; those past ORDER_UPDATE_TIME are sorted. */
static const struct {
    const char *name;
    order_field field;
} order_fields[] = {
    {"display_name", ORDER_DISPLAY_NAME},
    {"update_time", ORDER_UPDATE_TIME},
    {"classification.confidentiality", ORDER_CLASSIFICATION_CONFIDENTIALITY},
    {"classification.integrity", ORDER_CLASSIFICATION_INTEGRITY},
    {"classification.availability", ORDER_CLASSIFICATION_AVAILABILITY},
    {"classification.traceability", ORDER_CLASSIFICATION_TRACEABILITY},
    {"effective.confidentiality", ORDER_EFFECTIVE_CONFIDENTIALITY},
    {"effective.integrity", ORDER_EFFECTIVE_INTEGRITY},
    {"effective.availability", ORDER_EFFECTIVE_AVAILABILITY},
    {"effective.traceability", ORDER_EFFECTIVE_TRACEABILITY},
    {"effective.security_class", ORDER_EFFECTIVE_SECURITY_CLASS},
    {"review.state", ORDER_REVIEW_STATE},
};

#define N_ORDER_FIELDS (sizeof order_fields / sizeof order_fields[0])

typedef struct {
    order_field field;
    bool desc;
    char text[64]; /* normalised order_by, e.g. "display_name desc": part of the token digest */
} list_order;

static bool order_sorted(const list_order *order)
{
    return order->field > ORDER_UPDATE_TIME;
}

static const char order_space[] = " \t\r\n";

/* Parses order_by: empty, or one field of order_fields optionally followed
 * by "desc", blanks anywhere between. */
static int order_parse(const char *text, list_order *out, valv_error *err)
{
    static const char allowed[] =
        "allowed: display_name, update_time, classification.{confidentiality, integrity, "
        "availability, traceability}, effective.{confidentiality, integrity, availability, "
        "traceability, security_class}, review.state, each optionally followed by \" desc\", "
        "or empty for ordering by id";
    const char *p = text != NULL ? text : "";
    char words[2][VALV_ORDER_BY_MAX + 1];
    size_t n_words = 0, i;

    memset(out, 0, sizeof *out);
    if (strlen(p) > VALV_ORDER_BY_MAX)
        return valv_error_violation(err, "order_by", "longer than %d bytes; %s",
                                    VALV_ORDER_BY_MAX, allowed);
    for (;;) {
        p += strspn(p, order_space);
        size_t len = strcspn(p, order_space);
        if (len == 0)
            break;
        if (n_words == 2)
            return valv_error_violation(err, "order_by", "\"%s\" is not an ordering; %s",
                                        text, allowed);
        memcpy(words[n_words], p, len);
        words[n_words++][len] = '\0';
        p += len;
    }

    if (n_words == 0)
        return VALV_OK;
    for (i = 0; i < N_ORDER_FIELDS; i++)
        if (strcmp(words[0], order_fields[i].name) == 0)
            break;
    if (i == N_ORDER_FIELDS)
        return valv_error_violation(err, "order_by", "cannot order by \"%s\"; %s", words[0],
                                    allowed);
    out->field = order_fields[i].field;
    if (n_words == 2) {
        if (strcmp(words[1], "desc") != 0)
            return valv_error_violation(err, "order_by", "\"%s\" is not an ordering; %s",
                                        text, allowed);
        out->desc = true;
    }
    snprintf(out->text, sizeof out->text, "%s%s", order_fields[i].name,
             out->desc ? " desc" : "");
    return VALV_OK;
}

/* The value a sorted order sorts a by (an enum number; unset is 0 and sorts first). */
static int order_value(const Valv__V1__Asset *a, order_field field)
{
    const Valv__V1__Classification *c = a->classification;
    const Valv__V1__Effective *e = a->effective;
    switch (field) {
    case ORDER_CLASSIFICATION_CONFIDENTIALITY:
        return c != NULL ? c->confidentiality : 0;
    case ORDER_CLASSIFICATION_INTEGRITY:
        return c != NULL ? c->integrity : 0;
    case ORDER_CLASSIFICATION_AVAILABILITY:
        return c != NULL ? c->availability : 0;
    case ORDER_CLASSIFICATION_TRACEABILITY:
        return c != NULL ? c->traceability : 0;
    case ORDER_EFFECTIVE_CONFIDENTIALITY:
        return e != NULL ? e->confidentiality : 0;
    case ORDER_EFFECTIVE_INTEGRITY:
        return e != NULL ? e->integrity : 0;
    case ORDER_EFFECTIVE_AVAILABILITY:
        return e != NULL ? e->availability : 0;
    case ORDER_EFFECTIVE_TRACEABILITY:
        return e != NULL ? e->traceability : 0;
    case ORDER_EFFECTIVE_SECURITY_CLASS:
        return e != NULL ? e->security_class : 0;
    case ORDER_REVIEW_STATE:
        return a->review != NULL ? a->review->state : 0;
    default:
        return 0;
    }
}

/* --- Walks -------------------------------------------------------------------------- */

/* A walk over one table in key order. Only keys starting with prefix are
 * visited; prefixes are used with ascending walks only (the index walks
 * for filter hints, whose order is the default id order). A cursor is the
 * part of the last key returned after the prefix. */
typedef struct {
    MDB_dbi dbi;
    unsigned char prefix[KEY_MAX];
    size_t prefix_len;
    index_id_place id_pos; /* where the id sits in a key, after the prefix */
    bool desc;
} list_walk;

/* Chooses the table to walk for order and filter f. Sorted orders walk
 * the candidates in id order. */
static void walk_choose(const store *s, const list_order *order, const filter *f,
                        list_walk *w)
{
    filter_hint hint = {0};

    memset(w, 0, sizeof *w);
    if (order->field == ORDER_DISPLAY_NAME) {
        w->dbi = s->tables[TABLE_BY_DISPLAY];
        w->id_pos = ID_AFTER_NUL;
        w->desc = order->desc;
        return;
    }
    if (order->field == ORDER_UPDATE_TIME) {
        w->dbi = s->tables[TABLE_BY_UPDATE];
        w->id_pos = ID_AFTER_TIME;
        w->desc = order->desc;
        return;
    }
    /* Id order: by_unit and by_kind keys are (prefix, id), so walking one
     * prefix of them visits the candidates in id order, like the assets
     * table would, but only those. */
    w->dbi = s->tables[TABLE_ASSETS];
    w->id_pos = ID_IS_KEY;
    w->desc = order->field == ORDER_ID && order->desc;
    if (f != NULL)
        filter_hint_get(f, &hint);
    if (hint.owner_unit != NULL && strlen(hint.owner_unit) <= VALV_OWNER_UNIT_MAX) {
        w->dbi = s->tables[TABLE_BY_UNIT];
        w->prefix_len = strlen(hint.owner_unit) + 1;
        memcpy(w->prefix, hint.owner_unit, w->prefix_len);
    } else if (hint.kind > 0 && hint.kind <= 255) {
        w->dbi = s->tables[TABLE_BY_KIND];
        w->prefix[0] = (unsigned char)hint.kind;
        w->prefix_len = 1;
    }
}

/* Positions cur on the first entry to visit: the first (or, descending,
 * last) of the walk, or the one just after (before) the cursor `after`. */
static int walk_first(const list_walk *w, MDB_cursor *cur, const unsigned char *after,
                      size_t after_len, MDB_val *key, MDB_val *val)
{
    unsigned char start[KEY_MAX];
    int rc;

    memcpy(start, w->prefix, w->prefix_len);
    if (after != NULL)
        memcpy(start + w->prefix_len, after, after_len);
    key->mv_data = start;
    key->mv_size = w->prefix_len + after_len;

    if (!w->desc) {
        if (key->mv_size == 0)
            return mdb_cursor_get(cur, key, val, MDB_FIRST);
        rc = mdb_cursor_get(cur, key, val, MDB_SET_RANGE);
        if (rc == 0 && after != NULL && key->mv_size == w->prefix_len + after_len &&
            memcmp(key->mv_data, start, key->mv_size) == 0)
            rc = mdb_cursor_get(cur, key, val, MDB_NEXT);
        return rc;
    }
    if (after == NULL)
        return mdb_cursor_get(cur, key, val, MDB_LAST);
    /* The entry before the first key at or past the cursor. */
    rc = mdb_cursor_get(cur, key, val, MDB_SET_RANGE);
    if (rc == MDB_NOTFOUND)
        return mdb_cursor_get(cur, key, val, MDB_LAST);
    if (rc != 0)
        return rc;
    return mdb_cursor_get(cur, key, val, MDB_PREV);
}

/* What every page of one request shares. */
typedef struct {
    store *s;
    MDB_txn *txn;
    const filter *f;
    bool show_deleted;
    const store_actor *viewer; /* invisible assets are no match */
    int64_t now_ns;
} list_query;

/* --- Looking at a candidate without keeping it ---------------------------------
 *
 * A walk decodes every candidate but keeps only the matches; a filter that
 * matches few assets decodes them all. So a candidate is decoded into an
 * arena (arena.h), emptied for the next one, and not with a malloc and a
 * free for each of its fields; only a match is decoded again, the usual
 * way, to be handed out. A walk without a filter, where nearly every
 * candidate is a match and would be decoded twice, decodes the usual way. */
#define SCAN_ARENA_BYTES (256 * 1024) /* more than the largest asset the limits allow */

/* Decodes candidate id's record: into mem when there is one (*owned
 * false: valid until the next candidate), else the usual way (*owned
 * true: the caller frees it). */
static int candidate_decode(arena *mem, const MDB_val *record, const char *id,
                            Valv__V1__Asset **out, bool *owned, valv_error *err)
{
    *owned = mem == NULL;
    if (mem != NULL)
        arena_reset(mem);
    return asset_unpack(record->mv_data, record->mv_size, id,
                        mem != NULL ? arena_allocator(mem) : NULL, out, err);
}

/* Takes a matching asset (and owns it from then on); key is the walk's key
 * for it. Returns VALV_OK to go on, WALK_STOP to stop, or an error. */
typedef int (*walk_take)(void *ctx, Valv__V1__Asset *a, const MDB_val *key, valv_error *err);
#define WALK_STOP (-1) /* no valv_code */

/* Walks w from the cursor `after` (NULL: from the start) and hands every
 * asset that q admits to take, in walk order. */
static int walk_matches(const list_query *q, const list_walk *w, const unsigned char *after,
                        size_t after_len, walk_take take, void *ctx, valv_error *err)
{
    /* Walking the assets table itself, the cursor holds each record; an
     * index walk looks the record up by the id in its key. */
    bool walk_has_records = w->dbi == q->s->tables[TABLE_ASSETS];
    MDB_cursor *cur = NULL;
    MDB_val key, val;
    Valv__V1__Asset *look = NULL, *a = NULL;
    bool owned = false;
    unsigned char *scan_buffer = q->f != NULL ? malloc(SCAN_ARENA_BYTES) : NULL;
    arena scan;
    arena_init(&scan, scan_buffer, SCAN_ARENA_BYTES);
    int rc = mdb_cursor_open(q->txn, w->dbi, &cur);

    if (rc != 0) {
        free(scan_buffer);
        return storage_error(rc, "listing assets", err);
    }
    for (rc = walk_first(w, cur, after, after_len, &key, &val); rc == 0;
         rc = mdb_cursor_get(cur, &key, &val, w->desc ? MDB_PREV : MDB_NEXT)) {
        char id[VALV_ASSET_ID_MAX + 1];
        MDB_val record = val;

        if (key.mv_size < w->prefix_len || memcmp(key.mv_data, w->prefix, w->prefix_len) != 0)
            break;
        if (!index_entry_id(&key, NULL, w->prefix_len, w->id_pos, id))
            continue;
        if (!walk_has_records && (rc = asset_record(q->s, q->txn, id, &record, err)) != VALV_OK) {
            if (rc == VALV_ENOTFOUND) {
                valv_error_clear(err);
                rc = valv_error_set(err, VALV_EINTERNAL,
                                    "an index names asset assets/%s, which has no record; "
                                    "run valvd verify on the data directory", id);
            }
            goto done;
        }
        rc = candidate_decode(q->f != NULL ? &scan : NULL, &record, id, &look, &owned, err);
        if (rc != VALV_OK)
            goto done;
        review_mark_overdue(look, q->now_ns);
        bool match = (!asset_deleted(look) || q->show_deleted) &&
                     store_asset_visible(q->viewer, look) &&
                     filter_match(q->f, look, q->now_ns / NS_PER_SECOND);
        if (match && owned) {
            a = look; /* decoded the usual way already */
            look = NULL;
        } else if (match) {
            rc = asset_unpack(record.mv_data, record.mv_size, id, NULL, &a, err);
            if (rc != VALV_OK)
                goto done;
            review_mark_overdue(a, q->now_ns);
        }
        if (owned && look != NULL)
            valv__v1__asset__free_unpacked(look, NULL);
        look = NULL;
        if (!match)
            continue;
        rc = take(ctx, a, &key, err);
        a = NULL;
        if (rc != VALV_OK)
            goto done;
    }
    rc = rc == 0 || rc == MDB_NOTFOUND ? VALV_OK : storage_error(rc, "listing assets", err);
done:
    if (owned && look != NULL)
        valv__v1__asset__free_unpacked(look, NULL);
    mdb_cursor_close(cur);
    arena_reset(&scan);
    free(scan_buffer);
    return rc == WALK_STOP ? VALV_OK : rc;
}

/* A cursor in a page token: one byte for the direction, then for a walk
 * the key after the walk's prefix, for a sorted order the value (one byte)
 * and the id. */
#define CURSOR_ASC 'a'
#define CURSOR_DESC 'd'

typedef struct {
    store_list_result *out;
    size_t page_size;
    bool more; /* a match past the page exists */
    size_t prefix_len;
    unsigned char last[PAGETOKEN_CURSOR_MAX];
    size_t last_len;
} walk_page;

static int walk_page_take(void *ctx, Valv__V1__Asset *a, const MDB_val *key, valv_error *err)
{
    walk_page *p = ctx;
    (void)err;
    if (p->out->n_assets == p->page_size) {
        valv__v1__asset__free_unpacked(a, NULL);
        p->more = true;
        return WALK_STOP;
    }
    p->out->assets[p->out->n_assets++] = a;
    p->last_len = key->mv_size - p->prefix_len;
    memcpy(p->last + 1, (const unsigned char *)key->mv_data + p->prefix_len, p->last_len);
    p->last_len++;
    return VALV_OK;
}

/* --- Sorted orders ------------------------------------------------------------------- */

typedef struct {
    int value;
    char id[VALV_ASSET_ID_MAX + 1];
} sort_item;

typedef struct {
    sort_item *items;
    size_t n, cap;
    order_field field;
} sort_list;

static int sort_take(void *ctx, Valv__V1__Asset *a, const MDB_val *key, valv_error *err)
{
    sort_list *list = ctx;
    int rc = VALV_OK;
    (void)key;
    if (list->n == list->cap) {
        size_t cap = list->cap == 0 ? 256 : 2 * list->cap;
        sort_item *grown = realloc(list->items, cap * sizeof *grown);
        if (grown == NULL) {
            rc = out_of_memory(err);
            goto done;
        }
        list->items = grown;
        list->cap = cap;
    }
    list->items[list->n].value = order_value(a, list->field);
    text_copy(list->items[list->n].id, sizeof list->items[list->n].id, asset_id(a));
    list->n++;
done:
    valv__v1__asset__free_unpacked(a, NULL);
    return rc;
}

static int sort_item_compare(const void *pa, const void *pb)
{
    const sort_item *a = pa, *b = pb;
    if (a->value != b->value)
        return a->value < b->value ? -1 : 1;
    return strcmp(a->id, b->id);
}

/* Makes a page of a sorted order: every candidate's (value, id), sorted
 * (descending: read backwards), the page after the cursor item `after`. */
static int sorted_page(const list_query *q, const list_walk *w, order_field field, bool desc,
                       const sort_item *after, walk_page *page, valv_error *err)
{
    sort_list list = {NULL, 0, 0, field};
    size_t first = 0, taken = 0;
    int rc = walk_matches(q, w, NULL, 0, sort_take, &list, err);

    if (rc != VALV_OK)
        goto done;
    qsort(list.items, list.n, sizeof *list.items, sort_item_compare);
    /* first: how many items come before the page, in reading order. */
    if (after != NULL) {
        size_t lo = 0, hi = list.n; /* the first item above `after` */
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (sort_item_compare(&list.items[mid], after) <= 0)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (!desc) {
            first = lo;
        } else {
            /* Items below `after` are read next, from the highest. */
            while (lo > 0 && sort_item_compare(&list.items[lo - 1], after) >= 0)
                lo--;
            first = list.n - lo;
        }
    }
    for (size_t k = first; k < list.n && rc == VALV_OK; k++) {
        const sort_item *item = &list.items[desc ? list.n - 1 - k : k];
        Valv__V1__Asset *a = NULL;
        if (taken == page->page_size) {
            page->more = true;
            break;
        }
        rc = asset_load(q->s, q->txn, item->id, &a, err);
        if (rc != VALV_OK)
            break;
        review_mark_overdue(a, q->now_ns);
        page->out->assets[page->out->n_assets++] = a;
        taken++;
        page->last[1] = (unsigned char)item->value;
        page->last_len = 2 + strlen(item->id);
        memcpy(page->last + 2, item->id, page->last_len - 2);
    }
done:
    free(list.items);
    return rc;
}

/* --- ListAssets -------------------------------------------------------------------------- */

/* Decodes the page token of a request ordered by order over walk w. */
static int cursor_decode(const store *s, const list_order *order, const list_walk *w,
                         const char *token, const unsigned char digest[PAGETOKEN_DIGEST_LEN],
                         unsigned char cursor[PAGETOKEN_CURSOR_MAX], size_t *cursor_len,
                         valv_error *err)
{
    int rc = pagetoken_decode(s->page_token_key, digest, token, cursor, PAGETOKEN_CURSOR_MAX,
                              cursor_len, err);
    if (rc != VALV_OK)
        return rc;
    bool fits = order_sorted(order)
                    ? *cursor_len >= 3 && *cursor_len - 2 <= VALV_ASSET_ID_MAX
                    : *cursor_len >= 2 && w->prefix_len + *cursor_len - 1 <= KEY_MAX;
    if (!fits || cursor[0] != (order->desc ? CURSOR_DESC : CURSOR_ASC))
        return valv_error_violation(err, "page_token", "not a page token from this server");
    return VALV_OK;
}

int store_list_assets(store *s, const store_list_request *req, store_list_result *out,
                      valv_error *err)
{
    filter *f = NULL;
    list_order order;
    list_walk walk;
    list_query query = {s, NULL, NULL, req->show_deleted, req->viewer, 0};
    walk_page page = {out, 0, false, 0, {0}, 0};
    unsigned char digest[PAGETOKEN_DIGEST_LEN];
    unsigned char after[PAGETOKEN_CURSOR_MAX];
    size_t after_len = 0;
    bool has_after = false;
    struct timespec now;
    int rc;

    valv_error_clear(err);
    memset(out, 0, sizeof *out);
    clock_now(&now);
    query.now_ns = timespec_ns(&now);
    rc = filter_parse(req->filter != NULL ? req->filter : "", &f, err);
    if (rc != VALV_OK)
        goto done;
    query.f = f;
    rc = order_parse(req->order_by, &order, err);
    if (rc != VALV_OK)
        goto done;
    rc = page_size_get(req->page_size, &page.page_size, err);
    if (rc != VALV_OK)
        goto done;
    walk_choose(s, &order, f, &walk);
    pagetoken_query_digest(req->filter, order.text, req->show_deleted, digest);
    if (req->page_token != NULL && req->page_token[0] != '\0') {
        rc = cursor_decode(s, &order, &walk, req->page_token, digest, after, &after_len, err);
        if (rc != VALV_OK)
            goto done;
        has_after = true;
    }

    out->assets = calloc(page.page_size, sizeof *out->assets);
    if (out->assets == NULL) {
        rc = out_of_memory(err);
        goto done;
    }
    rc = read_begin(s, &query.txn, err);
    if (rc != VALV_OK)
        goto done;
    page.last[0] = order.desc ? CURSOR_DESC : CURSOR_ASC;
    if (order_sorted(&order)) {
        sort_item cursor_item = {0};
        if (has_after) {
            cursor_item.value = after[1];
            memcpy(cursor_item.id, after + 2, after_len - 2);
        }
        rc = sorted_page(&query, &walk, order.field, order.desc,
                         has_after ? &cursor_item : NULL, &page, err);
    } else {
        /* One match past the page proves that another page exists. */
        page.prefix_len = walk.prefix_len;
        rc = walk_matches(&query, &walk, has_after ? after + 1 : NULL,
                          has_after ? after_len - 1 : 0, walk_page_take, &page, err);
    }
    if (rc == VALV_OK && page.more)
        rc = pagetoken_encode(s->page_token_key, digest, page.last, page.last_len,
                              &out->next_page_token, err);
done:
    if (query.txn != NULL)
        read_end(s, query.txn);
    filter_free(f);
    if (rc != VALV_OK)
        store_list_result_free(out);
    return rc;
}

void store_list_result_free(store_list_result *r)
{
    if (r == NULL)
        return;
    asset_array_free(r->assets, r->n_assets);
    free(r->next_page_token);
    memset(r, 0, sizeof *r);
}
