/* test_admin.c - valv.v1.Admin against a real valvd: a backup taken while
 * writes go on restores to a store that verifies and serves what was
 * acknowledged before it; server information; the summary's counts, and
 * need to know in them over TLS; and the bound on backups at a time.
 *
 * Each test starts its own valvd inside the test (LMDB and gRPC must not
 * cross Check's fork).
 */
#include <check.h>
#include <dirent.h>
#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "calls.h"
#include "harness.h"
#include "rpc.h"
#include "valv/v1/admin.pb-c.h"
#include "valv/v1/import.pb-c.h"
#include "valv/v1/inventory.pb-c.h"

#define RPC_TIMEOUT_MS 10000
#define BASE_ASSETS 40 /* acknowledged before the backup */
/* About 20 MB of store: gRPC lets a few MB through to a client that does
 * not read (2 MB all went through; 6 MB did not), so a backup of this much
 * stays open after its first chunk. */
#define BULK_ASSETS 1000
#define BULK_DESCRIPTION 8000 /* bytes of each asset's description */

#define INFORMATION VALV__V1__ASSET_KIND__INFORMATION
#define IT_SYSTEM VALV__V1__ASSET_KIND__IT_SYSTEM

/* --- Helpers ------------------------------------------------------------------------ */

static void must(int rc, const valv_error *err, const char *what)
{
    ck_assert_msg(rc == VALV_OK, "%s: %s %s", what, valv_code_name(rc), err->message);
}

static rpc_conn *connect_dev(const harness_server *srv)
{
    rpc_conn *conn = NULL;
    valv_error err;
    must(harness_connect(srv, NULL, NULL, &conn, &err), &err, "connect");
    return conn;
}

/* Creates asset id (display name id) of kind in unit, with description
 * (NULL: none); returns the status. */
static int create_asset(rpc_conn *conn, const char *id, Valv__V1__AssetKind kind, const char *unit,
                        const char *description, valv_error *err)
{
    return calls_create_asset(conn, id, kind, unit, id, description, RPC_TIMEOUT_MS, NULL, err);
}

static void create_ok(rpc_conn *conn, const char *id, Valv__V1__AssetKind kind, const char *unit)
{
    valv_error err;
    must(create_asset(conn, id, kind, unit, NULL, &err), &err, id);
}

/* Sets asset id's field (an update mask path) from patch. */
static void update_ok(rpc_conn *conn, const char *id, Valv__V1__Asset *patch, char *path)
{
    char name[80];
    char *paths[] = {path};
    Google__Protobuf__FieldMask mask = GOOGLE__PROTOBUF__FIELD_MASK__INIT;
    Valv__V1__UpdateAssetRequest req = VALV__V1__UPDATE_ASSET_REQUEST__INIT;
    ProtobufCMessage *out = NULL;
    valv_error err;
    snprintf(name, sizeof name, "assets/%s", id);
    patch->name = name;
    mask.n_paths = 1;
    mask.paths = paths;
    req.asset = patch;
    req.update_mask = &mask;
    must(rpc_unary(conn, "/valv.v1.Inventory/UpdateAsset", &req.base, &valv__v1__asset__descriptor, &out,
                   RPC_TIMEOUT_MS, &err),
         &err, path);
    protobuf_c_message_free_unpacked(out, NULL);
}

static void classify_availability(rpc_conn *conn, const char *id, Valv__V1__Level level)
{
    Valv__V1__Classification cls = VALV__V1__CLASSIFICATION__INIT;
    Valv__V1__Asset patch = VALV__V1__ASSET__INIT;
    cls.availability = level;
    patch.classification = &cls;
    update_ok(conn, id, &patch, "classification.availability");
}

static void secure_restricted(rpc_conn *conn, const char *id)
{
    Valv__V1__SecurityProtection sec = VALV__V1__SECURITY_PROTECTION__INIT;
    Valv__V1__Asset patch = VALV__V1__ASSET__INIT;
    sec.security_class = VALV__V1__SECURITY_CLASS__RESTRICTED;
    patch.security = &sec;
    update_ok(conn, id, &patch, "security.security_class");
}

