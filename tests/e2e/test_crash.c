/* test_crash.c - valvd killed with SIGKILL at random moments while clients
 * write and import, and restarted on the same data, again and again.
 *
 * A crash may lose a write that was never acknowledged. It must not lose an
 * acknowledged one, commit part of an import batch, or leave a directory
 * that `valvd verify` finds damaged.
 *
 * Why "at least the acknowledged value" is the check, and not "exactly":
 * valvd answers a write only once its commit is durable (store/writer.h),
 * so a write is on disk by the time its client hears OK. The call in flight
 * at the kill may have committed too, its answer lost with the process; the
 * client never learnt either way. Each writer here has at most one call in
 * flight (it stops at its first failure), so after a restart each asset
 * must hold its acknowledged value or the value of that one call, nothing
 * older (a lost write) and nothing else (a write that was never sent). The
 * same holds for links, and for imports batch by batch: an import answers
 * only at its end, so each batch is there whole or not at all, batches
 * commit in stream order, and an import that was answered OK is all there.
 * What a restart showed committed stays committed through later kills.
 *
 * VALV_CRASH_SEED=N repeats the random choices (the test prints its seed;
 * where the kill lands among the writes is still up to the machine), and
 * VALV_CRASH_ITERATIONS=N (default 20) sets the number of kills.
 */
#include <check.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "calls.h"
#include "harness.h"
#include "rpc.h"
#include "valv/v1/import.pb-c.h"
#include "valv/v1/inventory.pb-c.h"

#define INV "/valv.v1.Inventory/"

#define CRASH_ITERATIONS_DEFAULT 20
#define CRASH_WRITERS 4
/* The kill comes this long after the load starts. */
#define KILL_AFTER_MIN_MS 50
#define KILL_AFTER_MAX_MS 500
/* Assets one writer creates over all lives; past it, it only updates and links. */
#define WRITER_ASSETS_MAX 2000
#define IMPORT_SOURCE "feed"
#define IMPORT_BATCH 20          /* records per batch */
#define IMPORT_STREAM_BATCHES 5  /* batches per import, then it finishes */
#define IMPORT_STREAMS_MAX 2000  /* imports over all lives */
#define PAGE_MAX 1000            /* ListAssets, ListLinks and BatchGetAssets */
#define NAME_MAX_LEN 48
#define VALUE_MAX 24 /* an int64_t in decimal */
#define ETAG_MAX 64
#define FAILURE_MAX (VALV_ERROR_MESSAGE_MAX + 128)
#define TEST_TIMEOUT_S 600

/* --- The model: what the server must hold --------------------------------- */

typedef struct {
    int64_t value;       /* its description: acknowledged, or seen after a restart */
    char etag[ETAG_MAX]; /* the etag that goes with value */
    int depends_on;      /* the writer's asset it links to; -1: none */
} owned_asset;

typedef enum { OP_NONE, OP_CREATE, OP_UPDATE, OP_LINK } op_kind;

typedef struct {
    op_kind op;
    int asset;     /* the asset written (OP_CREATE: the index it gets) */
    int64_t value; /* OP_CREATE, OP_UPDATE: the description sent */
    int target;    /* OP_LINK: the asset linked to */
} writer_call;

/* One writing client: its assets are "w{index}-{i}", written by it alone. */
typedef struct {
    int index;
    unsigned int seed;
    owned_asset assets[WRITER_ASSETS_MAX];
    int n_assets;
    int64_t next_value;  /* descriptions only grow, so each call's is its own */
    writer_call current; /* after a kill: the call it interrupted */
    int64_t acknowledged;
    char failure[FAILURE_MAX]; /* an answer other than OK before the kill */
} writer;

typedef struct {
    int sent;          /* batches handed to the stream (the last may not have gone out) */
    bool finished;     /* the import answered OK */
    int64_t created;   /* what its answer counted */
    int seen;          /* batches a restart showed committed: they must stay */
} import_stream;

/* The importing client: import s holds records "s{s}-b{b}-r{r}". */
typedef struct {
    import_stream streams[IMPORT_STREAMS_MAX];
    int n_streams;
    char failure[FAILURE_MAX];
} importer;

/* --- One life: load until killed --------------------------------------------- */

