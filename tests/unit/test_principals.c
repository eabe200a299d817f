/* test_principals.c - the principals file: strict loading, lookup by token
 * and certificate, tokens, and swapping in a reloaded set
 * (service/principals.c). */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "principals.h"

/* SHA-256 of the tokens "abc" and "other-token". */
#define ABC_HASH "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
#define OTHER_HASH "sha256:6c67163bbed989f232b31acc4f04df54b31285bfc01bd022c735b71e041a4754"

#define EXAMPLE_FILE VALV_SOURCE_DIR "/deploy/principals.example.json"

/* A file with two principals that every test can start from. */
static const char good_file[] =
    "{\"principals\": ["
    " {\"id\": \"anna\", \"roles\": [\"owner\"], \"units\": [\"fastighetsnamnden\"],"
    "  \"identities\": [{\"cert\": \"anna.clients.valv.test\"}, {\"token\": \"" ABC_HASH "\"}]},"
    " {\"id\": \"cmdb-nightly\", \"roles\": [\"importer\"], \"sources\": [\"servicenow\"],"
    "  \"identities\": [{\"token\": \"" OTHER_HASH "\"}]}"
    "]}";

static char path[64];
static valv_error err;

static void setup(void)
{
    snprintf(path, sizeof path, "/tmp/valv-principals-XXXXXX");
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    valv_error_clear(&err);
}

static void teardown(void)
{
    unlink(path);
}

static void write_file(const char *text)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fputs(text, f) >= 0, 1);
    ck_assert_int_eq(fclose(f), 0);
}

/* Writes text to the test's file and loads it. */
static int load_text(const char *text, principals **out)
{
    write_file(text);
    return principals_load(path, out, &err);
}

/* ---- the example file -------------------------------------------------------------- */

START_TEST(example_file_loads_with_one_principal_per_role)
{
    principals *set = NULL;
    ck_assert_msg(principals_load(EXAMPLE_FILE, &set, &err) == VALV_OK, "%s", err.message);
    ck_assert_uint_eq(principals_count(set), 6);

    const principal *anna = principals_find_by_cert(set, "anna.clients.valv.test");
    ck_assert_ptr_nonnull(anna);
    ck_assert_str_eq(anna->id, "anna");
    ck_assert_uint_eq(anna->roles, ROLE_OWNER);
    ck_assert_uint_eq(anna->n_units, 2);
    ck_assert(principal_owns_unit(anna, "fastighetsnamnden"));
    ck_assert(principal_owns_unit(anna, "kulturnamnden"));

    static const struct {
        const char *cert;
        unsigned role;
    } by_cert[] = {
        {"lena.clients.valv.test", ROLE_READER},
        {"sakerhetsskyddschef.clients.valv.test", ROLE_SECURITY_CHIEF},
        {"revisor.clients.valv.test", ROLE_AUDITOR},
        {"drift.clients.valv.test", ROLE_ADMIN},
    };
    for (size_t i = 0; i < sizeof by_cert / sizeof by_cert[0]; i++) {
        const principal *p = principals_find_by_cert(set, by_cert[i].cert);
        ck_assert_msg(p != NULL, "no principal for %s", by_cert[i].cert);
        ck_assert_uint_eq(p->roles, by_cert[i].role);
    }
    principals_unref(set);
}
END_TEST

/* ---- what a valid file gives ------------------------------------------------------ */

START_TEST(loads_roles_scopes_and_clearance)
{
    principals *set = NULL;
    ck_assert_int_eq(load_text("{\"principals\": [{\"id\": \"eva\","
                               " \"roles\": [\"reader\", \"owner\", \"importer\"],"
                               " \"units\": [\"socialnamnden\"], \"sources\": [\"jira\", \"ad\"],"
                               " \"cleared\": true,"
                               " \"identities\": [{\"cert\": \"Eva Ek\"}]}]}",
                               &set),
                     VALV_OK);
    const principal *eva = principals_find_by_cert(set, "Eva Ek");
    ck_assert_ptr_nonnull(eva);
    ck_assert_uint_eq(eva->roles, ROLE_READER | ROLE_OWNER | ROLE_IMPORTER);
    ck_assert(eva->cleared);
    ck_assert(!eva->unscoped);
    ck_assert(principal_owns_unit(eva, "socialnamnden"));
    ck_assert(!principal_owns_unit(eva, "fastighetsnamnden"));
    ck_assert(principal_imports_source(eva, "ad"));
    ck_assert(!principal_imports_source(eva, "servicenow"));
    principals_unref(set);
}
END_TEST

