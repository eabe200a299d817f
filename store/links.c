/* links.c - what carries what: the link tables and the link writes of
 * store.h.
 *
 * A link from -> to of a type is one key in each of two tables, so that both
 * directions are a prefix walk:
 *   links_out  from \0 type \0 to  ->  packed valv.v1.Link (create time, creator)
 *   links_in   to \0 type \0 from  ->  ""
 * (type is one byte, the LinkType number; ids never hold a NUL.)
 */
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "limits.h"
#include "store_internal.h"
#include "validate.h"

/* id \0 type \0 id */
#define LINK_KEY_MAX (2 * VALV_ASSET_ID_MAX + 3)
/* The part of a key after "id\0": type \0 other_id. */
#define LINK_KEY_REST_MAX (VALV_ASSET_ID_MAX + 2)

/* Which kinds each type joins: the design's table, as data. */
static const struct {
    Valv__V1__LinkType type;
    Valv__V1__AssetKind from, to;
} link_rules[] = {
    {VALV__V1__LINK_TYPE__PROCESSED_BY, VALV__V1__ASSET_KIND__INFORMATION,
     VALV__V1__ASSET_KIND__IT_SYSTEM},
    {VALV__V1__LINK_TYPE__STORED_IN, VALV__V1__ASSET_KIND__INFORMATION,
     VALV__V1__ASSET_KIND__FACILITY},
    {VALV__V1__LINK_TYPE__HOSTED_IN, VALV__V1__ASSET_KIND__IT_SYSTEM,
     VALV__V1__ASSET_KIND__FACILITY},
    {VALV__V1__LINK_TYPE__DEPENDS_ON, VALV__V1__ASSET_KIND__IT_SYSTEM,
     VALV__V1__ASSET_KIND__IT_SYSTEM},
    {VALV__V1__LINK_TYPE__PART_OF, VALV__V1__ASSET_KIND__FACILITY,
     VALV__V1__ASSET_KIND__FACILITY},
};

#define N_LINK_RULES (sizeof link_rules / sizeof link_rules[0])

/* The index of type's rule in link_rules; -1 for an unknown type. */
static int link_rule_find(int type)
{
    for (size_t i = 0; i < N_LINK_RULES; i++)
        if ((int)link_rules[i].type == type)
            return (int)i;
    return -1;
}

static const char *enum_name(const ProtobufCEnumDescriptor *desc, int value)
{
    const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(desc, value);
    return v != NULL ? v->name : "UNKNOWN";
}

static const char *kind_name(int kind)
{
    return enum_name(&valv__v1__asset_kind__descriptor, kind);
}

static const char *type_name(int type)
{
    return enum_name(&valv__v1__link_type__descriptor, type);
}

/* "an" before INFORMATION and IT_SYSTEM, "a" before FACILITY. */
static const char *article(const char *word)
{
    return strchr("AEIOU", word[0]) != NULL ? "an" : "a";
}

/* Writes the key a \0 type \0 b; returns its length. */
static size_t link_key(unsigned char key[LINK_KEY_MAX], const char *a, int type, const char *b)
{
    size_t a_len = strlen(a), b_len = strlen(b);
    memcpy(key, a, a_len + 1);
    key[a_len + 1] = (unsigned char)type;
    key[a_len + 2] = '\0';
    memcpy(key + a_len + 3, b, b_len);
    return a_len + 3 + b_len;
}

/* Checks the arguments every link write takes; field names are those of
 * CreateLinkRequest.link and DeleteLinkRequest. */
static int link_check_args(const char *from_id, const char *to_id, int type, valv_error *err)
{
    validate_asset_id(from_id, "from_asset", err);
    validate_asset_id(to_id, "to_asset", err);
    if (link_rule_find(type) < 0)
        valv_error_violation(err, "type",
                             "%d is not a link type; allowed: PROCESSED_BY, STORED_IN, "
                             "HOSTED_IN, DEPENDS_ON, PART_OF",
                             type);
    if (err->n_violations == 0 && strcmp(from_id, to_id) == 0)
        valv_error_violation(err, "to_asset", "assets/%s cannot be linked to itself", to_id);
    return err->n_violations > 0 ? VALV_EINVAL : VALV_OK;
}

/* Loads both ends of a link for a link write by who, without their
 * descriptive fields (access_load_values), or takes *from as it is when
 * the caller has it in hand: each must exist and be visible to who, and who
 * may link from the from asset's unit. On error both *from and *to are
 * freed and NULL. */