static harness_server srv;
static atomic_bool killed;   /* set just before the kill: later failures are the crash's */
static pthread_barrier_t go; /* the clients and the main thread start the load together */

static void asset_name(int w, int i, char name[NAME_MAX_LEN])
{
    snprintf(name, NAME_MAX_LEN, "assets/w%d-%d", w, i);
}

/* Picks the next call: four in ten create (while there is room), the rest
 * update, or now and then link an asset to an older one (so never a cycle,
 * and at most once per asset, so never a duplicate). */
static void writer_choose(writer *w, writer_call *c)
{
    int dice = rand_r(&w->seed) % 10;
    *c = (writer_call){.op = OP_UPDATE, .asset = -1, .value = w->next_value++, .target = -1};
    if (w->n_assets < WRITER_ASSETS_MAX && (w->n_assets < 2 || dice < 4)) {
        c->op = OP_CREATE;
        c->asset = w->n_assets;
        return;
    }
    c->asset = rand_r(&w->seed) % w->n_assets;
    if (dice >= 8 && c->asset > 0 && w->assets[c->asset].depends_on < 0) {
        c->op = OP_LINK;
        c->target = rand_r(&w->seed) % c->asset;
    }
}

/* Makes call c; on OK, the model takes it in. */
static int writer_send(writer *w, rpc_conn *conn, const writer_call *c, valv_error *err)
{
    char name[NAME_MAX_LEN], target[NAME_MAX_LEN], value[VALUE_MAX];
    Valv__V1__Asset *out = NULL;
    int rc;
    asset_name(w->index, c->asset, name);
    snprintf(value, sizeof value, "%" PRId64, c->value);
    owned_asset *a = &w->assets[c->asset];
    switch (c->op) {
    case OP_CREATE:
        rc = calls_create(conn, name + strlen("assets/"), name, value, &out, err);
        break;
    case OP_UPDATE:
        rc = calls_set_description(conn, name, a->etag, value, &out, err);
        break;
    default: /* OP_LINK */
        asset_name(w->index, c->target, target);
        rc = calls_link(conn, name, target, err);
        break;
    }
    if (rc != VALV_OK)
        return rc;
    if (c->op == OP_LINK) {
        a->depends_on = c->target;
    } else {
        if (c->op == OP_CREATE) {
            w->n_assets++;
            a->depends_on = -1;
        }
        a->value = c->value;
        snprintf(a->etag, sizeof a->etag, "%s", out->etag);
        valv__v1__asset__free_unpacked(out, NULL);
    }
    w->acknowledged++;
    return VALV_OK;
}

/* Notes why a client stopped: the crash's doing once killed is set, else a
 * failure the test reports. */
static void note_stop(char failure[FAILURE_MAX], const char *what, int rc, const valv_error *err)
{
    if (!atomic_load(&killed))
        snprintf(failure, FAILURE_MAX, "%s before the kill: %s %s", what, valv_code_name(rc),
                 err->message);
}

static void *write_until_killed(void *arg)
{
    writer *w = arg;
    rpc_conn *conn = NULL;
    valv_error err;
    int rc = harness_connect(&srv, NULL, NULL, &conn, &err);
    pthread_barrier_wait(&go);
    while (rc == VALV_OK) {
        writer_choose(w, &w->current);
        rc = writer_send(w, conn, &w->current, &err);
    }
    note_stop(w->failure, "a write failed", rc, &err);
    rpc_close(conn);
    return NULL;
}

static int import_send_batch(rpc_upload *up, int s, int b, valv_error *err)
{
    char ids[IMPORT_BATCH][NAME_MAX_LEN];
    Valv__V1__ImportRecord records[IMPORT_BATCH], *record_ptrs[IMPORT_BATCH];
    for (int r = 0; r < IMPORT_BATCH; r++) {
        valv__v1__import_record__init(&records[r]);
        snprintf(ids[r], sizeof ids[r], "s%d-b%d-r%d", s, b, r);
        records[r].external_id = ids[r];
        records[r].kind = VALV__V1__ASSET_KIND__IT_SYSTEM;
        records[r].display_name = ids[r];
        records[r].owner_unit = CALLS_UNIT;
        record_ptrs[r] = &records[r];
    }
    Valv__V1__ImportBatch batch = VALV__V1__IMPORT_BATCH__INIT;
    batch.records = record_ptrs;
    batch.n_records = IMPORT_BATCH;
    Valv__V1__ImportAssetsRequest msg = VALV__V1__IMPORT_ASSETS_REQUEST__INIT;
    msg.message_case = VALV__V1__IMPORT_ASSETS_REQUEST__MESSAGE_BATCH;
    msg.batch = &batch;
    return rpc_upload_send(up, &msg.base, err);
}

