/* inherit.c - effective protection: the maximum principle along links.
 *
 * An asset's effective value in each dimension is the maximum of its own
 * value and the effective values of every asset linked into it. A change
 * (own values, a link added or removed) can only alter the assets reachable
 * from where it happened along links from -> to; call that set R. Every
 * asset outside R keeps its effective values, since nothing upstream of it
 * changed. So:
 *
 *   0. find R, breadth first from the changed assets (the seeds);
 *   1. for each x in R, base(x) = max(own(x), effective(y) for each
 *      in-neighbour y not in R), ignoring the stored effective values of R,
 *      so that values can fall when the link that raised them goes;
 *   2. raise along the links inside R with a worklist until nothing rises;
 *   3. write back what changed.
 *
 * Values only rise in step 2, so it ends, also on cycles, where every asset
 * ends with the same values. Each asset in R (and each outside in-neighbour)
 * is read once; the work is linear in the links of R.
 *
 * Each value names its source, the asset whose own value it is. On a tie
 * the asset's own value wins, then the source whose name sorts first: the
 * result is the same whatever order the graph was built in.
 *
 * Written back are the assets whose effective values or review state
 * changed, one revision and one audit event (ACTION_INHERIT) each, plus the
 * asset the request itself changed, which is written first so that its
 * event is the change's own.
 */
#include "store.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "limits.h"
#include "store_internal.h"

enum {
    DIM_CONFIDENTIALITY,
    DIM_INTEGRITY,
    DIM_AVAILABILITY,
    DIM_TRACEABILITY,
    DIM_SECURITY_CLASS,
    DIM_SECURITY_SENSITIVE,
    DIMENSIONS
};

/* The keys of Effective.sources. */
static const char *const dimension_names[DIMENSIONS] = {
    "confidentiality", "integrity",      "availability",
    "traceability",    "security_class", "security_sensitive",
};

/* Protection values and the asset each comes from. */
typedef struct {
    int value[DIMENSIONS];          /* Level, SecurityClass, or 0/1 for sensitivity */
    const char *source[DIMENSIONS]; /* an asset name; NULL while the value is 0. Borrowed
                                       from a loaded asset, which outlives the change */
} protection;

typedef struct {
    char id[VALV_ASSET_ID_MAX + 1];
    Valv__V1__Asset *stored; /* as stored, once loaded, maybe without its descriptive
                                fields (asset_load_values); NULL for the request's asset */
    bool loaded;
    bool is_request_asset; /* the asset the request changed: inherit.request_* */
    /* Created by this change. No link can reach an asset before it exists,
     * and assets are never removed, so it has none: not looked up. */
    bool created;
    bool seed;
    bool relinked;
    bool reached; /* in R: its values are recomputed */
    bool queued;
    size_t out_first, n_out; /* its links inside R: edges[out_first .. out_first + n_out) */
    protection p;
} node;

struct inherit {
    store_txn *t;
    struct timespec now;

    node *nodes; /* every asset the change touches or reads, in the order met */
    size_t n_nodes, nodes_cap;
    uint32_t *slots; /* hash table over nodes by id: index + 1, 0 for a free slot */
    size_t slots_cap;  /* a power of two, at least twice n_nodes */

    size_t *reached; /* R in the order found (breadth first from the seeds) */
    size_t n_reached, reached_cap;
    size_t *edges; /* target node of each link inside R, grouped by source node */
    size_t n_edges, edges_cap;

    Valv__V1__Asset *request_asset;           /* borrowed: the new version */
    const Valv__V1__Asset *request_asset_old; /* borrowed: stored version, NULL on create */
};

/* --- Nodes ------------------------------------------------------------------------ */

static uint64_t id_hash(const char *id)
{
    uint64_t h = 14695981039346656037ULL; /* FNV-1a */
    for (; *id != '\0'; id++)
        h = (h ^ (unsigned char)*id) * 1099511628211ULL;
    return h;
}

/* The slot holding id, or the free slot where it would go. */
static size_t slot_find(const inherit *c, const char *id)
{
    size_t mask = c->slots_cap - 1;
    size_t i = (size_t)id_hash(id) & mask;
    while (c->slots[i] != 0 && strcmp(c->nodes[c->slots[i] - 1].id, id) != 0)
        i = (i + 1) & mask;
    return i;
}

/* Most changes touch one asset or the two ends of a link: the tables
 * start small, and a change that reaches thousands doubles them. */
#define INHERIT_FIRST_CAP 8