static void link_ok(rpc_conn *conn, const char *from, const char *to, Valv__V1__LinkType type)
{
    char from_name[80], to_name[80];
    Valv__V1__Link link = VALV__V1__LINK__INIT;
    Valv__V1__CreateLinkRequest req = VALV__V1__CREATE_LINK_REQUEST__INIT;
    ProtobufCMessage *out = NULL;
    valv_error err;
    snprintf(from_name, sizeof from_name, "assets/%s", from);
    snprintf(to_name, sizeof to_name, "assets/%s", to);
    link.from_asset = from_name;
    link.to_asset = to_name;
    link.type = type;
    req.link = &link;
    must(rpc_unary(conn, "/valv.v1.Inventory/CreateLink", &req.base, &valv__v1__link__descriptor, &out,
                   RPC_TIMEOUT_MS, &err),
         &err, "link");
    protobuf_c_message_free_unpacked(out, NULL);
}

/* GetSummary for the units given (n 0: all); returns the status, *out the reply. */
static int summary(rpc_conn *conn, char **units, size_t n, Valv__V1__Summary **out, valv_error *err)
{
    Valv__V1__GetSummaryRequest req = VALV__V1__GET_SUMMARY_REQUEST__INIT;
    req.owner_units = units;
    req.n_owner_units = n;
    *out = NULL;
    return rpc_unary(conn, "/valv.v1.Admin/GetSummary", &req.base, &valv__v1__summary__descriptor,
                     (ProtobufCMessage **)out, RPC_TIMEOUT_MS, err);
}

static const Valv__V1__UnitSummary *unit_of(const Valv__V1__Summary *sum, const char *unit)
{
    for (size_t i = 0; i < sum->n_units; i++)
        if (strcmp(sum->units[i]->owner_unit, unit) == 0)
            return sum->units[i];
    ck_abort_msg("unit %s is not in the summary", unit);
    return NULL;
}

static Valv__V1__ServerInfo *server_info(rpc_conn *conn)
{
    Valv__V1__GetServerInfoRequest req = VALV__V1__GET_SERVER_INFO_REQUEST__INIT;
    Valv__V1__ServerInfo *info = NULL;
    valv_error err;
    must(rpc_unary(conn, "/valv.v1.Admin/GetServerInfo", &req.base, &valv__v1__server_info__descriptor,
                   (ProtobufCMessage **)&info, RPC_TIMEOUT_MS, &err),
         &err, "GetServerInfo");
    return info;
}

/* Runs valv with the arguments from arg up to NULL against srv; *out and
 * *err_out (malloc'd) get what it printed. Returns its exit code. */
static int run_valv(const harness_server *srv, char **out, char **err_out, const char *arg, ...)
{
    va_list ap;
    va_start(ap, arg);
    int code = harness_run_valv_va(srv, NULL, NULL, out, err_out, arg, ap);
    va_end(ap);
    ck_assert_msg(code >= 0, "could not run valv");
    return code;
}

static json_t *parse_json(const char *text)
{
    json_error_t jerr;
    json_t *obj = json_loads(text, 0, &jerr);
    ck_assert_msg(obj != NULL, "not JSON (%s): %s", jerr.text, text);
    return obj;
}

static json_int_t json_int_field(const json_t *obj, const char *name)
{
    const json_t *v = json_object_get(obj, name);
    ck_assert_msg(json_is_integer(v), "%s is not a number", name);
    return json_integer_value(v);
}

/* --- Backup while writing, then restore ------------------------------------------------ */

/* Creates assets w0, w1, ... over its own connection until told to stop. */
typedef struct {
    const harness_server *srv;
    atomic_bool stop;
    atomic_int created;
} writer_thread;