START_TEST(cleared_defaults_to_false)
{
    principals *set = NULL;
    ck_assert_int_eq(load_text(good_file, &set), VALV_OK);
    ck_assert(!principals_find_by_cert(set, "anna.clients.valv.test")->cleared);
    principals_unref(set);
}
END_TEST

START_TEST(token_hash_accepts_upper_case_hex)
{
    principals *set = NULL;
    ck_assert_int_eq(
        load_text("{\"principals\": [{\"id\": \"x\", \"roles\": [\"reader\"], \"identities\":"
                  " [{\"token\": \"sha256:BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD\"}]}]}",
                  &set),
        VALV_OK);
    ck_assert_ptr_nonnull(principals_find_by_token(set, "abc"));
    principals_unref(set);
}
END_TEST

/* ---- strict loading ------------------------------------------------------------------ */

typedef struct {
    const char *file;
    const char *message; /* after "PATH: " */
} bad_case;

#define ONE(body) "{\"principals\": [" body "]}"
#define READER_IDS "\"identities\": [{\"cert\": \"r\"}]"

static const bad_case bad_cases[] = {
    {ONE("{\"id\": \"cmdb-nightly\", \"role\": [\"importer\"], " READER_IDS "}"),
     "principal 'cmdb-nightly': unknown key 'role' (did you mean 'roles'?)"},
    {ONE("{\"id\": \"anna\", \"roles\": [\"owner\"], \"unit\": [\"x\"], " READER_IDS "}"),
     "principal 'anna': unknown key 'unit' (did you mean 'units'?)"},
    {ONE("{\"id\": \"anna\", \"roles\": [\"reader\"], \"email\": \"a@b\", " READER_IDS "}"),
     "principal 'anna': unknown key 'email'; allowed keys are 'id', 'roles', 'units', "
     "'sources', 'cleared' or 'identities'"},
    {"{\"principal\": []}", "unknown key 'principal' (did you mean 'principals'?)"},
    {"{\"principals\": []}", "'principals' must be a non-empty list of principals"},
    {"[]", "the file must be a JSON object {\"principals\": [...]}"},
    {ONE("{\"roles\": [\"reader\"], " READER_IDS "}"), "principals[0]: 'id' is required"},
    {ONE("{\"ID\": \"a\", \"roles\": [\"reader\"], " READER_IDS "}"),
     "principals[0]: unknown key 'ID'; allowed keys are 'id', 'roles', 'units', 'sources', "
     "'cleared' or 'identities'"},
    {ONE("{\"id\": \"has space\", \"roles\": [\"reader\"], " READER_IDS "}"),
     "principals[0]: 'id' must be a string of 1-63 characters A-Z, a-z, 0-9, '.', '_', '@' "
     "and '-', starting with a letter or digit"},
    {ONE("{\"id\": \"a\", " READER_IDS "}"),
     "principal 'a': 'roles' is required: a list of reader, owner, security_chief, importer, "
     "auditor, admin"},
    {ONE("{\"id\": \"a\", \"roles\": [\"reader\", \"superuser\"], " READER_IDS "}"),
     "principal 'a': roles[1]: unknown role 'superuser'; roles are reader, owner, "
     "security_chief, importer, auditor, admin"},
    {ONE("{\"id\": \"a\", \"roles\": [\"reader\", \"reader\"], " READER_IDS "}"),
     "principal 'a': roles[1]: 'reader' is listed twice"},
    {ONE("{\"id\": \"a\", \"roles\": [\"owner\"], " READER_IDS "}"),
     "principal 'a': role owner needs 'units': the units it is for"},
    {ONE("{\"id\": \"a\", \"roles\": [\"reader\"], \"units\": [\"x\"], " READER_IDS "}"),
     "principal 'a': 'units' is only for role owner, which this principal does not have"},
    {ONE("{\"id\": \"a\", \"roles\": [\"owner\"], \"units\": [\"Fastighet\"], " READER_IDS "}"),
     "principal 'a': units[0]: 'Fastighet' is not a unit name: use 1-63 characters a-z, 0-9 "
     "and '-', starting with a letter"},
    {ONE("{\"id\": \"a\", \"roles\": [\"owner\"], \"units\": [], " READER_IDS "}"),
     "principal 'a': 'units' must be a non-empty list of strings"},
    {ONE("{\"id\": \"a\", \"roles\": [\"importer\"], " READER_IDS "}"),
     "principal 'a': role importer needs 'sources': the sources it is for"},
    {ONE("{\"id\": \"a\", \"roles\": [\"owner\"], \"units\": [\"x\"], \"sources\": [\"s\"], "
         READER_IDS "}"),
     "principal 'a': 'sources' is only for role importer, which this principal does not have"},
    {ONE("{\"id\": \"a\", \"roles\": [\"importer\"], \"sources\": [\"9lives\"], " READER_IDS "}"),
     "principal 'a': sources[0]: '9lives' is not a source name: use 1-63 characters a-z, 0-9 "
     "and '-', starting with a letter"},
    {ONE("{\"id\": \"a\", \"roles\": [\"reader\"], \"cleared\": \"yes\", " READER_IDS "}"),
     "principal 'a': 'cleared' must be true or false"},
    {ONE("{\"id\": \"a\", \"roles\": [\"reader\"]}"),
     "principal 'a': 'identities' is required: a list of {\"cert\": NAME} and "
     "{\"token\": \"sha256:HEX\"}"},
    {ONE("{\"id\": \"a\", \"roles\": [\"reader\"], \"identities\": "
         "[{\"cert\": \"c\", \"token\": \"" ABC_HASH "\"}]}"),
     "principal 'a': identities[0]: give an object with exactly one key, 'cert' or 'token'"},
    {ONE("{\"id\": \"a\", \"roles\": [\"reader\"], \"identities\": [{\"san\": \"c\"}]}"),
     "principal 'a': identities[0]: unknown key 'san'; allowed keys are 'cert' or 'token'"},
    {ONE("{\"id\": \"a\", \"roles\": [\"reader\"], \"identities\": [{\"cert\": \"\"}]}"),
     "principal 'a': identities[0]: 'cert' must be a client certificate's subject alternative "
     "name or common name: 1-255 bytes of UTF-8 without control characters"},
    {ONE("{\"id\": \"a\", \"roles\": [\"reader\"], \"identities\": "
         "[{\"token\": \"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\"}]}"),
     "principal 'a': identities[0]: 'token' must be \"sha256:\" and 64 hex digits, as printed "
     "by `valvd token new`"},
    {ONE("{\"id\": \"a\", \"roles\": [\"reader\"], \"identities\": "
         "[{\"token\": \"sha256:ba7816bf\"}]}"),
     "principal 'a': identities[0]: 'token' must be \"sha256:\" and 64 hex digits, as printed "
     "by `valvd token new`"},
    {ONE("{\"id\": \"a\", \"roles\": [\"reader\"], \"identities\": "
         "[{\"token\": \"sha256:za7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\"}]}"),
     "principal 'a': identities[0]: 'token' must be \"sha256:\" and 64 hex digits, as printed "
     "by `valvd token new`"},
    {ONE("{\"id\": \"a\", \"roles\": [\"reader\"], " READER_IDS "},"
         "{\"id\": \"a\", \"roles\": [\"auditor\"], \"identities\": [{\"cert\": \"b\"}]}"),
     "principal 'a': the id is used twice (principals[0] and [1])"},
    {ONE("{\"id\": \"a\", \"roles\": [\"reader\"], " READER_IDS "},"
         "{\"id\": \"b\", \"roles\": [\"auditor\"], " READER_IDS "}"),
     "principal 'b': identities[0]: cert 'r' is already the identity of principal 'a'"},
    {ONE("{\"id\": \"a\", \"roles\": [\"reader\"], \"identities\": "
         "[{\"cert\": \"r\"}, {\"cert\": \"r\"}]}"),
     "principal 'a': identities[1]: cert 'r' is already the identity of principal 'a'"},
    {ONE("{\"id\": \"a\", \"roles\": [\"reader\"], \"identities\": [{\"token\": \"" ABC_HASH "\"}]},"
         "{\"id\": \"b\", \"roles\": [\"reader\"], \"identities\": [{\"token\": \"" ABC_HASH "\"}]}"),
     "principal 'b': identities[0]: this token is already the identity of principal 'a'"},
};