/* Runs import s (a header, IMPORT_STREAM_BATCHES batches, the answer),
 * recording its progress in st as it goes. */
static int import_one(rpc_conn *conn, int s, import_stream *st, valv_error *err)
{
    rpc_upload *up = NULL;
    Valv__V1__ImportAssetsResponse *resp = NULL;
    int rc = rpc_upload_open(conn, INV "ImportAssets", CALLS_TIMEOUT_MS, &up, err);
    if (rc != VALV_OK)
        goto done;
    Valv__V1__ImportHeader header = VALV__V1__IMPORT_HEADER__INIT;
    header.source = IMPORT_SOURCE;
    header.mode = VALV__V1__IMPORT_MODE__UPSERT;
    Valv__V1__ImportAssetsRequest msg = VALV__V1__IMPORT_ASSETS_REQUEST__INIT;
    msg.message_case = VALV__V1__IMPORT_ASSETS_REQUEST__MESSAGE_HEADER;
    msg.header = &header;
    rc = rpc_upload_send(up, &msg.base, err);
    for (int b = 0; b < IMPORT_STREAM_BATCHES && rc == VALV_OK; b++) {
        st->sent = b + 1;
        rc = import_send_batch(up, s, b, err);
    }
    if (rc == VALV_OK)
        rc = rpc_upload_finish(up, &valv__v1__import_assets_response__descriptor,
                               (ProtobufCMessage **)&resp, err);
    if (rc == VALV_OK) {
        st->finished = true;
        st->created = resp->created;
        valv__v1__import_assets_response__free_unpacked(resp, NULL);
    }
done:
    rpc_upload_close(up);
    return rc;
}

static void *import_until_killed(void *arg)
{
    importer *imp = arg;
    rpc_conn *conn = NULL;
    valv_error err;
    int rc = harness_connect(&srv, NULL, NULL, &conn, &err);
    pthread_barrier_wait(&go);
    while (rc == VALV_OK && imp->n_streams < IMPORT_STREAMS_MAX) {
        int s = imp->n_streams++;
        rc = import_one(conn, s, &imp->streams[s], &err);
    }
    if (rc != VALV_OK)
        note_stop(imp->failure, "an import failed", rc, &err);
    rpc_close(conn);
    return NULL;
}

/* Starts the clients, kills valvd after a random delay, waits for the
 * clients to notice. Returns the delay in ms. */
static int load_and_kill(writer *writers, importer *imp, unsigned int *seed)
{
    pthread_t threads[CRASH_WRITERS + 1];
    atomic_store(&killed, false);
    ck_assert_int_eq(pthread_barrier_init(&go, NULL, CRASH_WRITERS + 2), 0);
    for (int i = 0; i < CRASH_WRITERS; i++)
        ck_assert_int_eq(pthread_create(&threads[i], NULL, write_until_killed, &writers[i]), 0);
    ck_assert_int_eq(pthread_create(&threads[CRASH_WRITERS], NULL, import_until_killed, imp), 0);
    pthread_barrier_wait(&go);

    int span = KILL_AFTER_MAX_MS - KILL_AFTER_MIN_MS + 1;
    int delay_ms = KILL_AFTER_MIN_MS + (int)(rand_r(seed) % (unsigned int)span);
    struct timespec pause = {.tv_sec = delay_ms / 1000, .tv_nsec = (delay_ms % 1000) * 1000000L};
    nanosleep(&pause, NULL);
    atomic_store(&killed, true);
    ck_assert_int_eq(harness_kill(&srv), 0);

    for (int i = 0; i < CRASH_WRITERS + 1; i++)
        pthread_join(threads[i], NULL);
    pthread_barrier_destroy(&go);
    for (int i = 0; i < CRASH_WRITERS; i++)
        ck_assert_msg(writers[i].failure[0] == '\0', "writer %d: %s", i, writers[i].failure);
    ck_assert_msg(imp->failure[0] == '\0', "importer: %s", imp->failure);
    return delay_ms;
}