static int link_ends_load(store_txn *t, const char *from_id, const char *to_id,
                          const store_actor *who, Valv__V1__Asset **from, Valv__V1__Asset **to,
                          valv_error *err)
{
    int rc = *from != NULL ? access_hide_unseen(from_id, who, from, err)
                           : access_load_values(t->s, t->txn, from_id, who, from, err);
    if (rc == VALV_OK)
        rc = access_load_values(t->s, t->txn, to_id, who, to, err);
    if (rc == VALV_OK)
        rc = access_check(who, STORE_ACT_LINK, (*from)->owner_unit, err);
    if (rc != VALV_OK) {
        if (*from != NULL)
            valv__v1__asset__free_unpacked(*from, NULL);
        if (*to != NULL)
            valv__v1__asset__free_unpacked(*to, NULL);
        *from = NULL;
        *to = NULL;
    }
    return rc;
}

/* A new link's end must be live. */
static int endpoint_check_live(const Valv__V1__Asset *a, valv_error *err)
{
    if (!asset_deleted(a))
        return VALV_OK;
    return valv_error_set(err, VALV_EPRECONDITION,
                          "asset %s is deleted; undelete it before linking it", a->name);
}

/* Spreads the effects of adding or removing (added false) the link
 * from -> to: to's protection may change (and so everything downstream of
 * it), and both ends have changed links for the review rules. *from and *to
 * are the ends as loaded in t (unchanged by the link itself): the change
 * takes them over and sets both pointers to NULL. */
static int link_change_spread(store_txn *t, Valv__V1__Asset **from, Valv__V1__Asset **to,
                              bool added, const struct timespec *now, valv_error *err)
{
    char from_id[VALV_ASSET_ID_MAX + 1], to_id[VALV_ASSET_ID_MAX + 1];
    inherit *change = NULL;

    text_copy(from_id, sizeof from_id, asset_id(*from));
    text_copy(to_id, sizeof to_id, asset_id(*to));
    int rc = inherit_begin(t, now, &change, err);
    /* to first: the change writes assets in the order it meets them. */
    if (rc == VALV_OK)
        rc = inherit_give(change, to, err);
    if (rc == VALV_OK)
        rc = inherit_give(change, from, err);
    if (rc == VALV_OK)
        rc = added ? inherit_linked(change, from_id, to_id, err) : inherit_seed(change, to_id, err);
    if (rc == VALV_OK)
        rc = inherit_relinked(change, from_id, err);
    if (rc == VALV_OK)
        rc = inherit_relinked(change, to_id, err);
    if (rc == VALV_OK)
        rc = inherit_finish(change, err);
    inherit_free(change);
    return rc;
}

static int link_build(const char *from_id, const char *to_id, int type, const char *source,
                      const store_actor *who, const struct timespec *now,
                      Valv__V1__Link **out, valv_error *err)
{
    char name[ASSET_NAME_MAX + 1];
    Valv__V1__Link *link = malloc(sizeof *link);
    int rc;

    if (link == NULL)
        return out_of_memory(err);
    valv__v1__link__init(link);
    link->type = (Valv__V1__LinkType)type;
    asset_name_write(name, from_id);
    rc = string_set(&link->from_asset, name, err);
    asset_name_write(name, to_id);
    if (rc == VALV_OK)
        rc = string_set(&link->to_asset, name, err);
    if (rc == VALV_OK)
        rc = string_set(&link->create_by, actor_name(who), err);
    if (rc == VALV_OK)
        rc = timestamp_set(&link->create_time, now, err);
    if (rc == VALV_OK && source[0] != '\0')
        rc = string_set(&link->source, source, err);
    if (rc != VALV_OK) {
        valv__v1__link__free_unpacked(link, NULL);
        return rc;
    }
    *out = link;
    return VALV_OK;
}

int store_create_link(store_txn *t, const char *from_id, const char *to_id,
                      Valv__V1__LinkType type, const store_actor *who, Valv__V1__Link **out,
                      valv_error *err)
{
    return link_create(t, from_id, NULL, to_id, (int)type, "", who, out, err);
}

/* What every link write does first: checks the arguments, begins the
 * change (action) and loads both ends (link_ends_load: *from may be in
 * hand). */
