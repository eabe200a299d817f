/* fuzz_pagetoken.c - the page-token decoder (store/pagetoken.h).
 *
 * Input: bytes used twice.
 *   - As a token (up to a NUL): decoding must refuse it on the field
 *     "page_token", or, when it is authentic under the harness's key,
 *     give a cursor that encodes back to exactly the same token (tokens
 *     have one form only).
 *   - As a cursor (the first PAGETOKEN_CURSOR_MAX bytes): its token must
 *     decode back to it, be refused for another query, and be refused
 *     with any one character changed.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "invariants.h"
#include "pagetoken.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The seeds in corpus/pagetoken/ that are authentic were made with this key. */
static const unsigned char key[PAGETOKEN_KEY_LEN];

static const char base64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Decodes token under digest into cursor; checks the error's shape. */
static int decode(const unsigned char digest[PAGETOKEN_DIGEST_LEN], const char *token,
                  unsigned char cursor[PAGETOKEN_CURSOR_MAX], size_t *cursor_len)
{
    valv_error err;
    valv_error_clear(&err);
    int rc = pagetoken_decode(key, digest, token, cursor, PAGETOKEN_CURSOR_MAX, cursor_len, &err);
    invariant_error(rc, &err);
    invariant(rc == VALV_OK ||
                  (rc == VALV_EINVAL && strcmp(err.violations[0].field, "page_token") == 0),
              "a refused page token is not INVALID_ARGUMENT on page_token");
    return rc;
}

static char *encode(const unsigned char digest[PAGETOKEN_DIGEST_LEN], const void *cursor,
                    size_t len)
{
    char *token = NULL;
    valv_error err;
    valv_error_clear(&err);
    int rc = pagetoken_encode(key, digest, cursor, len, &token, &err);
    invariant_error(rc, &err);
    invariant(rc == VALV_OK, "a cursor within PAGETOKEN_CURSOR_MAX does not encode");
    return token;
}

static void check_as_token(const unsigned char digest[PAGETOKEN_DIGEST_LEN], const uint8_t *data,
                           size_t size)
{
    unsigned char cursor[PAGETOKEN_CURSOR_MAX];
    size_t cursor_len = 0;
    char *token = malloc(size + 1);
    if (token == NULL)
        abort();
    memcpy(token, data, size);
    token[size] = '\0';
    if (decode(digest, token, cursor, &cursor_len) == VALV_OK) {
        char *again = encode(digest, cursor, cursor_len);
        invariant(strcmp(again, token) == 0, "two tokens decode to the same cursor");
        free(again);
    }
    free(token);
}

static void check_as_cursor(const unsigned char digest[PAGETOKEN_DIGEST_LEN],
                            const unsigned char other[PAGETOKEN_DIGEST_LEN], const uint8_t *data,
                            size_t size)
{
    unsigned char cursor[PAGETOKEN_CURSOR_MAX];
    size_t cursor_len = 0, len = size < PAGETOKEN_CURSOR_MAX ? size : PAGETOKEN_CURSOR_MAX;
    char *token = encode(digest, data, len);

    invariant(decode(digest, token, cursor, &cursor_len) == VALV_OK && cursor_len == len &&
                  memcmp(cursor, data, len) == 0,
              "a token does not decode to its cursor");
    invariant(decode(other, token, cursor, &cursor_len) != VALV_OK,
              "a token is accepted for another query");
    /* Change one character, chosen by the input, to another one. */
    size_t at = (len > 0 ? data[0] * 31u + data[len - 1] : 0) % strlen(token);
    const char *was = strchr(base64url, token[at]);
    invariant(was != NULL, "a token character that is not base64url");
    token[at] = base64url[(was - base64url + 1 + (len > 1 ? data[1] % 63 : 0)) % 64];
    invariant(decode(digest, token, cursor, &cursor_len) != VALV_OK,
              "a token with a character changed is accepted");
    free(token);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned char digest[PAGETOKEN_DIGEST_LEN], other[PAGETOKEN_DIGEST_LEN];
    pagetoken_query_digest("kind = IT_SYSTEM", "display_name", false, digest);
    pagetoken_query_digest("kind = IT_SYSTEM", "display_name", true, other);
    check_as_token(digest, data, size);
    check_as_cursor(digest, other, data, size);
    return 0;
}