/* --- After a restart: check the server against the model --------------------- */

/* Checks that asset i of w holds its model value or, if the interrupted
 * call was an update of it, that call's value; the model then takes what
 * the server has, etag included. */
static void writer_check_asset(writer *w, int i, const Valv__V1__Asset *a)
{
    owned_asset *m = &w->assets[i];
    char *end = NULL;
    int64_t value = strtoll(a->description, &end, 10);
    bool interrupted = w->current.op == OP_UPDATE && w->current.asset == i;
    ck_assert_msg(end != a->description && *end == '\0' &&
                      (value == m->value || (interrupted && value == w->current.value)),
                  "%s holds \"%s\": acknowledged was %" PRId64 "%s", a->name, a->description,
                  m->value, interrupted ? ", and an update to it was interrupted" : "");
    m->value = value;
    ck_assert_uint_lt(strlen(a->etag), sizeof m->etag);
    snprintf(m->etag, sizeof m->etag, "%s", a->etag);
}

/* Every acknowledged asset of w is there with its value. */
static void writer_check_assets(rpc_conn *conn, writer *w)
{
    static char names[PAGE_MAX][NAME_MAX_LEN];
    char *name_ptrs[PAGE_MAX];
    for (int first = 0; first < w->n_assets; first += PAGE_MAX) {
        int n = w->n_assets - first < PAGE_MAX ? w->n_assets - first : PAGE_MAX;
        for (int k = 0; k < n; k++) {
            asset_name(w->index, first + k, names[k]);
            name_ptrs[k] = names[k];
        }
        Valv__V1__BatchGetAssetsRequest req = VALV__V1__BATCH_GET_ASSETS_REQUEST__INIT;
        req.names = name_ptrs;
        req.n_names = (size_t)n;
        Valv__V1__BatchGetAssetsResponse *resp = NULL;
        valv_error err;
        valv_error_clear(&err);
        int rc = rpc_unary(conn, INV "BatchGetAssets", &req.base,
                           &valv__v1__batch_get_assets_response__descriptor,
                           (ProtobufCMessage **)&resp, CALLS_TIMEOUT_MS, &err);
        ck_assert_msg(rc == VALV_OK, "an acknowledged create is lost? BatchGetAssets: %s %s",
                      valv_code_name(rc), err.message);
        ck_assert_uint_eq(resp->n_assets, (size_t)n);
        for (int k = 0; k < n; k++)
            writer_check_asset(w, first + k, resp->assets[k]);
        valv__v1__batch_get_assets_response__free_unpacked(resp, NULL);
    }
}

/* An interrupted create is there with its value, or not at all; the model
 * takes it in if it is. */
static void writer_check_interrupted_create(rpc_conn *conn, writer *w)
{
    if (w->current.op != OP_CREATE)
        return;
    char name[NAME_MAX_LEN];
    asset_name(w->index, w->current.asset, name);
    Valv__V1__Asset *a = NULL;
    valv_error err;
    int rc = calls_get(conn, name, &a, &err);
    ck_assert_msg(rc == VALV_OK || rc == VALV_ENOTFOUND, "GetAsset %s: %s %s", name,
                  valv_code_name(rc), err.message);
    if (rc == VALV_ENOTFOUND)
        return;
    w->n_assets++;
    w->assets[w->current.asset].value = w->current.value;
    w->assets[w->current.asset].depends_on = -1;
    writer_check_asset(w, w->current.asset, a);
    valv__v1__asset__free_unpacked(a, NULL);
}

/* Whether the DEPENDS_ON link from -> to is there. */
static bool link_exists(rpc_conn *conn, const char *from, const char *to)
{
    Valv__V1__ListLinksRequest req = VALV__V1__LIST_LINKS_REQUEST__INIT;
    req.asset = (char *)from;
    req.page_size = PAGE_MAX;
    Valv__V1__ListLinksResponse *resp = NULL;
    valv_error err;
    valv_error_clear(&err);
    int rc = rpc_unary(conn, INV "ListLinks", &req.base, &valv__v1__list_links_response__descriptor,
                       (ProtobufCMessage **)&resp, CALLS_TIMEOUT_MS, &err);
    ck_assert_msg(rc == VALV_OK, "ListLinks %s: %s %s", from, valv_code_name(rc), err.message);
    ck_assert_str_eq(resp->next_page_token, ""); /* a handful of links per asset */
    bool found = false;
    for (size_t i = 0; i < resp->n_links; i++)
        found |= resp->links[i]->type == VALV__V1__LINK_TYPE__DEPENDS_ON &&
                 strcmp(resp->links[i]->from_asset, from) == 0 &&
                 strcmp(resp->links[i]->to_asset, to) == 0;
    valv__v1__list_links_response__free_unpacked(resp, NULL);
    return found;
}