static int link_write_begin(store_txn *t, int action, const char *from_id, const char *to_id,
                            int type, const store_actor *who, const struct timespec *now,
                            Valv__V1__Asset **from, Valv__V1__Asset **to, valv_error *err)
{
    int rc = link_check_args(from_id, to_id, type, err);
    if (rc == VALV_OK)
        rc = audit_change_begin(t, action, who, NULL, now, err);
    if (rc == VALV_OK)
        rc = link_ends_load(t, from_id, to_id, who, from, to, err);
    return rc;
}

/* Frees what a link write held (any may be NULL). */
static void link_write_free(Valv__V1__Link *link, Valv__V1__Asset *from, Valv__V1__Asset *to)
{
    if (link != NULL)
        valv__v1__link__free_unpacked(link, NULL);
    if (from != NULL)
        valv__v1__asset__free_unpacked(from, NULL);
    if (to != NULL)
        valv__v1__asset__free_unpacked(to, NULL);
}

int link_create(store_txn *t, const char *from_id, Valv__V1__Asset **from_in_hand,
                const char *to_id, int type, const char *source, const store_actor *who,
                Valv__V1__Link **out, valv_error *err)
{
    Valv__V1__Asset *from = NULL, *to = NULL;
    if (from_in_hand != NULL) {
        from = *from_in_hand; /* ours from here on: freed at done unless the change takes it */
        *from_in_hand = NULL;
    }
    Valv__V1__Link *link = NULL;
    unsigned char out_key[LINK_KEY_MAX], in_key[LINK_KEY_MAX];
    size_t out_key_len, in_key_len;
    struct timespec now;
    int rc;

    valv_error_clear(err);
    *out = NULL;
    clock_now(&now);
    rc = link_write_begin(t, VALV__V1__AUDIT_ACTION__ACTION_LINK, from_id, to_id, type, who, &now,
                          &from, &to, err);
    if (rc == VALV_OK)
        rc = endpoint_check_live(from, err);
    if (rc == VALV_OK)
        rc = endpoint_check_live(to, err);
    if (rc != VALV_OK)
        goto done;

    int rule = link_rule_find(type);
    if (from->kind != link_rules[rule].from || to->kind != link_rules[rule].to) {
        const char *rule_from = kind_name(link_rules[rule].from);
        const char *rule_to = kind_name(link_rules[rule].to);
        const char *from_kind = kind_name(from->kind), *to_kind = kind_name(to->kind);
        rc = valv_error_violation(err, "type", "%s links %s %s to %s %s, not %s %s to %s %s",
                                  type_name(type), article(rule_from), rule_from,
                                  article(rule_to), rule_to, article(from_kind), from_kind,
                                  article(to_kind), to_kind);
        goto done;
    }

    out_key_len = link_key(out_key, from_id, type, to_id);
    in_key_len = link_key(in_key, to_id, type, from_id);
    rc = link_build(from_id, to_id, type, source, who, &now, &link, err);
    if (rc != VALV_OK)
        goto done;
    rc = txn_put_message(t, TABLE_LINKS_OUT, out_key, out_key_len, &link->base,
                         MDB_NOOVERWRITE, err);
    if (rc == VALV_EEXIST)
        rc = valv_error_set(err, VALV_EEXIST,
                            "the %s link from assets/%s to assets/%s already exists",
                            type_name(type), from_id, to_id);
    if (rc == VALV_OK)
        rc = txn_put(t, TABLE_LINKS_IN, in_key, in_key_len, "", 0, err);
    /* A link write is a change of its own: its revision and event come
     * before those of the assets it rewrites. */
    if (rc == VALV_OK)
        rc = audit_append_link(t, from_id, to_id, type, true, err);
    if (rc == VALV_OK)
        rc = link_change_spread(t, &from, &to, true, &now, err);
    if (rc != VALV_OK)
        goto done;
    *out = link;
    link = NULL;
done:
    link_write_free(link, from, to);
    return rc;
}

