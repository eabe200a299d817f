/* test_pagetoken.c - page tokens: round trip, and refusal of anything altered. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "limits.h"
#include "pagetoken.h"

static const char not_ours[] = "page_token: not a page token from this server";
static const char other_query[] =
    "page_token: page_token belongs to a different filter, order_by or show_deleted";

static unsigned char key[PAGETOKEN_KEY_LEN];
static unsigned char digest[PAGETOKEN_DIGEST_LEN];
static const char cursor[] = "personalnamnden\0assets/payroll"; /* binary is fine */
static valv_error err;

static void setup(void)
{
    for (int i = 0; i < PAGETOKEN_KEY_LEN; i++)
        key[i] = (unsigned char)(i * 7 + 1);
    pagetoken_query_digest("kind = IT_SYSTEM", "display_name", false, digest);
    valv_error_clear(&err);
}

static char *make_token(const void *data, size_t len)
{
    char *token = NULL;
    ck_assert_int_eq(pagetoken_encode(key, digest, data, len, &token, &err), VALV_OK);
    ck_assert_ptr_nonnull(token);
    return token;
}

/* Decodes token, which must be refused with message. */
static void expect_refused(const unsigned char *with_key, const unsigned char *with_digest,
                           const char *token, const char *message)
{
    unsigned char out[PAGETOKEN_CURSOR_MAX];
    size_t out_len = 99;
    valv_error_clear(&err);
    int rc = pagetoken_decode(with_key, with_digest, token, out, sizeof out, &out_len, &err);
    ck_assert_msg(rc == VALV_EINVAL, "token [%s] gave %d, not INVALID_ARGUMENT", token, rc);
    ck_assert_int_eq(out_len, 0);
    ck_assert_int_eq(err.n_violations, 1);
    ck_assert_str_eq(err.violations[0].field, "page_token");
    ck_assert_msg(strncmp(err.message, message, strlen(message)) == 0,
                  "token [%s]: message [%s], expected [%s]", token, err.message, message);
}

START_TEST(round_trip)
{
    const size_t lengths[] = {0, 1, 2, 3, sizeof cursor, PAGETOKEN_CURSOR_MAX};
    unsigned char data[PAGETOKEN_CURSOR_MAX];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (unsigned char)(i * 31);
    memcpy(data, cursor, sizeof cursor);

    for (size_t i = 0; i < sizeof lengths / sizeof lengths[0]; i++) {
        char *token = make_token(data, lengths[i]);
        ck_assert_uint_le(strlen(token), VALV_PAGE_TOKEN_MAX);
        /* base64url without padding: safe in URLs and command lines */
        ck_assert_uint_eq(strspn(token, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                        "0123456789-_"),
                          strlen(token));
        unsigned char out[PAGETOKEN_CURSOR_MAX];
        size_t out_len = 0;
        ck_assert_int_eq(pagetoken_decode(key, digest, token, out, sizeof out, &out_len, &err),
                         VALV_OK);
        ck_assert_uint_eq(out_len, lengths[i]);
        ck_assert(memcmp(out, data, lengths[i]) == 0);
        free(token);
    }
}
END_TEST

START_TEST(oversized_cursor_refused)
{
    char data[PAGETOKEN_CURSOR_MAX + 1] = {0};
    char *token = (char *)"unchanged";
    ck_assert_int_ne(pagetoken_encode(key, digest, data, sizeof data, &token, &err), VALV_OK);
    ck_assert_ptr_null(token);
}
END_TEST

START_TEST(every_altered_character_refused)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=+/.";
    char *token = make_token(cursor, sizeof cursor);
    size_t len = strlen(token);
    for (size_t i = 0; i < len; i++) {
        char original = token[i];
        for (const char *c = alphabet; *c != '\0'; c++) {
            if (*c == original)
                continue;
            token[i] = *c;
            expect_refused(key, digest, token, not_ours);
        }
        token[i] = original;
    }
    free(token);
}
END_TEST

/* Bytes of a token through OpenSSL's standard base64, independently of
 * pagetoken.c: translate the alphabet and restore the padding. */
static size_t token_bytes(const char *token, unsigned char *out)
{
    char padded[VALV_PAGE_TOKEN_MAX + 4];
    size_t len = strlen(token);
    size_t pads = 0;
    for (size_t i = 0; i < len; i++)
        padded[i] = token[i] == '-' ? '+' : token[i] == '_' ? '/' : token[i];
    while ((len + pads) % 4 != 0)
        padded[len + pads++] = '=';
    int n = EVP_DecodeBlock(out, (const unsigned char *)padded, (int)(len + pads));
    ck_assert_int_gt(n, 0);
    return (size_t)n - pads; /* EVP_DecodeBlock counts padding as zero bytes */
}

static char *bytes_token(const unsigned char *raw, size_t len)
{
    char *token = malloc(4 * (len + 2) / 3 + 1);
    ck_assert_ptr_nonnull(token);
    int n = EVP_EncodeBlock((unsigned char *)token, raw, (int)len);
    while (n > 0 && token[n - 1] == '=')
        n--;
    token[n] = '\0';
    for (int i = 0; i < n; i++)
        token[i] = token[i] == '+' ? '-' : token[i] == '/' ? '_' : token[i];
    return token;
}

