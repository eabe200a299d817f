/* test_read.c - reading an asset to answer one call with it: the arena it
 * is read into (arena.h), finding fields in the record without decoding
 * it (wire.h), and store_read_asset, which answers with the record as
 * stored when it can; and reading an asset without its descriptive fields
 * (asset_load_values), as links and inheritance do. */
#include <stdalign.h>
#include <stdint.h>

#include "arena.h"
#include "limits.h"
#include "store_fixture.h"
#include "store_internal.h"
#include "wire.h"

#define IT_SYSTEM VALV__V1__ASSET_KIND__IT_SYSTEM
#define ENTRIES 12 /* of VALV_ATTRIBUTE_VALUE_MAX bytes: more than ARENA_ASSET_BYTES */
#define SECRET VALV__V1__SECURITY_CLASS__SECRET

/* --- arena ------------------------------------------------------------------------ */

static bool inside(const void *p, const unsigned char *buffer, size_t size)
{
    return (const unsigned char *)p >= buffer && (const unsigned char *)p < buffer + size;
}

START_TEST(test_arena_uses_the_buffer_then_spills)
{
    unsigned char buffer[256];
    arena mem;
    arena_init(&mem, buffer, sizeof buffer);

    char *first = arena_alloc(&mem, 10);
    long double *second = arena_alloc(&mem, sizeof *second);
    ck_assert(inside(first, buffer, sizeof buffer));
    ck_assert(inside(second, buffer, sizeof buffer));
    ck_assert_uint_eq((uintptr_t)second % alignof(max_align_t), 0);
    memset(first, 'x', 10);
    *second = 1.5L;

    /* More than is left: from malloc, and still usable in full. */
    unsigned char *big = arena_alloc(&mem, 1000);
    ck_assert_ptr_nonnull(big);
    ck_assert(!inside(big, buffer, sizeof buffer));
    memset(big, 0xab, 1000);
    ck_assert(*second == 1.5L);

    /* After a reset the buffer is used again from its start (and the
     * spilled block is freed: ASan's leak check would say otherwise). */
    arena_reset(&mem);
    ck_assert_ptr_eq(arena_alloc(&mem, 10), (void *)first);
    arena_reset(&mem);
}
END_TEST

START_TEST(test_arena_without_a_buffer)
{
    arena mem;
    arena_init(&mem, NULL, 0);
    for (int i = 0; i < 3; i++)
        ck_assert_ptr_nonnull(arena_alloc(&mem, 64));
    arena_reset(&mem);
}
END_TEST

START_TEST(test_arena_decodes_a_message)
{
    unsigned char buffer[ARENA_ASSET_BYTES];
    arena mem;
    arena_init(&mem, buffer, sizeof buffer);
    Valv__V1__Asset in = VALV__V1__ASSET__INIT;
    in.display_name = "Lönesystem";
    in.owner_unit = "hr";
    uint8_t packed[128];
    size_t len = valv__v1__asset__pack(&in, packed);
    Valv__V1__Asset *out = valv__v1__asset__unpack(arena_allocator(&mem), len, packed);
    ck_assert_ptr_nonnull(out);
    ck_assert_str_eq(out->display_name, "Lönesystem");
    ck_assert(inside(out, buffer, sizeof buffer));
    /* protobuf-c frees through the allocator: nothing to do, nothing broken. */
    valv__v1__asset__free_unpacked(out, arena_allocator(&mem));
    arena_reset(&mem);
}
END_TEST

/* --- wire_find ------------------------------------------------------------------------ */

/* An asset with a string, a varint, a sub-message and a map, encoded. */
static size_t encode_example(uint8_t *out)
{
    Valv__V1__Asset a = VALV__V1__ASSET__INIT;
    Valv__V1__ReviewStatus review = VALV__V1__REVIEW_STATUS__INIT;
    Valv__V1__Asset__AttributesEntry entry = VALV__V1__ASSET__ATTRIBUTES_ENTRY__INIT;
    Valv__V1__Asset__AttributesEntry *entries[] = {&entry};
    entry.key = "hostname";
    entry.value = "srv-01";
    review.state = VALV__V1__REVIEW_STATE__PENDING;
    a.kind = IT_SYSTEM;
    a.owner_unit = "it";
    a.review = &review;
    a.n_attributes = 1;
    a.attributes = entries;
    a.revision = 300; /* a two-byte varint */
    return valv__v1__asset__pack(&a, out);
}