int link_load(const store *s, MDB_txn *txn, const char *from_id, int type, const char *to_id,
              Valv__V1__Link **out, valv_error *err)
{
    unsigned char key_buf[LINK_KEY_MAX];
    MDB_val key = {link_key(key_buf, from_id, type, to_id), key_buf};
    MDB_val val;

    *out = NULL;
    int rc = mdb_get(txn, s->tables[TABLE_LINKS_OUT], &key, &val);
    if (rc == MDB_NOTFOUND)
        return valv_error_set(err, VALV_ENOTFOUND, "there is no %s link from assets/%s to assets/%s",
                              type_name(type), from_id, to_id);
    if (rc != 0)
        return storage_error(rc, "reading a link", err);
    *out = valv__v1__link__unpack(NULL, val.mv_size, val.mv_data);
    if (*out == NULL)
        return valv_error_set(err, VALV_EINTERNAL,
                              "a link of assets/%s is damaged in the store and cannot be read",
                              from_id);
    return VALV_OK;
}

/* Removes the link from -> to from both tables; it must be there. */
static int link_remove(store_txn *t, const char *from_id, int type, const char *to_id,
                       valv_error *err)
{
    unsigned char key[LINK_KEY_MAX];
    size_t key_len = link_key(key, from_id, type, to_id);
    int rc = txn_del(t, TABLE_LINKS_OUT, key, key_len, err);
    if (rc == VALV_OK) {
        key_len = link_key(key, to_id, type, from_id);
        rc = txn_del(t, TABLE_LINKS_IN, key, key_len, err);
    }
    return rc;
}

int store_delete_link(store_txn *t, const char *from_id, const char *to_id,
                      Valv__V1__LinkType type, const store_actor *who, valv_error *err)
{
    Valv__V1__Asset *from = NULL, *to = NULL;
    Valv__V1__Link *link = NULL;
    struct timespec now;
    int rc;

    valv_error_clear(err);
    clock_now(&now);
    rc = link_write_begin(t, VALV__V1__AUDIT_ACTION__ACTION_UNLINK, from_id, to_id, type, who,
                          &now, &from, &to, err);
    if (rc == VALV_OK)
        rc = link_load(t->s, t->txn, from_id, type, to_id, &link, err);
    if (rc == VALV_OK)
        rc = link_remove(t, from_id, type, to_id, err);
    if (rc == VALV_OK)
        rc = audit_append_link(t, from_id, to_id, type, false, err);
    if (rc == VALV_OK)
        rc = link_change_spread(t, &from, &to, false, &now, err);
    link_write_free(link, from, to);
    return rc;
}

/* --- Walking the links of one asset ---------------------------------------------- */

/* Visits the links of id in table, starting after the key rest `after`
 * (type \0 other_id; NULL: from the first). */
static int links_walk(const store *s, MDB_txn *txn, int table, const char *id,
                      const unsigned char *after, size_t after_len, links_visit visit,
                      void *ctx, valv_error *err)
{
    unsigned char start[LINK_KEY_MAX];
    size_t prefix_len = strlen(id) + 1;
    MDB_cursor *cur = NULL;
    MDB_val key, val;
    int rc;

    if (prefix_len > VALV_ASSET_ID_MAX + 1 || after_len > LINK_KEY_REST_MAX)
        return VALV_OK; /* no asset has such an id, so no links either */
    memcpy(start, id, prefix_len);
    if (after != NULL)
        memcpy(start + prefix_len, after, after_len);
    key.mv_size = prefix_len + (after != NULL ? after_len : 0);
    key.mv_data = start;

    rc = mdb_cursor_open(txn, s->tables[table], &cur);
    if (rc != 0)
        return storage_error(rc, "reading links", err);
    rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
    /* The cursor names the last link already seen: step past it. */
    if (rc == 0 && after != NULL && key.mv_size == prefix_len + after_len &&
        memcmp(key.mv_data, start, key.mv_size) == 0)
        rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT);
    for (; rc == 0; rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
        const unsigned char *k = key.mv_data;
        char other[VALV_ASSET_ID_MAX + 1];
        size_t other_len;

        if (key.mv_size < prefix_len + 2 || memcmp(k, start, prefix_len) != 0)
            break;
        other_len = key.mv_size - prefix_len - 2;
        if (other_len == 0 || other_len > VALV_ASSET_ID_MAX)
            continue; /* not a key this file writes */
        memcpy(other, k + prefix_len + 2, other_len);
        other[other_len] = '\0';
        rc = visit(ctx, other, k[prefix_len], err);
        if (rc != 0)
            goto done;
    }
    rc = rc == MDB_NOTFOUND || rc == 0 ? VALV_OK : storage_error(rc, "reading links", err);
done:
    mdb_cursor_close(cur);
    return rc;
}