START_TEST(bad_file_is_refused_with_a_message_naming_the_key)
{
    principals *set = NULL;
    ck_assert_int_eq(load_text(bad_cases[_i].file, &set), VALV_EINVAL);
    ck_assert_ptr_null(set);
    char expected[VALV_ERROR_MESSAGE_MAX];
    snprintf(expected, sizeof expected, "%s: %s", path, bad_cases[_i].message);
    ck_assert_str_eq(err.message, expected);
}
END_TEST

START_TEST(duplicate_json_key_is_refused)
{
    principals *set = NULL;
    ck_assert_int_eq(load_text(ONE("{\"id\": \"a\", \"id\": \"b\", \"roles\": [\"reader\"], "
                                   READER_IDS "}"),
                               &set),
                     VALV_EINVAL);
    ck_assert_msg(strstr(err.message, "duplicate object key") != NULL, "%s", err.message);
    ck_assert_msg(strncmp(err.message, path, strlen(path)) == 0, "%s", err.message);
}
END_TEST

START_TEST(syntax_error_names_line_and_column)
{
    principals *set = NULL;
    ck_assert_int_eq(load_text("{\"principals\": [\n  {\"id\": \"a\",,}\n]}", &set), VALV_EINVAL);
    char prefix[128];
    snprintf(prefix, sizeof prefix, "%s:2:", path);
    ck_assert_msg(strncmp(err.message, prefix, strlen(prefix)) == 0, "%s", err.message);
}
END_TEST