/* Every acknowledged link of w is there; the interrupted one may be. */
static void writer_check_links(rpc_conn *conn, writer *w)
{
    char from[NAME_MAX_LEN], to[NAME_MAX_LEN];
    for (int i = 0; i < w->n_assets; i++) {
        bool interrupted = w->current.op == OP_LINK && w->current.asset == i;
        int target = interrupted ? w->current.target : w->assets[i].depends_on;
        if (target < 0)
            continue;
        asset_name(w->index, i, from);
        asset_name(w->index, target, to);
        bool there = link_exists(conn, from, to);
        ck_assert_msg(there || interrupted, "the acknowledged link %s -> %s is lost", from, to);
        if (there)
            w->assets[i].depends_on = target;
    }
}

/* Counts the records of each import batch that are there, and checks each
 * import: whole batches only, in stream order, none that was not sent, all
 * of an import answered OK, and all a restart showed before. */
static void importer_check(rpc_conn *conn, importer *imp)
{
    static int counts[IMPORT_STREAMS_MAX][IMPORT_STREAM_BATCHES];
    memset(counts, 0, sizeof counts);
    char *token = NULL;
    Valv__V1__ListAssetsResponse *page = NULL;
    do {
        Valv__V1__ListAssetsRequest req = VALV__V1__LIST_ASSETS_REQUEST__INIT;
        req.filter = "source = \"" IMPORT_SOURCE "\"";
        req.page_size = PAGE_MAX;
        req.page_token = token != NULL ? token : "";
        Valv__V1__ListAssetsResponse *next = NULL;
        valv_error err;
        valv_error_clear(&err);
        int rc = rpc_unary(conn, INV "ListAssets", &req.base,
                           &valv__v1__list_assets_response__descriptor, (ProtobufCMessage **)&next,
                           CALLS_TIMEOUT_MS, &err);
        ck_assert_msg(rc == VALV_OK, "ListAssets: %s %s", valv_code_name(rc), err.message);
        if (page != NULL)
            valv__v1__list_assets_response__free_unpacked(page, NULL);
        page = next;
        for (size_t i = 0; i < page->n_assets; i++) {
            int s = -1, b = -1, r = -1;
            ck_assert_int_eq(sscanf(page->assets[i]->external_id, "s%d-b%d-r%d", &s, &b, &r), 3);
            ck_assert_msg(s >= 0 && s < imp->n_streams && b >= 0 && b < IMPORT_STREAM_BATCHES,
                          "%s was never imported", page->assets[i]->external_id);
            counts[s][b]++;
        }
        token = page->next_page_token;
    } while (token[0] != '\0');
    valv__v1__list_assets_response__free_unpacked(page, NULL);

    for (int s = 0; s < imp->n_streams; s++) {
        import_stream *st = &imp->streams[s];
        int whole = 0;
        for (int b = 0; b < IMPORT_STREAM_BATCHES; b++) {
            ck_assert_msg(counts[s][b] == 0 || counts[s][b] == IMPORT_BATCH,
                          "import %d batch %d is half there: %d of %d records", s, b, counts[s][b],
                          IMPORT_BATCH);
            if (counts[s][b] == 0)
                continue;
            ck_assert_msg(b == whole, "import %d: batch %d is there, batch %d is not", s, b, whole);
            whole++;
        }
        ck_assert_msg(whole <= st->sent, "import %d: %d batches there, %d sent", s, whole,
                      st->sent);
        ck_assert_msg(whole >= st->seen, "import %d: %d batches were there after a restart, now %d",
                      s, st->seen, whole);
        if (st->finished) {
            ck_assert_int_eq(st->created, IMPORT_STREAM_BATCHES * IMPORT_BATCH);
            ck_assert_msg(whole == IMPORT_STREAM_BATCHES,
                          "import %d answered OK, but %d of %d batches are there", s, whole,
                          IMPORT_STREAM_BATCHES);
        }
        st->seen = whole;
    }
}

