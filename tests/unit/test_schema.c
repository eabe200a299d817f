/* test_schema.c - the API descriptors embedded in valvd and their index
 * (service/schema.c): what server reflection answers from. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "google/protobuf/descriptor.pb-c.h"
#include "schema.h"

static schema *s;
static valv_error err;
static schema_files files;

static void setup(void)
{
    valv_error_clear(&err);
    files = (schema_files){0};
    ck_assert_msg(schema_open(&s, &err) == VALV_OK, "%s", err.message);
}

static void teardown(void)
{
    schema_files_free(&files);
    schema_free(s);
    s = NULL;
}

/* The name of files entry i (each entry is a serialized FileDescriptorProto). */
static char *file_name(size_t i)
{
    Google__Protobuf__FileDescriptorProto *f =
        google__protobuf__file_descriptor_proto__unpack(NULL, files.files[i].len, files.files[i].data);
    ck_assert_ptr_nonnull(f);
    char *name = strdup(f->name);
    google__protobuf__file_descriptor_proto__free_unpacked(f, NULL);
    return name;
}

/* files holds expected[0] first, then each of the others exactly once, in
 * any order, and nothing else. */
static void assert_files(const char *const *expected, size_t n)
{
    ck_assert_uint_eq(files.n, n);
    char *first = file_name(0);
    ck_assert_str_eq(first, expected[0]);
    free(first);
    for (size_t j = 1; j < n; j++) {
        int seen = 0;
        for (size_t i = 0; i < files.n; i++) {
            char *name = file_name(i);
            seen += strcmp(name, expected[j]) == 0;
            free(name);
        }
        ck_assert_msg(seen == 1, "%s is there %d times, not once", expected[j], seen);
    }
}

/* The file that declares symbol (its closure's first entry). */
static void assert_symbol_in(const char *symbol, const char *file)
{
    schema_files_free(&files);
    ck_assert_msg(schema_file_containing_symbol(s, symbol, &files, &err) == VALV_OK, "%s: %s", symbol, err.message);
    char *name = file_name(0);
    ck_assert_msg(strcmp(name, file) == 0, "%s is in %s, not %s", symbol, name, file);
    free(name);
}

/* ---- files ---------------------------------------------------------------------------- */

START_TEST(file_comes_with_its_imports_once_each)
{
    ck_assert_int_eq(schema_file_by_name(s, "valv/v1/inventory.proto", &files, &err), VALV_OK);
    /* inventory imports import.proto, which imports asset.proto again. */
    static const char *const expected[] = {
        "valv/v1/inventory.proto",      "valv/v1/asset.proto",        "valv/v1/audit.proto",
        "valv/v1/import.proto",         "google/protobuf/empty.proto", "google/protobuf/field_mask.proto",
        "google/protobuf/timestamp.proto"};
    assert_files(expected, sizeof expected / sizeof expected[0]);
}
END_TEST

START_TEST(file_without_imports_comes_alone)
{
    ck_assert_int_eq(schema_file_by_name(s, "grpc/reflection/v1alpha/reflection.proto", &files, &err), VALV_OK);
    static const char *const expected[] = {"grpc/reflection/v1alpha/reflection.proto"};
    assert_files(expected, 1);
}
END_TEST

START_TEST(unknown_file_is_not_found)
{
    ck_assert_int_eq(schema_file_by_name(s, "valv/v1/nope.proto", &files, &err), VALV_ENOTFOUND);
    ck_assert_ptr_nonnull(strstr(err.message, "'valv/v1/nope.proto'"));
    ck_assert_uint_eq(files.n, 0);
}
END_TEST

/* ---- symbols ---------------------------------------------------------------------------- */