static void *write_until_stopped(void *arg)
{
    writer_thread *w = arg;
    rpc_conn *conn = connect_dev(w->srv);
    valv_error err;
    while (!atomic_load(&w->stop)) {
        char id[32];
        snprintf(id, sizeof id, "w%d", atomic_load(&w->created));
        if (create_asset(conn, id, INFORMATION, "writer", NULL, &err) != VALV_OK)
            break;
        atomic_fetch_add(&w->created, 1);
    }
    rpc_close(conn);
    return NULL;
}

START_TEST(test_backup_under_writes_restores)
{
    harness_server srv, restored;
    writer_thread w = {.srv = &srv};
    pthread_t thread;
    char restore_dir[] = "/tmp/valv-restore-XXXXXX", file[64];
    char *out = NULL, *err_out = NULL;

    memset(&srv, 0, sizeof srv);
    ck_assert_int_eq(harness_start(&srv, NULL), 0);
    rpc_conn *conn = connect_dev(&srv);
    for (int i = 0; i < BASE_ASSETS; i++) {
        char id[32];
        snprintf(id, sizeof id, "base%d", i);
        create_ok(conn, id, IT_SYSTEM, "school");
    }

    atomic_init(&w.stop, false);
    atomic_init(&w.created, 0);
    ck_assert_int_eq(pthread_create(&thread, NULL, write_until_stopped, &w), 0);
    while (atomic_load(&w.created) < 5)
        usleep(1000);
    ck_assert_ptr_nonnull(mkdtemp(restore_dir));
    snprintf(file, sizeof file, "%s/data.mdb", restore_dir);
    int before = atomic_load(&w.created);
    int code = run_valv(&srv, &out, &err_out, "-o", "json", "admin", "backup", file, NULL);
    int after = atomic_load(&w.created);
    atomic_store(&w.stop, true);
    pthread_join(thread, NULL);
    ck_assert_msg(code == 0, "valv admin backup: %s", err_out);
    ck_assert_msg(after > before, "no write was served while the backup ran");
    json_t *result = parse_json(out);
    json_int_t revision = json_int_field(result, "revision");
    ck_assert_int_ge(revision, BASE_ASSETS + 5);
    struct stat st;
    ck_assert_int_eq(stat(file, &st), 0);
    ck_assert_int_eq(json_int_field(result, "bytes"), st.st_size);
    ck_assert_int_eq(st.st_mode & 0777, 0600);
    json_decref(result);
    free(out);
    free(err_out);
    rpc_close(conn);
    ck_assert_int_eq(harness_stop(&srv), 0);

    /* The copy verifies offline. */
    code = harness_verify(restore_dir, &out, &err_out);
    ck_assert_msg(code == 0, "valvd verify: %s%s", out, err_out);
    free(out);
    free(err_out);

    /* valvd serves it: what was acknowledged before the backup is there, and
     * the copy holds exactly the revision reported (one create, one revision). */
    memset(&restored, 0, sizeof restored);
    snprintf(restored.data_dir, sizeof restored.data_dir, "%s", restore_dir);
    ck_assert_int_eq(harness_start(&restored, NULL), 0);
    conn = connect_dev(&restored);
    for (int i = 0; i < BASE_ASSETS; i++) {
        Valv__V1__GetAssetRequest get = VALV__V1__GET_ASSET_REQUEST__INIT;
        char name[32];
        ProtobufCMessage *asset = NULL;
        valv_error err;
        snprintf(name, sizeof name, "assets/base%d", i);
        get.name = name;
        must(rpc_unary(conn, "/valv.v1.Inventory/GetAsset", &get.base, &valv__v1__asset__descriptor, &asset,
                       RPC_TIMEOUT_MS, &err),
             &err, name);
        protobuf_c_message_free_unpacked(asset, NULL);
    }
    Valv__V1__ServerInfo *info = server_info(conn);
    ck_assert_int_eq(info->revision, revision);
    ck_assert_int_eq(info->asset_count, revision);
    valv__v1__server_info__free_unpacked(info, NULL);
    rpc_close(conn);
    ck_assert_int_eq(harness_stop(&restored), 0);
    harness_cleanup(&restored);
    harness_cleanup(&srv);
}
END_TEST