START_TEST(missing_file_is_named)
{
    principals *set = NULL;
    ck_assert_int_eq(principals_load("/nonexistent/principals.json", &set, &err), VALV_EINVAL);
    ck_assert_msg(strstr(err.message, "/nonexistent/principals.json") != NULL, "%s", err.message);
    ck_assert_ptr_null(set);
}
END_TEST

/* ---- lookup -------------------------------------------------------------------------- */

START_TEST(token_lookup_finds_only_the_exact_token)
{
    principals *set = NULL;
    ck_assert_int_eq(load_text(good_file, &set), VALV_OK);

    const principal *p = principals_find_by_token(set, "abc");
    ck_assert_ptr_nonnull(p);
    ck_assert_str_eq(p->id, "anna");
    p = principals_find_by_token(set, "other-token");
    ck_assert_ptr_nonnull(p);
    ck_assert_str_eq(p->id, "cmdb-nightly");

    ck_assert_ptr_null(principals_find_by_token(set, "abd"));
    ck_assert_ptr_null(principals_find_by_token(set, "ab"));    /* same prefix, shorter */
    ck_assert_ptr_null(principals_find_by_token(set, "abcd"));  /* same prefix, longer */
    ck_assert_ptr_null(principals_find_by_token(set, "ABC"));
    ck_assert_ptr_null(principals_find_by_token(set, ""));
    /* The stored text is not itself a token. */
    ck_assert_ptr_null(principals_find_by_token(set, ABC_HASH));
    principals_unref(set);
}
END_TEST

START_TEST(cert_lookup_is_exact)
{
    principals *set = NULL;
    ck_assert_int_eq(load_text(good_file, &set), VALV_OK);
    const principal *p = principals_find_by_cert(set, "anna.clients.valv.test");
    ck_assert_ptr_nonnull(p);
    ck_assert_str_eq(p->id, "anna");
    ck_assert_ptr_null(principals_find_by_cert(set, "anna.clients.valv"));
    ck_assert_ptr_null(principals_find_by_cert(set, "anna.clients.valv.test.evil"));
    ck_assert_ptr_null(principals_find_by_cert(set, "anna"));
    /* A token is not a certificate name, nor the other way round. */
    ck_assert_ptr_null(principals_find_by_cert(set, "abc"));
    ck_assert_ptr_null(principals_find_by_token(set, "anna.clients.valv.test"));
    principals_unref(set);
}
END_TEST

