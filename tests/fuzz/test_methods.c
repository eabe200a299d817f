/* test_methods.c - the request fuzzer covers every RPC valvd serves: its
 * table (requests.c) has exactly the paths of valvd's method table, each
 * with the same request message. Linked with valvd's own objects, so a
 * method added to service/methods.c fails here until the fuzzer knows it. */
#include <check.h>
#include <string.h>

#include "methods.h"
#include "requests.h"

START_TEST(every_method_is_fuzzed)
{
    for (size_t i = 0; i < method_count; i++) {
        const method *m = &method_table[i];
        const fuzz_method *f = fuzz_method_find(m->path, strlen(m->path));
        ck_assert_msg(f != NULL, "%s is not in tests/fuzz/requests.c", m->path);
        ck_assert_msg(f->request == m->request, "%s: requests.c decodes %s, valvd %s", m->path,
                      f->request->name, m->request->name);
    }
}
END_TEST

START_TEST(only_methods_valvd_serves_are_fuzzed)
{
    for (size_t i = 0; i < fuzz_method_count; i++) {
        bool served = false;
        for (size_t k = 0; k < method_count && !served; k++)
            served = strcmp(method_table[k].path, fuzz_methods[i].path) == 0;
        ck_assert_msg(served, "%s is in tests/fuzz/requests.c but valvd does not serve it",
                      fuzz_methods[i].path);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("fuzz_methods");
    TCase *tc = tcase_create("table");
    tcase_add_test(tc, every_method_is_fuzzed);
    tcase_add_test(tc, only_methods_valvd_serves_are_fuzzed);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failures = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failures ? 1 : 0;
}