START_TEST(test_backup_cli_refuses_to_overwrite)
{
    harness_server srv;
    char file[HARNESS_PATH_MAX + 16];
    char *out = NULL, *err_out = NULL;
    struct stat st;

    memset(&srv, 0, sizeof srv);
    ck_assert_int_eq(harness_start(&srv, NULL), 0);
    rpc_conn *conn = connect_dev(&srv);
    create_ok(conn, "journal", INFORMATION, "social");
    rpc_close(conn);
    snprintf(file, sizeof file, "%s.backup", srv.data_dir);
    FILE *f = fopen(file, "w");
    ck_assert_ptr_nonnull(f);
    fputs("keep me\n", f);
    fclose(f);

    ck_assert_int_eq(run_valv(&srv, &out, &err_out, "admin", "backup", file, NULL), 2);
    ck_assert_msg(strstr(err_out, "exists; give --force") != NULL, "%s", err_out);
    ck_assert_int_eq(stat(file, &st), 0);
    ck_assert_int_eq(st.st_size, 8);
    free(out);
    free(err_out);

    ck_assert_int_eq(run_valv(&srv, &out, &err_out, "admin", "backup", "--force", file, NULL), 0);
    ck_assert_msg(strstr(out, "revision: 1") != NULL, "%s", out);
    ck_assert_int_eq(stat(file, &st), 0);
    ck_assert_int_gt(st.st_size, 8);
    free(out);
    free(err_out);

    /* '-': the copy on standard output, the summary on standard error. */
    ck_assert_int_eq(run_valv(&srv, &out, &err_out, "admin", "backup", "-", NULL), 0);
    ck_assert_msg(strstr(err_out, "revision: 1") != NULL, "%s", err_out);
    free(out);
    free(err_out);
    unlink(file);
    ck_assert_int_eq(harness_stop(&srv), 0);
    harness_cleanup(&srv);
}
END_TEST

/* --- Server information ------------------------------------------------------------- */

START_TEST(test_server_info_fields)
{
    static const char *const extra[] = {"--max-db-size", "128", NULL};
    harness_server srv;
    char *out = NULL, *err_out = NULL;
    valv_error err;

    memset(&srv, 0, sizeof srv);
    time_t started = time(NULL);
    ck_assert_int_eq(harness_start(&srv, extra), 0);
    rpc_conn *conn = connect_dev(&srv);
    create_ok(conn, "a", INFORMATION, "social");
    create_ok(conn, "b", INFORMATION, "social");
    Valv__V1__DeleteAssetRequest del = VALV__V1__DELETE_ASSET_REQUEST__INIT;
    ProtobufCMessage *deleted = NULL;
    del.name = "assets/b";
    must(rpc_unary(conn, "/valv.v1.Inventory/DeleteAsset", &del.base, &valv__v1__asset__descriptor, &deleted,
                   RPC_TIMEOUT_MS, &err),
         &err, "delete");
    protobuf_c_message_free_unpacked(deleted, NULL);
    rpc_close(conn);

    ck_assert_int_eq(run_valv(&srv, &out, &err_out, "-o", "json", "admin", "info", NULL), 0);
    json_t *info = parse_json(out);
    ck_assert_str_eq(json_string_value(json_object_get(info, "version")), VALV_VERSION);
    ck_assert_int_eq(json_int_field(info, "schema_version"), 1);
    ck_assert_int_eq(json_int_field(info, "revision"), 3);
    ck_assert_int_eq(json_int_field(info, "asset_count"), 1);
    ck_assert_int_eq(json_int_field(info, "deleted_asset_count"), 1);
    ck_assert_int_ge(json_int_field(info, "uptime_seconds"), 0);
    ck_assert_int_le(json_int_field(info, "uptime_seconds"), time(NULL) - started + 1);
    ck_assert_int_gt(json_int_field(info, "database_bytes"), 0);
    ck_assert_int_le(json_int_field(info, "database_bytes"), json_int_field(info, "map_bytes"));
    ck_assert_int_eq(json_int_field(info, "map_bytes_max"), 128 << 20);
    /* start_time: RFC 3339, no earlier than just before valvd started. */
    const char *start = json_string_value(json_object_get(info, "start_time"));
    ck_assert_ptr_nonnull(start);
    struct tm tm = {0};
    ck_assert_ptr_nonnull(strptime(start, "%Y-%m-%dT%H:%M:%SZ", &tm));
    ck_assert_int_ge(timegm(&tm), started - 1);
    json_decref(info);
    free(out);
    free(err_out);

    ck_assert_int_eq(run_valv(&srv, &out, &err_out, "admin", "info", NULL), 0);
    ck_assert_msg(strstr(out, "asset_count:") != NULL && strstr(out, "version:") != NULL, "%s", out);
    free(out);
    free(err_out);
    ck_assert_int_eq(harness_stop(&srv), 0);
    harness_cleanup(&srv);
}
END_TEST