/* ---- tokens -------------------------------------------------------------------------- */

START_TEST(hash_text_is_sha256_in_lower_case_hex)
{
    char text[PRINCIPALS_TOKEN_HASH_TEXT_SIZE];
    principals_token_hash_text("abc", text);
    ck_assert_str_eq(text, ABC_HASH);
}
END_TEST

START_TEST(new_token_is_43_base64url_characters_and_fresh)
{
    char a[PRINCIPALS_TOKEN_SIZE], b[PRINCIPALS_TOKEN_SIZE];
    char a_hash[PRINCIPALS_TOKEN_HASH_TEXT_SIZE], b_hash[PRINCIPALS_TOKEN_HASH_TEXT_SIZE];
    ck_assert_int_eq(principals_token_new(a, a_hash, &err), VALV_OK);
    ck_assert_int_eq(principals_token_new(b, b_hash, &err), VALV_OK);
    ck_assert_uint_eq(strlen(a), 43);
    ck_assert_uint_eq(strspn(a, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                "0123456789-_"),
                      43);
    ck_assert_str_ne(a, b);
    char expected[PRINCIPALS_TOKEN_HASH_TEXT_SIZE];
    principals_token_hash_text(a, expected);
    ck_assert_str_eq(a_hash, expected);
}
END_TEST

START_TEST(new_token_authenticates_once_its_line_is_in_the_file)
{
    char token[PRINCIPALS_TOKEN_SIZE], hash[PRINCIPALS_TOKEN_HASH_TEXT_SIZE];
    ck_assert_int_eq(principals_token_new(token, hash, &err), VALV_OK);
    char file[512];
    snprintf(file, sizeof file,
             "{\"principals\": [{\"id\": \"job\", \"roles\": [\"importer\"],"
             " \"sources\": [\"servicenow\"], \"identities\": [{\"token\": \"%s\"}]}]}",
             hash);
    principals *set = NULL;
    ck_assert_msg(load_text(file, &set) == VALV_OK, "%s", err.message);
    const principal *p = principals_find_by_token(set, token);
    ck_assert_ptr_nonnull(p);
    ck_assert_str_eq(p->id, "job");
    principals_unref(set);
}
END_TEST

/* ---- reload: the holder ------------------------------------------------------------------ */

START_TEST(broken_reload_keeps_the_old_set)
{
    principals *first = NULL;
    ck_assert_int_eq(load_text(good_file, &first), VALV_OK);
    principals_holder *holder = principals_holder_new(first);
    ck_assert_ptr_nonnull(holder);

    write_file(ONE("{\"id\": \"anna\", \"role\": [\"owner\"]}"));
    ck_assert_int_eq(principals_holder_reload(holder, path, &err), VALV_EINVAL);
    ck_assert_msg(strstr(err.message, "unknown key 'role'") != NULL, "%s", err.message);

    principals *current = principals_holder_get(holder);
    ck_assert_ptr_eq(current, first);
    ck_assert_ptr_nonnull(principals_find_by_token(current, "abc"));
    principals_unref(current);
    principals_holder_free(holder);
}
END_TEST

