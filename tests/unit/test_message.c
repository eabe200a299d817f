/* test_message.c - protobuf-c messages handled through their descriptors
 * (message.h): a deep copy of every kind of field. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "google/protobuf/descriptor.pb-c.h"
#include "message.h"
#include "valv/v1/asset.pb-c.h"
#include "valv/v1/audit.pb-c.h"
#include "valv/v1/import.pb-c.h"

/* m packed, in a buffer the caller frees; *len its length. */
static uint8_t *packed(const ProtobufCMessage *m, size_t *len)
{
    *len = protobuf_c_message_get_packed_size(m);
    uint8_t *buf = malloc(*len > 0 ? *len : 1);
    ck_assert_ptr_nonnull(buf);
    protobuf_c_message_pack(m, buf);
    return buf;
}

/* The copy encodes as m does. */
static void assert_same_encoding(const ProtobufCMessage *m, const ProtobufCMessage *copy)
{
    size_t len = 0, copy_len = 0;
    uint8_t *a = packed(m, &len), *b = packed(copy, &copy_len);
    ck_assert_uint_eq(len, copy_len);
    ck_assert_int_eq(memcmp(a, b, len), 0);
    free(a);
    free(b);
}

/* An asset with every kind of field its type has set: strings, an enum,
 * an int64, a bool, sub-messages (timestamps among them), a map and a
 * repeated string; packed, so that it is protobuf-c's own allocation. */
static Valv__V1__Asset *full_asset(void)
{
    Valv__V1__Asset a = VALV__V1__ASSET__INIT;
    Valv__V1__Classification cl = VALV__V1__CLASSIFICATION__INIT;
    Valv__V1__Effective eff = VALV__V1__EFFECTIVE__INIT;
    Valv__V1__Effective__SourcesEntry source = VALV__V1__EFFECTIVE__SOURCES_ENTRY__INIT;
    Valv__V1__Effective__SourcesEntry *sources[] = {&source};
    Valv__V1__Asset__AttributesEntry attr[2] = {VALV__V1__ASSET__ATTRIBUTES_ENTRY__INIT,
                                                VALV__V1__ASSET__ATTRIBUTES_ENTRY__INIT};
    Valv__V1__Asset__AttributesEntry *attrs[] = {&attr[0], &attr[1]};
    Google__Protobuf__Timestamp created = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    char *labels[] = {"cmdb", "production"};

    a.name = "assets/payroll";
    a.kind = VALV__V1__ASSET_KIND__IT_SYSTEM;
    a.display_name = "Payroll";
    a.owner_unit = "hr";
    cl.confidentiality = VALV__V1__LEVEL__SERIOUS;
    cl.rationale = "salaries";
    a.classification = &cl;
    eff.confidentiality = VALV__V1__LEVEL__SERIOUS;
    eff.flagged = 1;
    source.key = "confidentiality";
    source.value = "assets/payroll";
    eff.sources = sources;
    eff.n_sources = 1;
    a.effective = &eff;
    attr[0].key = "hostname";
    attr[0].value = "pay01";
    attr[1].key = "os";
    attr[1].value = "Debian 12";
    a.attributes = attrs;
    a.n_attributes = 2;
    a.labels = labels;
    a.n_labels = 2;
    a.revision = 42;
    created.seconds = 1795000000;
    created.nanos = 5;
    a.create_time = &created;

    size_t len = 0;
    uint8_t *buf = packed(&a.base, &len);
    Valv__V1__Asset *out = valv__v1__asset__unpack(NULL, len, buf);
    free(buf);
    ck_assert_ptr_nonnull(out);
    return out;
}

START_TEST(test_copy_owns_everything)
{
    Valv__V1__Asset *a = full_asset();
    Valv__V1__Asset *c = (Valv__V1__Asset *)message_copy(&a->base);
    ck_assert_ptr_nonnull(c);
    assert_same_encoding(&a->base, &c->base);
    ck_assert_ptr_ne(c->display_name, a->display_name);
    ck_assert_ptr_ne(c->classification, a->classification);
    ck_assert_ptr_ne(c->attributes, a->attributes);
    ck_assert_ptr_ne(c->attributes[0]->key, a->attributes[0]->key);
    ck_assert_ptr_ne(c->labels[1], a->labels[1]);
    ck_assert_ptr_ne(c->effective->sources[0], a->effective->sources[0]);
    /* Unset strings share protobuf-c's empty string, as after an unpack. */
    ck_assert_ptr_eq(c->description, a->description);

    /* The copy outlives its original (the ASan build checks the reads). */
    valv__v1__asset__free_unpacked(a, NULL);
    ck_assert_str_eq(c->effective->sources[0]->value, "assets/payroll");
    ck_assert_str_eq(c->labels[1], "production");
    ck_assert_int_eq(c->create_time->nanos, 5);
    ck_assert_int_eq(c->revision, 42);
    valv__v1__asset__free_unpacked(c, NULL);
}
END_TEST