/* --- The summary ------------------------------------------------------------------------ */

START_TEST(test_summary_counts)
{
    harness_server srv;
    Valv__V1__Summary *sum = NULL;
    valv_error err;

    memset(&srv, 0, sizeof srv);
    ck_assert_int_eq(harness_start(&srv, NULL), 0);
    rpc_conn *conn = connect_dev(&srv);
    create_ok(conn, "journal", INFORMATION, "social");
    create_ok(conn, "procapita", IT_SYSTEM, "social");
    classify_availability(conn, "procapita", VALV__V1__LEVEL__VERY_SERIOUS); /* flagged */
    create_ok(conn, "grades", INFORMATION, "school");

    must(summary(conn, NULL, 0, &sum, &err), &err, "summary");
    ck_assert_uint_eq(sum->n_units, 2);
    ck_assert_str_eq(sum->units[0]->owner_unit, "school");
    ck_assert_str_eq(sum->units[1]->owner_unit, "social");
    const Valv__V1__UnitSummary *social = unit_of(sum, "social");
    ck_assert_int_eq(social->total, 2);
    ck_assert_int_eq(social->by_kind[IT_SYSTEM], 1);
    ck_assert_int_eq(social->by_level[VALV__V1__LEVEL__VERY_SERIOUS], 1);
    ck_assert_int_eq(social->flagged, 1);
    ck_assert_int_eq(social->pending, 1);
    ck_assert_int_eq(social->unclassified, 1);
    ck_assert_int_eq(sum->total->total, 3);
    ck_assert_int_eq(sum->revision, 4);
    valv__v1__summary__free_unpacked(sum, NULL);

    /* Named units: an unknown one counts zero. */
    char *units[] = {"social", "nobody"};
    must(summary(conn, units, 2, &sum, &err), &err, "summary of two units");
    ck_assert_uint_eq(sum->n_units, 2);
    ck_assert_int_eq(unit_of(sum, "nobody")->total, 0);
    ck_assert_int_eq(sum->total->total, 2);
    valv__v1__summary__free_unpacked(sum, NULL);

    /* A name that cannot be a unit: INVALID_ARGUMENT naming it. */
    char *bad[] = {"social", "Social Services"};
    ck_assert_int_eq(summary(conn, bad, 2, &sum, &err), VALV_EINVAL);
    ck_assert_int_eq(err.n_violations, 1);
    ck_assert_str_eq(err.violations[0].field, "owner_units[1]");
    ck_assert_ptr_nonnull(strstr(err.violations[0].description, "^[a-z][a-z0-9-]{0,62}$"));
    rpc_close(conn);
    ck_assert_int_eq(harness_stop(&srv), 0);
    harness_cleanup(&srv);
}
END_TEST

/* --- Need to know, over TLS ---------------------------------------------------------------- */

static char certs[HARNESS_PATH_MAX];