static int slots_grow(inherit *c, valv_error *err)
{
    size_t cap = c->slots_cap == 0 ? 2 * INHERIT_FIRST_CAP : 2 * c->slots_cap;
    uint32_t *slots = calloc(cap, sizeof *slots);
    if (slots == NULL)
        return out_of_memory(err);
    free(c->slots);
    c->slots = slots;
    c->slots_cap = cap;
    for (size_t n = 0; n < c->n_nodes; n++)
        c->slots[slot_find(c, c->nodes[n].id)] = (uint32_t)(n + 1);
    return VALV_OK;
}

/* Grows a malloc'd array to hold at least need items of size bytes. */
static int array_reserve(void **items, size_t *cap, size_t need, size_t size, valv_error *err)
{
    if (need <= *cap)
        return VALV_OK;
    size_t new_cap = *cap == 0 ? INHERIT_FIRST_CAP : *cap;
    while (new_cap < need)
        new_cap *= 2;
    void *grown = realloc(*items, new_cap * size);
    if (grown == NULL)
        return out_of_memory(err);
    *items = grown;
    *cap = new_cap;
    return VALV_OK;
}

/* The node of id, added when new. Node pointers move when nodes are added:
 * hold indexes. */
static int node_get(inherit *c, const char *id, size_t *index, valv_error *err)
{
    int rc;

    if (2 * (c->n_nodes + 1) > c->slots_cap) {
        rc = slots_grow(c, err);
        if (rc != VALV_OK)
            return rc;
    }
    size_t slot = slot_find(c, id);
    if (c->slots[slot] != 0) {
        *index = c->slots[slot] - 1;
        return VALV_OK;
    }
    if (strlen(id) > VALV_ASSET_ID_MAX || c->n_nodes >= UINT32_MAX - 1)
        return valv_error_set(err, VALV_EINTERNAL,
                              "a link names an asset id the store cannot hold");
    rc = array_reserve((void **)&c->nodes, &c->nodes_cap, c->n_nodes + 1, sizeof *c->nodes, err);
    if (rc != VALV_OK)
        return rc;
    node *n = &c->nodes[c->n_nodes];
    memset(n, 0, sizeof *n);
    strcpy(n->id, id);
    c->slots[slot] = (uint32_t)(c->n_nodes + 1);
    *index = c->n_nodes++;
    return VALV_OK;
}

static int node_load(inherit *c, size_t i, valv_error *err)
{
    node *n = &c->nodes[i];
    if (n->loaded || n->is_request_asset)
        return VALV_OK;
    int rc = asset_load_values(c->t->s, c->t->txn, n->id, &n->stored, err);
    if (rc == VALV_OK)
        n->loaded = true;
    return rc;
}

/* The version whose values count: the request's new one, or the stored one. */
static const Valv__V1__Asset *node_asset(const inherit *c, size_t i)
{
    return c->nodes[i].is_request_asset ? c->request_asset : c->nodes[i].stored;
}

/* --- Protection values ----------------------------------------------------------- */

static void protection_own(const Valv__V1__Asset *a, protection *p)
{
    const Valv__V1__Classification *cls = a->classification;
    const Valv__V1__SecurityProtection *sec = a->security;

    memset(p, 0, sizeof *p);
    if (cls != NULL) {
        p->value[DIM_CONFIDENTIALITY] = cls->confidentiality;
        p->value[DIM_INTEGRITY] = cls->integrity;
        p->value[DIM_AVAILABILITY] = cls->availability;
        p->value[DIM_TRACEABILITY] = cls->traceability;
    }
    if (sec != NULL) {
        p->value[DIM_SECURITY_CLASS] = sec->security_class;
        p->value[DIM_SECURITY_SENSITIVE] = sec->security_sensitive;
    }
    for (int d = 0; d < DIMENSIONS; d++)
        p->source[d] = p->value[d] != 0 ? a->name : NULL;
}

/* The stored effective values of a, which the change leaves as they are. */
static void protection_effective(const Valv__V1__Asset *a, protection *p)
{
    const Valv__V1__Effective *e = a->effective;

    if (e == NULL) {
        protection_own(a, p);
        return;
    }
    memset(p, 0, sizeof *p);
    p->value[DIM_CONFIDENTIALITY] = e->confidentiality;
    p->value[DIM_INTEGRITY] = e->integrity;
    p->value[DIM_AVAILABILITY] = e->availability;
    p->value[DIM_TRACEABILITY] = e->traceability;
    p->value[DIM_SECURITY_CLASS] = e->security_class;
    p->value[DIM_SECURITY_SENSITIVE] = e->security_sensitive;
    for (int d = 0; d < DIMENSIONS; d++) {
        if (p->value[d] == 0)
            continue;
        p->source[d] = a->name;
        for (size_t k = 0; k < e->n_sources; k++)
            if (strcmp(e->sources[k]->key, dimension_names[d]) == 0)
                p->source[d] = e->sources[k]->value;
    }
}