/* A message built by hand, its strings borrowed: the copy's are its own. */
START_TEST(test_copy_of_borrowed_strings)
{
    char name[] = "Borrowed";
    Valv__V1__Asset a = VALV__V1__ASSET__INIT;
    a.display_name = name;
    Valv__V1__Asset *c = (Valv__V1__Asset *)message_copy(&a.base);
    ck_assert_ptr_nonnull(c);
    name[0] = 'X';
    ck_assert_str_eq(c->display_name, "Borrowed");
    valv__v1__asset__free_unpacked(c, NULL);
}
END_TEST

/* Fields a newer version wrote, unknown to this one, stay in the copy, as
 * they would through a pack and an unpack. */
START_TEST(test_copy_keeps_unknown_fields)
{
    /* display_name "x" (field 3), then field 99 as a varint: 99 << 3 = 792. */
    const uint8_t wire[] = {0x1a, 0x01, 'x', 0x98, 0x06, 0x07};
    Valv__V1__Asset *a = valv__v1__asset__unpack(NULL, sizeof wire, wire);
    ck_assert_ptr_nonnull(a);
    ck_assert_uint_eq(a->base.n_unknown_fields, 1);
    Valv__V1__Asset *c = (Valv__V1__Asset *)message_copy(&a->base);
    ck_assert_ptr_nonnull(c);
    ck_assert_uint_eq(c->base.n_unknown_fields, 1);
    ck_assert_ptr_ne(c->base.unknown_fields[0].data, a->base.unknown_fields[0].data);
    valv__v1__asset__free_unpacked(a, NULL);
    size_t len = 0;
    uint8_t *out = packed(&c->base, &len);
    ck_assert_uint_eq(len, sizeof wire);
    ck_assert_int_eq(memcmp(out, wire, len), 0);
    free(out);
    valv__v1__asset__free_unpacked(c, NULL);
}
END_TEST

START_TEST(test_copy_bytes)
{
    unsigned char hash[32];
    memset(hash, 0xab, sizeof hash);
    Valv__V1__AuditEvent e = VALV__V1__AUDIT_EVENT__INIT;
    e.prev_hash.data = hash;
    e.prev_hash.len = sizeof hash;
    e.revision = 7;
    Valv__V1__AuditEvent *c = (Valv__V1__AuditEvent *)message_copy(&e.base);
    ck_assert_ptr_nonnull(c);
    assert_same_encoding(&e.base, &c->base);
    ck_assert_ptr_ne(c->prev_hash.data, hash);
    ck_assert_ptr_null(c->hash.data);
    valv__v1__audit_event__free_unpacked(c, NULL);
}
END_TEST

/* Only the member of a oneof that is set is copied: the members share
 * their place in the struct. */
START_TEST(test_copy_oneof)
{
    Valv__V1__ImportHeader header = VALV__V1__IMPORT_HEADER__INIT;
    header.source = "cmdb";
    Valv__V1__ImportAssetsRequest req = VALV__V1__IMPORT_ASSETS_REQUEST__INIT;
    req.message_case = VALV__V1__IMPORT_ASSETS_REQUEST__MESSAGE_HEADER;
    req.header = &header;
    Valv__V1__ImportAssetsRequest *c = (Valv__V1__ImportAssetsRequest *)message_copy(&req.base);
    ck_assert_ptr_nonnull(c);
    ck_assert_int_eq(c->message_case, VALV__V1__IMPORT_ASSETS_REQUEST__MESSAGE_HEADER);
    ck_assert_ptr_ne(c->header, &header);
    ck_assert_str_eq(c->header->source, "cmdb");
    assert_same_encoding(&req.base, &c->base);
    valv__v1__import_assets_request__free_unpacked(c, NULL);

    Valv__V1__ImportAssetsRequest none = VALV__V1__IMPORT_ASSETS_REQUEST__INIT;
    c = (Valv__V1__ImportAssetsRequest *)message_copy(&none.base);
    ck_assert_ptr_nonnull(c);
    ck_assert_int_eq(c->message_case, VALV__V1__IMPORT_ASSETS_REQUEST__MESSAGE__NOT_SET);
    valv__v1__import_assets_request__free_unpacked(c, NULL);
}
END_TEST

/* proto2 optional fields (descriptor.proto's) keep whether they are there. */
START_TEST(test_copy_optional_presence)
{
    Google__Protobuf__FieldDescriptorProto f = GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__INIT;
    f.name = "display_name";
    f.has_number = 1;
    f.number = 3;
    Google__Protobuf__FieldDescriptorProto *c =
        (Google__Protobuf__FieldDescriptorProto *)message_copy(&f.base);
    ck_assert_ptr_nonnull(c);
    ck_assert(c->has_number);
    ck_assert_int_eq(c->number, 3);
    ck_assert(!c->has_label);
    assert_same_encoding(&f.base, &c->base);
    google__protobuf__field_descriptor_proto__free_unpacked(c, NULL);
}
END_TEST

static Suite *message_suite(void)
{
    Suite *s = suite_create("message");
    TCase *tc = tcase_create("copy");
    tcase_add_test(tc, test_copy_owns_everything);
    tcase_add_test(tc, test_copy_of_borrowed_strings);
    tcase_add_test(tc, test_copy_keeps_unknown_fields);
    tcase_add_test(tc, test_copy_bytes);
    tcase_add_test(tc, test_copy_oneof);
    tcase_add_test(tc, test_copy_optional_presence);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(message_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