START_TEST(every_altered_byte_refused)
{
    char *token = make_token(cursor, sizeof cursor);
    unsigned char raw[VALV_PAGE_TOKEN_MAX];
    size_t len = token_bytes(token, raw);

    /* The encoding is the standard one. */
    char *same = bytes_token(raw, len);
    ck_assert_str_eq(same, token);
    free(same);

    /* The HMAC covers version, digest, cursor and tag alike. */
    for (size_t i = 0; i < len; i++) {
        for (int bit = 0; bit < 8; bit++) {
            raw[i] ^= (unsigned char)(1u << bit);
            char *altered = bytes_token(raw, len);
            expect_refused(key, digest, altered, not_ours);
            free(altered);
            raw[i] ^= (unsigned char)(1u << bit);
        }
    }
    free(token);
}
END_TEST

START_TEST(truncation_refused)
{
    char *token = make_token(cursor, sizeof cursor);
    for (size_t len = strlen(token); len-- > 0;) {
        token[len] = '\0';
        expect_refused(key, digest, token, not_ours);
    }
    free(token);
}
END_TEST

START_TEST(extension_refused)
{
    char *token = make_token(cursor, sizeof cursor);
    size_t len = strlen(token);
    char *longer = malloc(len + 2);
    ck_assert_ptr_nonnull(longer);
    memcpy(longer, token, len);
    longer[len + 1] = '\0';
    for (const char *c = "AQgw_-"; *c != '\0'; c++) {
        longer[len] = *c;
        expect_refused(key, digest, longer, not_ours);
    }
    free(longer);
    free(token);
}
END_TEST

START_TEST(other_query_refused_with_reason)
{
    const struct {
        const char *filter;
        const char *order_by;
        bool show_deleted;
    } others[] = {
        {"kind = FACILITY", "display_name", false},
        {"kind = IT_SYSTEM", "update_time", false},
        {"kind = IT_SYSTEM", "display_name", true},
        {"kind = IT_SYSTEMdisplay_name", "", false}, /* parts do not run together */
        {NULL, NULL, false},
    };
    char *token = make_token(cursor, sizeof cursor);
    for (size_t i = 0; i < sizeof others / sizeof others[0]; i++) {
        unsigned char other[PAGETOKEN_DIGEST_LEN];
        pagetoken_query_digest(others[i].filter, others[i].order_by, others[i].show_deleted,
                               other);
        ck_assert(memcmp(other, digest, sizeof other) != 0);
        expect_refused(key, other, token, other_query);
    }
    /* The same query gives the same digest, so the token still works. */
    unsigned char same[PAGETOKEN_DIGEST_LEN];
    pagetoken_query_digest("kind = IT_SYSTEM", "display_name", false, same);
    unsigned char out[PAGETOKEN_CURSOR_MAX];
    size_t out_len;
    ck_assert_int_eq(pagetoken_decode(key, same, token, out, sizeof out, &out_len, &err),
                     VALV_OK);
    free(token);
}
END_TEST

START_TEST(wrong_key_refused)
{
    unsigned char other_key[PAGETOKEN_KEY_LEN];
    memcpy(other_key, key, sizeof other_key);
    other_key[PAGETOKEN_KEY_LEN - 1] ^= 0x80;
    char *token = make_token(cursor, sizeof cursor);
    expect_refused(other_key, digest, token, not_ours);
    free(token);
}
END_TEST

START_TEST(garbage_refused)
{
    char *huge = malloc(VALV_PAGE_TOKEN_MAX + 2);
    ck_assert_ptr_nonnull(huge);
    memset(huge, 'A', VALV_PAGE_TOKEN_MAX + 1);
    huge[VALV_PAGE_TOKEN_MAX + 1] = '\0';
    const char *const garbage[] = {
        "",
        "A",
        "AAAA",
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "not a token",
        "eyJwYWdlIjogMn0",                 /* {"page": 2} */
        "AQ==",                            /* padded */
        "AQID+/",                          /* standard base64 alphabet */
        "\xc3\xa5\xc3\xa4\xc3\xb6",        /* UTF-8 */
        huge,
    };
    for (size_t i = 0; i < sizeof garbage / sizeof garbage[0]; i++)
        expect_refused(key, digest, garbage[i], not_ours);
    expect_refused(key, digest, NULL, not_ours);
    free(huge);
}
END_TEST

START_TEST(small_cursor_buffer_is_an_internal_error)
{
    char *token = make_token(cursor, sizeof cursor);
    unsigned char out[4];
    size_t out_len = 0;
    ck_assert_int_eq(pagetoken_decode(key, digest, token, out, sizeof out, &out_len, &err),
                     VALV_EINTERNAL);
    ck_assert_uint_eq(out_len, 0);
    free(token);
}
END_TEST

static Suite *pagetoken_suite(void)
{
    Suite *s = suite_create("pagetoken");
    const struct {
        const char *name;
        const TTest *tests[8];
    } groups[] = {
        {"round_trip",
         {round_trip, oversized_cursor_refused, small_cursor_buffer_is_an_internal_error}},
        {"tampering",
         {every_altered_character_refused, every_altered_byte_refused, truncation_refused,
          extension_refused, wrong_key_refused, garbage_refused}},
        {"query", {other_query_refused_with_reason}},
    };

    for (size_t g = 0; g < sizeof groups / sizeof groups[0]; g++) {
        TCase *tc = tcase_create(groups[g].name);
        tcase_add_checked_fixture(tc, setup, NULL);
        for (int t = 0; groups[g].tests[t] != NULL; t++)
            tcase_add_test(tc, groups[g].tests[t]);
        suite_add_tcase(s, tc);
    }
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(pagetoken_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failures = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failures ? 1 : 0;
}