/* Raises p, the values of the asset named self, to from's where they are
 * higher, or equal from a source whose name sorts first (the asset's own
 * value is kept on a tie). True when anything changed. */
static bool protection_raise(protection *p, const protection *from, const char *self)
{
    bool raised = false;
    for (int d = 0; d < DIMENSIONS; d++) {
        bool take = from->value[d] > p->value[d];
        if (!take && from->value[d] == p->value[d] && from->value[d] != 0)
            take = strcmp(p->source[d], self) != 0 && strcmp(from->source[d], p->source[d]) < 0;
        if (take) {
            p->value[d] = from->value[d];
            p->source[d] = from->source[d];
            raised = true;
        }
    }
    return raised;
}

/* The values an asset passes on differ between a and b (own values and
 * protected_object, which flags the asset itself). */
static bool own_values_differ(const Valv__V1__Asset *a, const Valv__V1__Asset *b)
{
    protection pa, pb;
    protection_own(a, &pa);
    protection_own(b, &pb);
    bool protected_a = a->security != NULL && a->security->protected_object;
    bool protected_b = b->security != NULL && b->security->protected_object;
    return memcmp(pa.value, pb.value, sizeof pa.value) != 0 || protected_a != protected_b;
}

static int sources_add(Valv__V1__Effective *e, const char *dimension, const char *asset_name,
                       valv_error *err)
{
    Valv__V1__Effective__SourcesEntry *entry = malloc(sizeof *entry);
    if (entry == NULL)
        return out_of_memory(err);
    valv__v1__effective__sources_entry__init(entry);
    e->sources[e->n_sources++] = entry;
    int rc = string_set(&entry->key, dimension, err);
    if (rc == VALV_OK)
        rc = string_set(&entry->value, asset_name, err);
    return rc;
}

/* Sets a->effective from p, and flagged from it and a's own protected_object. */
static int effective_set(Valv__V1__Asset *a, const protection *p, valv_error *err)
{
    const Valv__V1__Level top = VALV__V1__LEVEL__VERY_SERIOUS;
    Valv__V1__Effective *e = malloc(sizeof *e);
    int rc = VALV_OK;

    if (e == NULL)
        return out_of_memory(err);
    valv__v1__effective__init(e);
    e->confidentiality = p->value[DIM_CONFIDENTIALITY];
    e->integrity = p->value[DIM_INTEGRITY];
    e->availability = p->value[DIM_AVAILABILITY];
    e->traceability = p->value[DIM_TRACEABILITY];
    e->security_class = p->value[DIM_SECURITY_CLASS];
    e->security_sensitive = p->value[DIM_SECURITY_SENSITIVE] != 0;
    e->flagged = e->security_class >= VALV__V1__SECURITY_CLASS__RESTRICTED ||
                 e->security_sensitive ||
                 (a->security != NULL && a->security->protected_object) ||
                 e->confidentiality == top || e->integrity == top || e->availability == top ||
                 e->traceability == top;

    e->sources = calloc(DIMENSIONS, sizeof *e->sources);
    if (e->sources == NULL) {
        rc = out_of_memory(err);
        goto done;
    }
    for (int d = 0; d < DIMENSIONS && rc == VALV_OK; d++)
        if (p->value[d] != 0)
            rc = sources_add(e, dimension_names[d], p->source[d], err);
    if (rc != VALV_OK)
        goto done;
    if (a->effective != NULL)
        valv__v1__effective__free_unpacked(a->effective, NULL);
    a->effective = e;
    e = NULL;
done:
    if (e != NULL)
        valv__v1__effective__free_unpacked(e, NULL);
    return rc;
}

/* --- The change ------------------------------------------------------------------- */

int inherit_begin(store_txn *t, const struct timespec *now, inherit **out, valv_error *err)
{
    inherit *c = calloc(1, sizeof *c);
    if (c == NULL)
        return out_of_memory(err);
    c->t = t;
    c->now = *now;
    *out = c;
    return VALV_OK;
}

int inherit_set_asset(inherit *c, const Valv__V1__Asset *old, Valv__V1__Asset *a,
                      valv_error *err)
{
    size_t i;
    int rc = node_get(c, asset_id(a), &i, err);
    if (rc != VALV_OK)
        return rc;
    c->nodes[i].is_request_asset = true;
    c->nodes[i].created = old == NULL;
    c->request_asset = a;
    c->request_asset_old = old;
    if (old == NULL || own_values_differ(old, a))
        c->nodes[i].seed = true;
    return VALV_OK;
}