START_TEST(every_kind_of_symbol_is_found)
{
    assert_symbol_in("valv.v1.Inventory", "valv/v1/inventory.proto");          /* service */
    assert_symbol_in("valv.v1.Inventory.GetAsset", "valv/v1/inventory.proto"); /* method */
    assert_symbol_in("valv.v1.Admin", "valv/v1/admin.proto");
    assert_symbol_in("valv.v1.Asset", "valv/v1/asset.proto");              /* message */
    assert_symbol_in("valv.v1.Asset.display_name", "valv/v1/asset.proto"); /* field */
    assert_symbol_in("valv.v1.AssetKind", "valv/v1/asset.proto");          /* enum */
    assert_symbol_in("valv.v1.IT_SYSTEM", "valv/v1/asset.proto");          /* enum value: the enum's sibling */
    assert_symbol_in("valv.v1.ImportAssetsRequest.message", "valv/v1/import.proto"); /* oneof */
    assert_symbol_in("grpc.health.v1.HealthCheckResponse.ServingStatus", "grpc/health/v1/health.proto");
    assert_symbol_in("grpc.health.v1.HealthCheckResponse.SERVING", "grpc/health/v1/health.proto");
    assert_symbol_in("grpc.reflection.v1.ServerReflection", "grpc/reflection/v1/reflection.proto");
    assert_symbol_in("grpc.reflection.v1alpha.ServerReflection.ServerReflectionInfo",
                     "grpc/reflection/v1alpha/reflection.proto");
    assert_symbol_in("google.protobuf.Timestamp", "google/protobuf/timestamp.proto"); /* an import */
}
END_TEST

START_TEST(symbol_comes_with_its_file_imports)
{
    ck_assert_int_eq(schema_file_containing_symbol(s, "valv.v1.Review", &files, &err), VALV_OK);
    static const char *const expected[] = {"valv/v1/review.proto", "valv/v1/asset.proto",
                                           "google/protobuf/timestamp.proto"};
    assert_files(expected, sizeof expected / sizeof expected[0]);
}
END_TEST

START_TEST(unknown_symbol_is_not_found)
{
    static const char *const unknown[] = {"valv.v1.Nope", "valv.v1.Inventory.Nope", ".valv.v1.Asset",
                                          "Asset", "valv.v1.AssetKind.IT_SYSTEM", ""};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        valv_error_clear(&err);
        ck_assert_int_eq(schema_file_containing_symbol(s, unknown[i], &files, &err), VALV_ENOTFOUND);
        ck_assert_ptr_nonnull(strstr(err.message, unknown[i]));
        ck_assert_ptr_nonnull(strstr(err.message, "fully qualified"));
    }
    ck_assert(!schema_has_symbol(s, "valv.v1.Nope"));
    ck_assert(schema_has_symbol(s, "valv.v1.Inventory.ListAssets"));
}
END_TEST

/* ---- extensions: valvd's API declares none ----------------------------------------------- */

START_TEST(message_without_extensions_has_no_numbers)
{
    int32_t *numbers = NULL;
    size_t n = 99;
    ck_assert_int_eq(schema_extension_numbers(s, "valv.v1.Asset", &numbers, &n, &err), VALV_OK);
    ck_assert_uint_eq(n, 0);
    free(numbers);
}
END_TEST

START_TEST(extension_numbers_need_a_message_type)
{
    int32_t *numbers = NULL;
    size_t n = 0;
    ck_assert_int_eq(schema_extension_numbers(s, "valv.v1.Nope", &numbers, &n, &err), VALV_ENOTFOUND);
    valv_error_clear(&err);
    ck_assert_int_eq(schema_extension_numbers(s, "valv.v1.AssetKind", &numbers, &n, &err), VALV_ENOTFOUND);
    ck_assert_ptr_nonnull(strstr(err.message, "no message type 'valv.v1.AssetKind'"));
    ck_assert_ptr_null(numbers);
}
END_TEST

START_TEST(absent_extension_is_not_found)
{
    ck_assert_int_eq(schema_file_containing_extension(s, "valv.v1.Asset", 100, &files, &err), VALV_ENOTFOUND);
    ck_assert_ptr_nonnull(strstr(err.message, "no extension 100 of 'valv.v1.Asset'"));
}
END_TEST

/* ---- other sets: extensions, and what schema_open_set refuses ---------------------------- */

/* Packs a set of one file, "t/ext.proto" (package t, message M and an
 * extension e = 100 of it), that imports `import` when not NULL. The
 * caller frees *out. */