/* Checks everything against the model, which then takes in what the
 * interrupted calls did, so that the next life starts from the truth. */
static void check_after_restart(writer *writers, importer *imp)
{
    rpc_conn *conn = NULL;
    valv_error err;
    ck_assert_int_eq(harness_connect(&srv, NULL, NULL, &conn, &err), VALV_OK);
    for (int i = 0; i < CRASH_WRITERS; i++) {
        writer_check_assets(conn, &writers[i]);
        writer_check_interrupted_create(conn, &writers[i]);
        writer_check_links(conn, &writers[i]);
        writers[i].current.op = OP_NONE;
    }
    importer_check(conn, imp);
    rpc_close(conn);
}

/* `valvd verify` on the directory as it is now, valvd not running: right
 * after a kill, before a restart could tidy anything up, so that it judges
 * exactly what the crash left. */
static void verify_directory(const char *when)
{
    char *out = NULL, *err_out = NULL;
    int code = harness_verify(srv.data_dir, &out, &err_out);
    ck_assert_msg(code == 0, "valvd verify %s exited %d:\n%s%s", when, code, out ? out : "",
                  err_out ? err_out : "");
    free(out);
    free(err_out);
}

static unsigned int env_number(const char *name, unsigned int fallback)
{
    const char *text = getenv(name);
    return text != NULL && text[0] != '\0' ? (unsigned int)strtoul(text, NULL, 10) : fallback;
}

START_TEST(test_kill_loses_nothing_acknowledged)
{
    static writer writers[CRASH_WRITERS];
    static importer imp;
    unsigned int seed =
        env_number("VALV_CRASH_SEED", (unsigned int)time(NULL) ^ (unsigned int)getpid());
    unsigned int kills = env_number("VALV_CRASH_ITERATIONS", CRASH_ITERATIONS_DEFAULT);
    printf("crash: %u kills, seed %u (VALV_CRASH_SEED=%u repeats it)\n", kills, seed, seed);
    fflush(stdout);
    for (int i = 0; i < CRASH_WRITERS; i++)
        writers[i] = (writer){.index = i, .seed = seed + (unsigned int)i + 1, .next_value = 1};
    /* Quiet: one log line per request would bury a failure's message. */
    const char *const quiet[] = {"--log-level", "error", NULL};

    memset(&srv, 0, sizeof srv);
    for (unsigned int life = 0;; life++) {
        ck_assert_msg(harness_start(&srv, quiet) == 0, "valvd did not start after kill %u", life);
        check_after_restart(writers, &imp);
        if (life == kills)
            break;
        int delay_ms = load_and_kill(writers, &imp, &seed);
        char when[64];
        snprintf(when, sizeof when, "after kill %u", life + 1);
        verify_directory(when);
        int64_t acknowledged = 0;
        for (int i = 0; i < CRASH_WRITERS; i++)
            acknowledged += writers[i].acknowledged;
        printf("crash: kill %u after %d ms: %" PRId64 " writes acknowledged so far, %d imports\n",
               life + 1, delay_ms, acknowledged, imp.n_streams);
        fflush(stdout);
    }

    /* The directory after a clean stop verifies too. */
    ck_assert_int_eq(harness_stop(&srv), 0);
    verify_directory("after the final clean stop");
    int64_t acknowledged = 0, batches = 0;
    for (int i = 0; i < CRASH_WRITERS; i++)
        acknowledged += writers[i].acknowledged;
    for (int s = 0; s < imp.n_streams; s++)
        batches += imp.streams[s].seen;
    /* Without acknowledged writes and committed batches there was nothing to lose. */
    ck_assert_int_gt(acknowledged, 0);
    ck_assert_int_gt(batches, 0);
    harness_cleanup(&srv);
}
END_TEST

static Suite *crash_suite(void)
{
    Suite *s = suite_create("crash");
    TCase *tc = tcase_create("sigkill");
    tcase_set_timeout(tc, TEST_TIMEOUT_S);
    tcase_add_test(tc, test_kill_loses_nothing_acknowledged);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(crash_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