int inherit_seed(inherit *c, const char *id, valv_error *err)
{
    size_t i;
    int rc = node_get(c, id, &i, err);
    if (rc == VALV_OK)
        c->nodes[i].seed = true;
    return rc;
}

int inherit_give(inherit *c, Valv__V1__Asset **a, valv_error *err)
{
    Valv__V1__Asset *given = *a;
    size_t i;
    *a = NULL;
    int rc = node_get(c, asset_id(given), &i, err);
    if (rc == VALV_OK && !c->nodes[i].loaded && !c->nodes[i].is_request_asset) {
        c->nodes[i].stored = given;
        c->nodes[i].loaded = true;
        given = NULL;
    }
    if (given != NULL)
        valv__v1__asset__free_unpacked(given, NULL);
    return rc;
}

int inherit_linked(inherit *c, const char *from_id, const char *to_id, valv_error *err)
{
    protection to_values, from_values;
    size_t to, from;
    int rc = node_get(c, to_id, &to, err); /* to first: nodes are written in the order met */
    if (rc == VALV_OK)
        rc = node_get(c, from_id, &from, err);
    if (rc == VALV_OK)
        rc = node_load(c, to, err);
    if (rc == VALV_OK)
        rc = node_load(c, from, err);
    if (rc != VALV_OK)
        return rc;
    protection_effective(node_asset(c, to), &to_values);
    protection_effective(node_asset(c, from), &from_values);
    if (protection_raise(&to_values, &from_values, node_asset(c, to)->name))
        c->nodes[to].seed = true;
    return VALV_OK;
}

int inherit_relinked(inherit *c, const char *id, valv_error *err)
{
    size_t i;
    int rc = node_get(c, id, &i, err);
    if (rc == VALV_OK)
        c->nodes[i].relinked = true;
    return rc;
}

static int reach_add(inherit *c, size_t i, valv_error *err)
{
    if (c->nodes[i].reached)
        return VALV_OK;
    int rc = array_reserve((void **)&c->reached, &c->reached_cap, c->n_reached + 1,
                           sizeof *c->reached, err);
    if (rc != VALV_OK)
        return rc;
    c->nodes[i].reached = true;
    c->reached[c->n_reached++] = i;
    return VALV_OK;
}

/* links_each visitor for step 0: a link from the node being expanded to other_id. */
static int reach_visit(void *ctx, const char *other_id, int type, valv_error *err)
{
    inherit *c = ctx;
    size_t j;
    (void)type; /* every type carries protection alike */
    int rc = node_get(c, other_id, &j, err);
    if (rc == VALV_OK)
        rc = reach_add(c, j, err);
    if (rc == VALV_OK)
        rc = array_reserve((void **)&c->edges, &c->edges_cap, c->n_edges + 1, sizeof *c->edges,
                           err);
    if (rc == VALV_OK)
        c->edges[c->n_edges++] = j;
    return rc;
}

/* Step 0: R, breadth first from the seeds, with the links inside it. */
static int reach_find(inherit *c, valv_error *err)
{
    int rc = VALV_OK;
    for (size_t i = 0; i < c->n_nodes && rc == VALV_OK; i++)
        if (c->nodes[i].seed)
            rc = reach_add(c, i, err);
    for (size_t k = 0; k < c->n_reached && rc == VALV_OK; k++) {
        size_t i = c->reached[k];
        c->nodes[i].out_first = c->n_edges;
        if (!c->nodes[i].created)
            rc = links_each(c->t->s, c->t->txn, TABLE_LINKS_OUT, c->nodes[i].id, reach_visit,
                            c, err);
        c->nodes[i].n_out = c->n_edges - c->nodes[i].out_first;
    }
    return rc;
}

typedef struct {
    inherit *c;
    size_t i; /* the node whose base is being computed */
} base_visit_ctx;

/* links_each visitor for step 1: a link into node i from other_id. */
static int base_visit(void *ctx, const char *other_id, int type, valv_error *err)
{
    base_visit_ctx *v = ctx;
    inherit *c = v->c;
    protection upstream;
    size_t j;
    (void)type;
    int rc = node_get(c, other_id, &j, err);
    if (rc != VALV_OK || c->nodes[j].reached)
        return rc; /* links inside R are step 2's */
    rc = node_load(c, j, err);
    if (rc != VALV_OK)
        return rc;
    protection_effective(node_asset(c, j), &upstream);
    protection_raise(&c->nodes[v->i].p, &upstream, node_asset(c, v->i)->name);
    return VALV_OK;
}