START_TEST(good_reload_swaps_while_calls_keep_their_set)
{
    principals *first = NULL;
    ck_assert_int_eq(load_text(good_file, &first), VALV_OK);
    principals_holder *holder = principals_holder_new(first);

    /* A call in flight took the set before the reload. */
    principals *in_flight = principals_holder_get(holder);
    const principal *anna = principals_find_by_token(in_flight, "abc");
    ck_assert_ptr_nonnull(anna);

    write_file(ONE("{\"id\": \"lena\", \"roles\": [\"reader\"],"
                   " \"identities\": [{\"token\": \"" OTHER_HASH "\"}]}"));
    ck_assert_msg(principals_holder_reload(holder, path, &err) == VALV_OK, "%s", err.message);

    principals *after = principals_holder_get(holder);
    ck_assert_ptr_null(principals_find_by_token(after, "abc")); /* anna's token is gone */
    ck_assert_str_eq(principals_find_by_token(after, "other-token")->id, "lena");
    principals_unref(after);

    /* The old set and its principals live on until the call lets go
     * (ASan would report a use after free otherwise). */
    ck_assert_str_eq(anna->id, "anna");
    ck_assert(principal_owns_unit(anna, "fastighetsnamnden"));
    principals_holder_free(holder);
    ck_assert_str_eq(anna->id, "anna");
    principals_unref(in_flight);
}
END_TEST

/* Readers take and drop the current set while the main thread swaps. */
static void *take_sets(void *arg)
{
    principals_holder *holder = arg;
    for (int i = 0; i < 20000; i++) {
        principals *set = principals_holder_get(holder);
        if (principals_find_by_cert(set, "anna.clients.valv.test") == NULL)
            return (void *)1;
        principals_unref(set);
    }
    return NULL;
}

START_TEST(get_and_swap_from_many_threads)
{
    principals *first = NULL;
    ck_assert_int_eq(load_text(good_file, &first), VALV_OK);
    principals_holder *holder = principals_holder_new(first);

    enum { READERS = 4 };
    pthread_t threads[READERS];
    for (int i = 0; i < READERS; i++)
        ck_assert_int_eq(pthread_create(&threads[i], NULL, take_sets, holder), 0);
    for (int i = 0; i < 200; i++)
        ck_assert_int_eq(principals_holder_reload(holder, path, &err), VALV_OK);
    for (int i = 0; i < READERS; i++) {
        void *result;
        ck_assert_int_eq(pthread_join(threads[i], &result), 0);
        ck_assert_ptr_null(result);
    }
    principals_holder_free(holder);
}
END_TEST

static Suite *principals_suite(void)
{
    Suite *s = suite_create("principals");

    TCase *example = tcase_create("example");
    tcase_add_test(example, example_file_loads_with_one_principal_per_role);
    suite_add_tcase(s, example);

    TCase *load = tcase_create("load");
    tcase_add_checked_fixture(load, setup, teardown);
    tcase_add_test(load, loads_roles_scopes_and_clearance);
    tcase_add_test(load, cleared_defaults_to_false);
    tcase_add_test(load, token_hash_accepts_upper_case_hex);
    tcase_add_loop_test(load, bad_file_is_refused_with_a_message_naming_the_key, 0,
                        sizeof bad_cases / sizeof bad_cases[0]);
    tcase_add_test(load, duplicate_json_key_is_refused);
    tcase_add_test(load, syntax_error_names_line_and_column);
    tcase_add_test(load, missing_file_is_named);
    suite_add_tcase(s, load);

    TCase *lookup = tcase_create("lookup");
    tcase_add_checked_fixture(lookup, setup, teardown);
    tcase_add_test(lookup, token_lookup_finds_only_the_exact_token);
    tcase_add_test(lookup, cert_lookup_is_exact);
    suite_add_tcase(s, lookup);

    TCase *tokens = tcase_create("tokens");
    tcase_add_checked_fixture(tokens, setup, teardown);
    tcase_add_test(tokens, hash_text_is_sha256_in_lower_case_hex);
    tcase_add_test(tokens, new_token_is_43_base64url_characters_and_fresh);
    tcase_add_test(tokens, new_token_authenticates_once_its_line_is_in_the_file);
    suite_add_tcase(s, tokens);

    TCase *reload = tcase_create("reload");
    tcase_add_checked_fixture(reload, setup, teardown);
    tcase_add_test(reload, broken_reload_keeps_the_old_set);
    tcase_add_test(reload, good_reload_swaps_while_calls_keep_their_set);
    tcase_add_test(reload, get_and_swap_from_many_threads);
    tcase_set_timeout(reload, 60);
    suite_add_tcase(s, reload);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(principals_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failures = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failures ? 1 : 0;
}