int links_each(const store *s, MDB_txn *txn, int table, const char *id, links_visit visit,
               void *ctx, valv_error *err)
{
    return links_walk(s, txn, table, id, NULL, 0, visit, ctx, err);
}

/* --- Removing every link of a deleted asset ---------------------------------------- */

typedef struct {
    char other[VALV_ASSET_ID_MAX + 1];
    int type;
    bool outgoing; /* id -> other */
} link_end;

typedef struct {
    link_end *ends;
    size_t n, cap;
    bool outgoing; /* the direction being walked */
} link_end_list;

static int link_end_collect(void *ctx, const char *other_id, int type, valv_error *err)
{
    link_end_list *list = ctx;
    if (list->n == list->cap) {
        size_t cap = list->cap == 0 ? 16 : 2 * list->cap;
        link_end *grown = realloc(list->ends, cap * sizeof *grown);
        if (grown == NULL)
            return out_of_memory(err);
        list->ends = grown;
        list->cap = cap;
    }
    link_end *e = &list->ends[list->n++];
    text_copy(e->other, sizeof e->other, other_id);
    e->type = type;
    e->outgoing = list->outgoing;
    return VALV_OK;
}

/* Refuses the deletion of asset id, which has links, without force. The
 * message counts only the links whose other end who may see: the number
 * must not tell of assets that do not exist for who. */
static int links_refuse_removal(store_txn *t, const char *id, const link_end_list *list,
                                const store_actor *who, valv_error *err)
{
    size_t n_visible = 0;
    for (size_t i = 0; i < list->n; i++) {
        bool visible = false;
        int rc = access_id_visible(t->s, t->txn, list->ends[i].other, who, &visible, err);
        if (rc != VALV_OK)
            return rc;
        n_visible += visible;
    }
    if (n_visible < list->n)
        return valv_error_set(err, VALV_EPRECONDITION,
                              "asset assets/%s has links; delete the asset with force to remove "
                              "them with it",
                              id);
    return valv_error_set(err, VALV_EPRECONDITION,
                          "asset assets/%s has %zu link%s; delete %s first, or delete the "
                          "asset with force to remove %s with it",
                          id, list->n, list->n == 1 ? "" : "s", list->n == 1 ? "it" : "them",
                          list->n == 1 ? "it" : "them");
}

int links_remove_all(store_txn *t, const char *id, bool force, const store_actor *who,
                     inherit *change, valv_error *err)
{
    link_end_list list = {0};
    int rc;

    list.outgoing = true;
    rc = links_each(t->s, t->txn, TABLE_LINKS_OUT, id, link_end_collect, &list, err);
    list.outgoing = false;
    if (rc == VALV_OK)
        rc = links_each(t->s, t->txn, TABLE_LINKS_IN, id, link_end_collect, &list, err);
    if (rc != VALV_OK)
        goto done;
    if (list.n > 0 && !force) {
        rc = links_refuse_removal(t, id, &list, who, err);
        goto done;
    }
    for (size_t i = 0; i < list.n && rc == VALV_OK; i++) {
        const link_end *e = &list.ends[i];
        const char *from_id = e->outgoing ? id : e->other;
        const char *to_id = e->outgoing ? e->other : id;
        rc = link_remove(t, from_id, e->type, to_id, err);
        if (rc == VALV_OK)
            rc = audit_link_removed(t, from_id, to_id, e->type, err);
        /* What an outgoing link raised falls; an incoming link raised id itself. */
        if (rc == VALV_OK)
            rc = inherit_seed(change, e->outgoing ? e->other : id, err);
        if (rc == VALV_OK)
            rc = inherit_relinked(change, e->other, err);
    }
done:
    free(list.ends);
    return rc;
}

/* --- Listing ------------------------------------------------------------------------ */

/* A list cursor: the direction walked, then the key rest of the last link. */
#define CURSOR_OUTGOING 'o'
#define CURSOR_INCOMING 'i'

typedef struct {
    const store *s;
    MDB_txn *txn;
    const char *id;
    const store_actor *viewer;
    bool outgoing;
    store_link_list_result *out;
    size_t page_size;
    bool more; /* a link past the page exists */
    unsigned char last[1 + LINK_KEY_REST_MAX];
    size_t last_len;
} link_page;

/* Stops the walk (with this value, which is no valv_code) once the page is
 * full and one more link proved that another page exists. */
#define PAGE_FULL (-1)