enum { OWNER, READER, AUDITOR, N_PRINCIPALS };
static const char *const principal_roles[N_PRINCIPALS] = {"owner", "reader", "auditor"};
static char tokens[N_PRINCIPALS][HARNESS_TOKEN_MAX];

/* Starts valvd over TLS with one principal per role, each known by a new
 * token (tokens[k]); the owner owns kultur. */
static void start_tls(harness_server *srv)
{
    harness_principal principals[N_PRINCIPALS];
    for (int k = 0; k < N_PRINCIPALS; k++)
        principals[k] = (harness_principal){.id = principal_roles[k],
                                            .role = principal_roles[k],
                                            .unit = k == OWNER ? "kultur" : NULL,
                                            .new_token = tokens[k]};
    memset(srv, 0, sizeof *srv);
    ck_assert_int_eq(harness_start_principals(srv, certs, principals, N_PRINCIPALS, NULL), 0);
}

static rpc_conn *connect_as(const harness_server *srv, int k)
{
    rpc_conn *conn = NULL;
    valv_error err;
    must(harness_connect(srv, certs, tokens[k], &conn, &err), &err, "connect");
    return conn;
}

START_TEST(test_summary_need_to_know)
{
    harness_server srv;
    Valv__V1__Summary *sum = NULL;
    valv_error err;

    start_tls(&srv);
    rpc_conn *owner = connect_as(&srv, OWNER), *reader = connect_as(&srv, READER),
             *auditor = connect_as(&srv, AUDITOR);
    /* secret-info is RESTRICTED; secret-sys processes it and inherits that. */
    create_ok(owner, "open", IT_SYSTEM, "kultur");
    create_ok(owner, "secret-info", INFORMATION, "kultur");
    create_ok(owner, "secret-sys", IT_SYSTEM, "kultur");
    secure_restricted(owner, "secret-info");
    link_ok(owner, "secret-info", "secret-sys", VALV__V1__LINK_TYPE__PROCESSED_BY);

    must(summary(reader, NULL, 0, &sum, &err), &err, "reader's summary");
    ck_assert_int_eq(unit_of(sum, "kultur")->total, 1);
    ck_assert_int_eq(sum->total->total, 1);
    ck_assert_int_eq(sum->total->flagged, 0);
    ck_assert_int_eq(sum->total->by_security_class[VALV__V1__SECURITY_CLASS__RESTRICTED], 0);
    valv__v1__summary__free_unpacked(sum, NULL);

    must(summary(auditor, NULL, 0, &sum, &err), &err, "auditor's summary");
    ck_assert_int_eq(sum->total->total, 3);
    ck_assert_int_eq(sum->total->flagged, 2);
    ck_assert_int_eq(sum->total->by_security_class[VALV__V1__SECURITY_CLASS__RESTRICTED], 2);
    valv__v1__summary__free_unpacked(sum, NULL);

    rpc_close(owner);
    rpc_close(reader);
    rpc_close(auditor);
    ck_assert_int_eq(harness_stop(&srv), 0);
    harness_cleanup(&srv);
}
END_TEST

/* --- Backups at a time ---------------------------------------------------------------------- */

/* How many of valvd's open files are backup copies (".backup-XXXXXX (deleted)"). */
static int open_backup_files(pid_t pid)
{
    char dir[64], link[64 + 256], target[512];
    int n = 0;
    snprintf(dir, sizeof dir, "/proc/%d/fd", (int)pid);
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        snprintf(link, sizeof link, "%s/%s", dir, e->d_name);
        ssize_t len = readlink(link, target, sizeof target - 1);
        if (len <= 0)
            continue;
        target[len] = '\0';
        n += strstr(target, "/.backup-") != NULL;
    }
    closedir(d);
    return n;
}