START_TEST(test_wire_finds_fields)
{
    uint8_t data[256];
    size_t len = encode_example(data);
    const uint32_t fields[] = {5, 14, 13};
    wire_span spans[3];

    ck_assert(wire_find(data, len, fields, spans, 3));
    ck_assert_uint_eq(spans[0].len, 2);
    ck_assert_mem_eq(spans[0].data, "it", 2);
    Valv__V1__ReviewStatus *review = valv__v1__review_status__unpack(NULL, spans[1].len, spans[1].data);
    ck_assert_ptr_nonnull(review);
    ck_assert_int_eq(review->state, VALV__V1__REVIEW_STATE__PENDING);
    valv__v1__review_status__free_unpacked(review, NULL);
    ck_assert_ptr_null(spans[2].data); /* no effective */
    ck_assert(wire_find(data, 0, fields, spans, 3));
    ck_assert_ptr_null(spans[0].data);
}
END_TEST

START_TEST(test_wire_refuses_what_it_cannot_read)
{
    uint8_t data[512];
    size_t len = encode_example(data);
    const uint32_t unit[] = {5}, kind[] = {2};
    wire_span span;

    /* Cut short anywhere inside the last field: not well-formed. */
    ck_assert(!wire_find(data, len - 1, unit, &span, 1));
    /* A wanted field that is not length-delimited. */
    ck_assert(!wire_find(data, len, kind, &span, 1));
    /* A wanted field twice (two encodings one after the other). */
    memcpy(data + len, data, len);
    ck_assert(!wire_find(data, 2 * len, unit, &span, 1));
    /* A varint that never ends, and a group (wire type 3). */
    const uint8_t endless[] = {0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    const uint8_t group[] = {0x0b, 0x0c};
    ck_assert(!wire_find(endless, sizeof endless, unit, &span, 1));
    ck_assert(!wire_find(group, sizeof group, unit, &span, 1));
    /* A length past the end. */
    const uint8_t overlong[] = {0x2a, 0x05, 'i', 't'};
    ck_assert(!wire_find(overlong, sizeof overlong, unit, &span, 1));
}
END_TEST

START_TEST(test_wire_reads_varints)
{
    uint8_t data[512];
    size_t len = encode_example(data);
    uint64_t value = 99;

    ck_assert(wire_varint(data, len, 2, &value)); /* kind */
    ck_assert_uint_eq(value, IT_SYSTEM);
    ck_assert(wire_varint(data, len, 15, &value)); /* revision 300: two bytes */
    ck_assert_uint_eq(value, 300);
    ck_assert(wire_varint(data, len, 16, &value)); /* absent: proto3's 0 */
    ck_assert_uint_eq(value, 0);
    /* A negative int64 is its two's complement, in ten bytes. */
    Google__Protobuf__Timestamp t = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    uint8_t ts[32];
    t.seconds = -2;
    t.nanos = 5;
    size_t ts_len = google__protobuf__timestamp__pack(&t, ts);
    ck_assert(wire_varint(ts, ts_len, 1, &value));
    ck_assert_int_eq((int64_t)value, -2);
    ck_assert(wire_varint(ts, ts_len, 2, &value));
    ck_assert_int_eq((int32_t)value, 5);

    /* Refused: not a varint, twice, cut short. */
    ck_assert(!wire_varint(data, len, 5, &value)); /* owner_unit, a string */
    memcpy(data + len, data, len);
    ck_assert(!wire_varint(data, 2 * len, 2, &value));
    ck_assert(!wire_varint(ts, ts_len - 1, 2, &value));
}
END_TEST

START_TEST(test_wire_drops_fields)
{
    uint8_t data[256], out[256];
    size_t len = encode_example(data);

    /* Without attributes (a map: repeated entries) and review (a message). */
    const uint32_t dropped[] = {9, 14};
    size_t out_len = wire_drop(data, len, dropped, 2, out);
    ck_assert_uint_lt(out_len, len);
    Valv__V1__Asset *a = valv__v1__asset__unpack(NULL, out_len, out);
    ck_assert_ptr_nonnull(a);
    ck_assert_uint_eq(a->n_attributes, 0);
    ck_assert_ptr_null(a->review);
    ck_assert_int_eq(a->kind, IT_SYSTEM);
    ck_assert_str_eq(a->owner_unit, "it");
    ck_assert_int_eq(a->revision, 300);
    valv__v1__asset__free_unpacked(a, NULL);

    /* Dropping nothing, or fields that are not there, copies it all. */
    ck_assert_uint_eq(wire_drop(data, len, dropped, 0, out), len);
    ck_assert_mem_eq(out, data, len);
    const uint32_t absent[] = {3, 63};
    ck_assert_uint_eq(wire_drop(data, len, absent, 2, out), len);
    ck_assert_mem_eq(out, data, len);

    /* Cut short: not well-formed. */
    ck_assert_uint_eq(wire_drop(data, len - 1, dropped, 2, out), WIRE_MALFORMED);
}
END_TEST

/* Gives asset id ENTRIES attributes of VALV_ATTRIBUTE_VALUE_MAX bytes each:
 * a record larger than ARENA_ASSET_BYTES and than any stack buffer. */
static void give_large_attributes(const char *id)
{
    Valv__V1__Asset patch = VALV__V1__ASSET__INIT;
    static char value[VALV_ATTRIBUTE_VALUE_MAX];
    Valv__V1__Asset__AttributesEntry entries[ENTRIES], *pointers[ENTRIES];
    char keys[ENTRIES][8];
    const char *paths[] = {"attributes"};
    valv_error err;

    memset(value, 'v', sizeof value - 1);
    for (int i = 0; i < ENTRIES; i++) {
        snprintf(keys[i], sizeof keys[i], "key%d", i);
        entries[i] = (Valv__V1__Asset__AttributesEntry)VALV__V1__ASSET__ATTRIBUTES_ENTRY__INIT;
        entries[i].key = keys[i];
        entries[i].value = value;
        pointers[i] = &entries[i];
    }
    patch.n_attributes = ENTRIES;
    patch.attributes = pointers;
    ck_assert_int_eq(update_paths(id, &patch, paths, 1, &err), VALV_OK);
}

/* --- asset_load_values ------------------------------------------------------------------ */

/* The numbers asset_load_values drops are the fields of these names. */
START_TEST(test_values_drop_the_descriptive_fields)
{
    static const char *const names[ASSET_DESCRIPTIVE_FIELDS_N] = {
        "display_name", "description", "owner",       "attributes", "labels",    "source",
        "external_id",  "etag",        "create_time", "update_time", "create_by", "update_by",
    };
    for (int i = 0; i < ASSET_DESCRIPTIVE_FIELDS_N; i++) {
        const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field(
            &valv__v1__asset__descriptor, asset_descriptive_fields[i]);
        ck_assert_ptr_nonnull(f);
        ck_assert_str_eq(f->name, names[i]);
    }
}
END_TEST

/* Reads id's values in a read transaction and checks what is kept. */
static void check_values(const char *id, const char *unit)
{
    MDB_txn *txn = NULL;
    Valv__V1__Asset *a = NULL;
    valv_error err;

    ck_assert_int_eq(read_begin(s, &txn, &err), VALV_OK);
    ck_assert_int_eq(asset_load_values(s, txn, id, &a, &err), VALV_OK);
    ck_assert_str_eq(a->name + strlen("assets/"), id);
    ck_assert_int_eq(a->kind, IT_SYSTEM);
    ck_assert_str_eq(a->owner_unit, unit);
    ck_assert_ptr_nonnull(a->classification);
    ck_assert_int_eq(a->classification->availability, LEVEL(3));
    ck_assert_ptr_nonnull(a->effective);
    ck_assert_int_eq(a->effective->availability, LEVEL(3));
    ck_assert_int_gt(a->revision, 0);
    ck_assert_str_eq(a->display_name, "");
    ck_assert_uint_eq(a->n_attributes, 0);
    ck_assert_ptr_null(a->create_time);
    valv__v1__asset__free_unpacked(a, NULL);
    ck_assert_int_eq(asset_load_values(s, txn, "nothing", &a, &err), VALV_ENOTFOUND);
    ck_assert_ptr_null(a);
    mdb_txn_abort(txn);
}

START_TEST(test_values_keep_what_rules_read)
{
    create_ok("small", IT_SYSTEM, "it");
    classify_ok("small", LEVEL(1), LEVEL(1), LEVEL(3), 0);
    check_values("small", "it");

    /* A record larger than the stack buffer it is filtered in. */
    create_ok("large", IT_SYSTEM, "school");
    classify_ok("large", LEVEL(1), LEVEL(1), LEVEL(3), 0);
    give_large_attributes("large");
    check_values("large", "school");
}
END_TEST

/* --- store_read_asset ------------------------------------------------------------------ */

/* A viewer who sees only unit "it"'s assets once they are security classified. */
static bool sees_only_it(const store_actor *who, const Valv__V1__Asset *asset)
{
    (void)who;
    int security_class = asset->effective != NULL ? (int)asset->effective->security_class : 0;
    return security_class < VALV__V1__SECURITY_CLASS__RESTRICTED || strcmp(asset->owner_unit, "it") == 0;
}

static const store_actor it_owner = {.actor = "olle", .can_see = sees_only_it};

/* What store_get_asset gives for id, encoded. */
static size_t encoded_as_got(const char *id, uint8_t **out)
{
    Valv__V1__Asset *a = get(id);
    size_t len = valv__v1__asset__get_packed_size(a);
    *out = malloc(len);
    ck_assert_ptr_nonnull(*out);
    valv__v1__asset__pack(a, *out);
    asset_free(a);
    return len;
}

START_TEST(test_read_answers_as_stored)
{
    unsigned char buffer[ARENA_ASSET_BYTES];
    arena mem;
    store_asset_reply reply;
    valv_error err;
    uint8_t *expected = NULL;

    create_ok("sys", IT_SYSTEM, "school");
    classify_ok("sys", LEVEL(2), LEVEL(1), LEVEL(3), 0);
    size_t len = encoded_as_got("sys", &expected);

    arena_init(&mem, buffer, sizeof buffer);
    ck_assert_int_eq(store_read_asset(s, "sys", NULL, &mem, &reply, &err), VALV_OK);
    ck_assert_ptr_null(reply.asset);
    ck_assert_ptr_nonnull(reply.encoded);
    ck_assert_uint_eq(reply.encoded_len, len);
    ck_assert_mem_eq(reply.encoded, expected, len);
    arena_reset(&mem);
    free(expected);
}
END_TEST

START_TEST(test_read_hides_what_the_viewer_may_not_see)
{
    unsigned char buffer[ARENA_ASSET_BYTES];
    arena mem;
    store_asset_reply reply;
    valv_error err;

    create_ok("school-net", IT_SYSTEM, "school");
    create_ok("it-net", IT_SYSTEM, "it");
    ck_assert_int_eq(secure("school-net", SECRET, false, false, &err), VALV_OK);
    ck_assert_int_eq(secure("it-net", SECRET, false, false, &err), VALV_OK);

    arena_init(&mem, buffer, sizeof buffer);
    ck_assert_int_eq(store_read_asset(s, "school-net", &it_owner, &mem, &reply, &err), VALV_ENOTFOUND);
    ck_assert_str_eq(err.message, "asset assets/school-net not found");
    ck_assert_ptr_null(reply.encoded);
    ck_assert_ptr_null(reply.asset);
    ck_assert_int_eq(store_read_asset(s, "it-net", &it_owner, &mem, &reply, &err), VALV_OK);
    ck_assert_ptr_nonnull(reply.encoded);
    /* The same words for one that does not exist, or cannot. */
    ck_assert_int_eq(store_read_asset(s, "nothing", &it_owner, &mem, &reply, &err), VALV_ENOTFOUND);
    ck_assert_str_eq(err.message, "asset assets/nothing not found");
    ck_assert_int_eq(store_read_asset(s, "", NULL, &mem, &reply, &err), VALV_ENOTFOUND);
    arena_reset(&mem);
}
END_TEST

START_TEST(test_read_large_asset_spills_from_the_arena)
{
    unsigned char buffer[256]; /* small on purpose */
    arena mem;
    store_asset_reply reply;
    valv_error err;
    uint8_t *expected = NULL;

    create_ok("big", IT_SYSTEM, "it");
    give_large_attributes("big");
    size_t len = encoded_as_got("big", &expected);
    ck_assert_uint_gt(len, ARENA_ASSET_BYTES);

    arena_init(&mem, buffer, sizeof buffer);
    ck_assert_int_eq(store_read_asset(s, "big", NULL, &mem, &reply, &err), VALV_OK);
    ck_assert_uint_eq(reply.encoded_len, len);
    ck_assert_mem_eq(reply.encoded, expected, len);
    arena_reset(&mem);
    free(expected);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("read");
    TCase *tc = tcase_create("arena");
    suite_add_tcase(suite, tc);
    tcase_add_test(tc, test_arena_uses_the_buffer_then_spills);
    tcase_add_test(tc, test_arena_without_a_buffer);
    tcase_add_test(tc, test_arena_decodes_a_message);
    tc = tcase_create("wire");
    suite_add_tcase(suite, tc);
    tcase_add_test(tc, test_wire_finds_fields);
    tcase_add_test(tc, test_wire_refuses_what_it_cannot_read);
    tcase_add_test(tc, test_wire_reads_varints);
    tcase_add_test(tc, test_wire_drops_fields);
    tcase_add_test(tc, test_values_drop_the_descriptive_fields);
    tc = fixture_tcase(suite, "asset_load_values");
    tcase_add_test(tc, test_values_keep_what_rules_read);
    tc = fixture_tcase(suite, "store_read_asset");
    tcase_add_test(tc, test_read_answers_as_stored);
    tcase_add_test(tc, test_read_hides_what_the_viewer_may_not_see);
    tcase_add_test(tc, test_read_large_asset_spills_from_the_arena);
    return fixture_run(suite);
}