static int link_page_add(void *ctx, const char *other_id, int type, valv_error *err)
{
    link_page *p = ctx;
    store_link_list_result *out = p->out;
    bool visible = false;

    /* A link left out never reaches the page or its cursor: the next page
     * still starts after the last link returned. */
    int rc = access_id_visible(p->s, p->txn, other_id, p->viewer, &visible, err);
    if (rc != VALV_OK || !visible)
        return rc;
    if (out->n_links == p->page_size) {
        p->more = true;
        return PAGE_FULL;
    }
    rc = p->outgoing
             ? link_load(p->s, p->txn, p->id, type, other_id, &out->links[out->n_links], err)
             : link_load(p->s, p->txn, other_id, type, p->id, &out->links[out->n_links], err);
    if (rc != VALV_OK)
        return rc;
    out->n_links++;
    p->last[0] = p->outgoing ? CURSOR_OUTGOING : CURSOR_INCOMING;
    p->last[1] = (unsigned char)type;
    p->last[2] = '\0';
    memcpy(p->last + 3, other_id, strlen(other_id));
    p->last_len = 3 + strlen(other_id);
    return VALV_OK;
}

int store_list_links(store *s, const char *id, const store_actor *viewer, int32_t page_size,
                     const char *page_token, store_link_list_result *out, valv_error *err)
{
    link_page page = {0};
    unsigned char digest[PAGETOKEN_DIGEST_LEN];
    unsigned char after[PAGETOKEN_CURSOR_MAX];
    size_t after_len = 0;
    bool has_after = false;
    Valv__V1__Asset *a = NULL;
    MDB_txn *txn = NULL;
    int rc;

    valv_error_clear(err);
    memset(out, 0, sizeof *out);
    rc = page_size_get(page_size, &page.page_size, err);
    if (rc != VALV_OK)
        goto done;
    /* Tokens belong to the asset whose links they page through. */
    pagetoken_query_digest(id, "links", false, digest);
    if (page_token != NULL && page_token[0] != '\0') {
        rc = pagetoken_decode(s->page_token_key, digest, page_token, after, sizeof after,
                              &after_len, err);
        if (rc != VALV_OK)
            goto done;
        if (after_len < 4 || after_len > 1 + LINK_KEY_REST_MAX ||
            (after[0] != CURSOR_OUTGOING && after[0] != CURSOR_INCOMING)) {
            rc = valv_error_violation(err, "page_token", "not a page token from this server");
            goto done;
        }
        has_after = true;
    }
    out->links = calloc(page.page_size, sizeof *out->links);
    if (out->links == NULL) {
        rc = out_of_memory(err);
        goto done;
    }

    rc = read_begin(s, &txn, err);
    if (rc != VALV_OK)
        goto done;
    rc = access_load_values(s, txn, id, viewer, &a, err);
    if (rc != VALV_OK)
        goto done;
    page.s = s;
    page.txn = txn;
    page.id = id;
    page.viewer = viewer;
    page.out = out;
    /* Outgoing links first, then incoming; a cursor in the incoming ones
     * skips the outgoing walk. */
    if (!has_after || after[0] == CURSOR_OUTGOING) {
        page.outgoing = true;
        rc = links_walk(s, txn, TABLE_LINKS_OUT, id, has_after ? after + 1 : NULL,
                        has_after ? after_len - 1 : 0, link_page_add, &page, err);
        has_after = false;
    }
    if (rc == VALV_OK) {
        page.outgoing = false;
        rc = links_walk(s, txn, TABLE_LINKS_IN, id, has_after ? after + 1 : NULL,
                        has_after ? after_len - 1 : 0, link_page_add, &page, err);
    }
    if (rc == PAGE_FULL)
        rc = VALV_OK;
    if (rc == VALV_OK && page.more)
        rc = pagetoken_encode(s->page_token_key, digest, page.last, page.last_len,
                              &out->next_page_token, err);
done:
    if (a != NULL)
        valv__v1__asset__free_unpacked(a, NULL);
    if (txn != NULL)
        read_end(s, txn);
    if (rc != VALV_OK)
        store_link_list_result_free(out);
    return rc;
}

void store_link_list_result_free(store_link_list_result *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->n_links; i++)
        valv__v1__link__free_unpacked(r->links[i], NULL);
    free(r->links);
    free(r->next_page_token);
    memset(r, 0, sizeof *r);
}