/* Opens a Backup stream and reads its first chunk, leaving the rest unread. */
static rpc_stream *backup_started(rpc_conn *conn)
{
    Valv__V1__BackupRequest req = VALV__V1__BACKUP_REQUEST__INIT;
    rpc_stream *st = NULL;
    ProtobufCMessage *chunk = NULL;
    valv_error err;
    must(rpc_stream_open(conn, "/valv.v1.Admin/Backup", &req.base, 0, &st, &err), &err, "backup");
    must(rpc_stream_next(st, &valv__v1__backup_chunk__descriptor, &chunk, &err), &err, "first chunk");
    ck_assert_ptr_nonnull(chunk);
    ck_assert_int_gt(((Valv__V1__BackupChunk *)chunk)->revision, 0);
    ck_assert_uint_le(((Valv__V1__BackupChunk *)chunk)->data.len, 64 * 1024);
    protobuf_c_message_free_unpacked(chunk, NULL);
    return st;
}

/* Imports n assets with long descriptions, in a few commits. */
static void import_bulk(const harness_server *srv, int n)
{
    char path[HARNESS_PATH_MAX + 16];
    char *out = NULL, *err_out = NULL;
    snprintf(path, sizeof path, "%s.csv", srv->data_dir);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "external_id,kind,display_name,description,owner_unit\n");
    for (int i = 0; i < n; i++) {
        fprintf(f, "e%d,INFORMATION,Asset %d,", i, i);
        for (int k = 0; k < BULK_DESCRIPTION; k++)
            fputc('a' + (i + k) % 26, f);
        fprintf(f, ",social\n");
    }
    fclose(f);
    int code = run_valv(srv, &out, &err_out, "import", path, "--source", "bulk", NULL);
    ck_assert_msg(code == 0, "valv import: %s", err_out);
    free(out);
    free(err_out);
    unlink(path);
}

START_TEST(test_backups_bounded_and_cleaned_up)
{
    harness_server srv;
    valv_error err;

    memset(&srv, 0, sizeof srv);
    ck_assert_int_eq(harness_start(&srv, NULL), 0);
    rpc_conn *conn = connect_dev(&srv);
    /* A store larger than what flow control lets through unread, so that
     * each backup stays open after its first chunk. */
    import_bulk(&srv, BULK_ASSETS);
    rpc_stream *first = backup_started(conn), *second = backup_started(conn);

    Valv__V1__BackupRequest req = VALV__V1__BACKUP_REQUEST__INIT;
    rpc_stream *third = NULL;
    ProtobufCMessage *chunk = NULL;
    must(rpc_stream_open(conn, "/valv.v1.Admin/Backup", &req.base, 0, &third, &err), &err, "third");
    ck_assert_int_eq(rpc_stream_next(third, &valv__v1__backup_chunk__descriptor, &chunk, &err), VALV_EFULL);
    ck_assert_ptr_nonnull(strstr(err.message, "retry when one has finished"));
    rpc_stream_close(third);
    ck_assert_int_eq(open_backup_files(srv.pid), 2);

    /* Cancelled, the two give back their files and their places. */
    rpc_stream_close(first);
    rpc_stream_close(second);
    for (int i = 0; i < 500 && open_backup_files(srv.pid) > 0; i++)
        usleep(10 * 1000);
    ck_assert_int_eq(open_backup_files(srv.pid), 0);
    rpc_stream_close(backup_started(conn));

    rpc_close(conn);
    ck_assert_int_eq(harness_stop(&srv), 0);
    harness_cleanup(&srv);
}
END_TEST

int main(void)
{
    /* Certificates are made once, before Check forks the tests. */
    if (harness_make_certs(NULL, certs) != 0)
        return EXIT_FAILURE;
    Suite *s = suite_create("admin");
    TCase *tc = tcase_create("backup");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_backup_under_writes_restores);
    tcase_add_test(tc, test_backup_cli_refuses_to_overwrite);
    tcase_add_test(tc, test_backups_bounded_and_cleaned_up);
    suite_add_tcase(s, tc);
    tc = tcase_create("info and summary");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_server_info_fields);
    tcase_add_test(tc, test_summary_counts);
    tcase_add_test(tc, test_summary_need_to_know);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    harness_remove_dir(certs);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