static size_t pack_test_set(const char *import, uint8_t **out)
{
    Google__Protobuf__DescriptorProto m = GOOGLE__PROTOBUF__DESCRIPTOR_PROTO__INIT;
    m.name = "M";
    Google__Protobuf__DescriptorProto *messages[] = {&m};
    Google__Protobuf__FieldDescriptorProto e = GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__INIT;
    e.name = "e";
    e.has_number = true;
    e.number = 100;
    e.extendee = ".t.M";
    Google__Protobuf__FieldDescriptorProto *extensions[] = {&e};
    Google__Protobuf__FileDescriptorProto f = GOOGLE__PROTOBUF__FILE_DESCRIPTOR_PROTO__INIT;
    f.name = "t/ext.proto";
    f.package = "t";
    f.n_message_type = 1;
    f.message_type = messages;
    f.n_extension = 1;
    f.extension = extensions;
    char *imports[] = {(char *)import};
    f.n_dependency = import != NULL ? 1 : 0;
    f.dependency = imports;
    Google__Protobuf__FileDescriptorProto *file_list[] = {&f};
    Google__Protobuf__FileDescriptorSet set = GOOGLE__PROTOBUF__FILE_DESCRIPTOR_SET__INIT;
    set.n_file = 1;
    set.file = file_list;
    size_t len = google__protobuf__file_descriptor_set__get_packed_size(&set);
    *out = malloc(len);
    ck_assert_ptr_nonnull(*out);
    return google__protobuf__file_descriptor_set__pack(&set, *out);
}

START_TEST(extensions_are_found_by_type_number_and_name)
{
    uint8_t *data;
    size_t len = pack_test_set(NULL, &data);
    schema *t = NULL;
    ck_assert_int_eq(schema_open_set(data, len, &t, &err), VALV_OK);
    free(data);

    int32_t *numbers = NULL;
    size_t n = 0;
    ck_assert_int_eq(schema_extension_numbers(t, "t.M", &numbers, &n, &err), VALV_OK);
    ck_assert_uint_eq(n, 1);
    ck_assert_int_eq(numbers[0], 100);
    free(numbers);
    ck_assert_int_eq(schema_file_containing_extension(t, "t.M", 100, &files, &err), VALV_OK);
    ck_assert_uint_eq(files.n, 1);
    schema_files_free(&files);
    ck_assert_int_eq(schema_file_containing_extension(t, "t.M", 101, &files, &err), VALV_ENOTFOUND);
    ck_assert(schema_has_symbol(t, "t.e"));
    schema_free(t);
}
END_TEST

START_TEST(set_missing_an_import_is_refused)
{
    uint8_t *data;
    size_t len = pack_test_set("t/missing.proto", &data);
    schema *t = NULL;
    ck_assert_int_eq(schema_open_set(data, len, &t, &err), VALV_EINTERNAL);
    free(data);
    ck_assert_ptr_null(t);
    ck_assert_ptr_nonnull(strstr(err.message, "t/missing.proto, which t/ext.proto imports"));
}
END_TEST

START_TEST(bytes_that_are_no_set_are_refused)
{
    static const uint8_t garbage[] = {0x0a, 0xff, 0x01}; /* field 1, a length past the end */
    schema *t = NULL;
    ck_assert_int_eq(schema_open_set(garbage, sizeof garbage, &t, &err), VALV_EINTERNAL);
    ck_assert_ptr_null(t);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("schema");
    TCase *tc = tcase_create("files");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, file_comes_with_its_imports_once_each);
    tcase_add_test(tc, file_without_imports_comes_alone);
    tcase_add_test(tc, unknown_file_is_not_found);
    suite_add_tcase(suite, tc);

    tc = tcase_create("symbols");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, every_kind_of_symbol_is_found);
    tcase_add_test(tc, symbol_comes_with_its_file_imports);
    tcase_add_test(tc, unknown_symbol_is_not_found);
    suite_add_tcase(suite, tc);

    tc = tcase_create("extensions");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, message_without_extensions_has_no_numbers);
    tcase_add_test(tc, extension_numbers_need_a_message_type);
    tcase_add_test(tc, absent_extension_is_not_found);
    tcase_add_test(tc, extensions_are_found_by_type_number_and_name);
    suite_add_tcase(suite, tc);

    tc = tcase_create("open");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, set_missing_an_import_is_refused);
    tcase_add_test(tc, bytes_that_are_no_set_are_refused);
    suite_add_tcase(suite, tc);

    SRunner *sr = srunner_create(suite);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