/* Step 1: base(x) for each x in R. */
static int base_compute(inherit *c, valv_error *err)
{
    for (size_t k = 0; k < c->n_reached; k++) {
        base_visit_ctx v = {c, c->reached[k]};
        int rc = node_load(c, v.i, err);
        if (rc != VALV_OK)
            return rc;
        protection_own(node_asset(c, v.i), &c->nodes[v.i].p);
        if (c->nodes[v.i].created)
            continue;
        rc = links_each(c->t->s, c->t->txn, TABLE_LINKS_IN, c->nodes[v.i].id, base_visit, &v,
                        err);
        if (rc != VALV_OK)
            return rc;
    }
    return VALV_OK;
}

/* Step 2: raise along the links inside R until nothing rises. The queue is
 * a ring of |R| places: a node is in it at most once. */
static int propagate(inherit *c, valv_error *err)
{
    size_t cap = c->n_reached, head = 0, length = c->n_reached;
    size_t *queue = malloc((cap > 0 ? cap : 1) * sizeof *queue);

    if (queue == NULL)
        return out_of_memory(err);
    for (size_t k = 0; k < cap; k++) {
        queue[k] = c->reached[k];
        c->nodes[queue[k]].queued = true;
    }
    while (length > 0) {
        size_t i = queue[head];
        head = (head + 1) % cap;
        length--;
        c->nodes[i].queued = false;
        for (size_t e = 0; e < c->nodes[i].n_out; e++) {
            size_t j = c->edges[c->nodes[i].out_first + e];
            node *target = &c->nodes[j];
            if (protection_raise(&target->p, &c->nodes[i].p, node_asset(c, j)->name) &&
                !target->queued) {
                target->queued = true;
                queue[(head + length) % cap] = j;
                length++;
            }
        }
    }
    free(queue);
    return VALV_OK;
}

/* Step 3 for node i: its new version, the review rules, and a write when
 * anything changed (always for the request's asset). A stored node was read
 * for its values only, which is all the decision needs; the new version is
 * made from the whole asset, and a write compares it with the whole stored
 * one, read again only then. */
static int node_write(inherit *c, size_t i, valv_error *err)
{
    node *n = &c->nodes[i];
    const Valv__V1__Asset *old = n->is_request_asset ? c->request_asset_old : n->stored;
    Valv__V1__Asset *whole = NULL, *copy = NULL, *a = c->request_asset;
    bool review_changed = false, effective_same = false;
    int rc = VALV_OK;

    if (!n->is_request_asset && !n->reached && review_settled(n->stored))
        return VALV_OK; /* only relinked, and that changes nothing for it */
    if (!n->is_request_asset) {
        rc = asset_load(c->t->s, c->t->txn, n->id, &copy, err);
        a = copy;
    }
    if (rc == VALV_OK && n->reached)
        rc = effective_set(a, &n->p, err);
    if (rc == VALV_OK)
        rc = review_update(old, a, n->relinked, &c->now, &review_changed, err);
    if (rc == VALV_OK && !n->is_request_asset && !review_changed)
        rc = message_same((const ProtobufCMessage *)old->effective,
                          (const ProtobufCMessage *)a->effective, &effective_same, err);
    if (rc != VALV_OK || !(n->is_request_asset || review_changed || !effective_same))
        goto done;
    if (!n->is_request_asset) {
        rc = asset_load(c->t->s, c->t->txn, n->id, &whole, err);
        old = whole;
    }
    if (rc == VALV_OK)
        rc = asset_write(c->t, old, a, err);
done:
    if (whole != NULL)
        valv__v1__asset__free_unpacked(whole, NULL);
    if (copy != NULL)
        valv__v1__asset__free_unpacked(copy, NULL);
    return rc;
}

int inherit_finish(inherit *c, valv_error *err)
{
    int rc = reach_find(c, err);
    if (rc == VALV_OK)
        rc = base_compute(c, err);
    if (rc == VALV_OK)
        rc = propagate(c, err);
    /* Nodes in the order met: the request's asset first when there is one. */
    for (size_t i = 0; i < c->n_nodes && rc == VALV_OK; i++) {
        const node *n = &c->nodes[i];
        if (!n->reached && !n->relinked && !n->is_request_asset)
            continue; /* read only for its values */
        rc = node_load(c, i, err);
        if (rc == VALV_OK)
            rc = node_write(c, i, err);
    }
    return rc;
}

void inherit_free(inherit *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->n_nodes; i++)
        if (c->nodes[i].stored != NULL)
            valv__v1__asset__free_unpacked(c->nodes[i].stored, NULL);
    free(c->nodes);
    free(c->slots);
    free(c->reached);
    free(c->edges);
    free(c);
}
