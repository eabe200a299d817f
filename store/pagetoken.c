/* pagetoken.c - opaque, tamper-evident list cursors.
 *
 * A token is base64url (no padding) of
 *
 *   version (1 byte) | query digest (first 16 bytes) | cursor | tag (16 bytes)
 *
 * where tag is HMAC-SHA-256 under the store's key over everything before it,
 * cut to 16 bytes. Sixteen bytes of digest are plenty to tell queries apart,
 * and sixteen of tag to make forging hopeless, while keeping tokens short.
 */
#include "pagetoken.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "limits.h"

#define TOKEN_VERSION 1
#define TOKEN_DIGEST_LEN 16
#define TOKEN_TAG_LEN 16
#define TOKEN_HEADER_LEN (1 + TOKEN_DIGEST_LEN)
#define TOKEN_RAW_MAX (TOKEN_HEADER_LEN + PAGETOKEN_CURSOR_MAX + TOKEN_TAG_LEN)

/* Base64url of n bytes without padding. */
#define ENCODED_LEN(n) (((n) * 4 + 2) / 3)

_Static_assert(ENCODED_LEN(TOKEN_RAW_MAX) <= VALV_PAGE_TOKEN_MAX,
               "the largest page token must fit VALV_PAGE_TOKEN_MAX");

static const char base64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static const char *const not_ours = "not a page token from this server";

/* Writes ENCODED_LEN(len) characters and a NUL to out. */
static void encode_base64url(const unsigned char *in, size_t len, char *out)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i += 3) {
        unsigned long group = (unsigned long)in[i] << 16;
        if (i + 1 < len)
            group |= (unsigned long)in[i + 1] << 8;
        if (i + 2 < len)
            group |= in[i + 2];
        size_t chars = len - i >= 3 ? 4 : len - i + 1; /* 1 byte: 2 chars, 2 bytes: 3 */
        for (size_t c = 0; c < chars; c++)
            out[n++] = base64url[(group >> (18 - 6 * c)) & 0x3F];
    }
    out[n] = '\0';
}

static int base64url_value(char c)
{
    const char *at = c == '\0' ? NULL : strchr(base64url, c);
    return at == NULL ? -1 : (int)(at - base64url);
}

/* Decodes text (len characters) into out (room for len * 3 / 4 bytes).
 * Only the canonical form is accepted: a length that is 1 mod 4 is
 * impossible, and the unused low bits of the last character must be zero,
 * so that no two tokens decode to the same bytes. */
static bool decode_base64url(const char *text, size_t len, unsigned char *out, size_t *out_len)
{
    unsigned long bits = 0;
    int n_bits = 0;
    size_t n = 0;
    if (len % 4 == 1)
        return false;
    for (size_t i = 0; i < len; i++) {
        int value = base64url_value(text[i]);
        if (value < 0)
            return false;
        bits = (bits << 6) | (unsigned long)value;
        n_bits += 6;
        if (n_bits >= 8) {
            n_bits -= 8;
            out[n++] = (unsigned char)(bits >> n_bits);
            bits &= (1ul << n_bits) - 1;
        }
    }
    if (bits != 0) /* leftover bits: not what encode_base64url writes */
        return false;
    *out_len = n;
    return true;
}

/* The tag of payload[0..len); false if OpenSSL fails. */
static bool compute_tag(const unsigned char key[PAGETOKEN_KEY_LEN], const unsigned char *payload,
                        size_t len, unsigned char tag[TOKEN_TAG_LEN])
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    if (HMAC(EVP_sha256(), key, PAGETOKEN_KEY_LEN, payload, len, mac, &mac_len) == NULL ||
        mac_len < TOKEN_TAG_LEN)
        return false;
    memcpy(tag, mac, TOKEN_TAG_LEN);
    return true;
}

void pagetoken_query_digest(const char *filter, const char *order_by, bool show_deleted,
                            unsigned char out[PAGETOKEN_DIGEST_LEN])
{
    /* Each string goes in with its NUL, so ("ab", "c") and ("a", "bc")
     * differ: C strings cannot hold a NUL themselves. */
    const char *parts[] = {filter != NULL ? filter : "", order_by != NULL ? order_by : ""};
    unsigned char flag = show_deleted ? 1 : 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    bool ok = ctx != NULL && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1;
    for (size_t i = 0; i < 2 && ok; i++)
        ok = EVP_DigestUpdate(ctx, parts[i], strlen(parts[i]) + 1) == 1;
    ok = ok && EVP_DigestUpdate(ctx, &flag, 1) == 1 && EVP_DigestFinal_ex(ctx, out, NULL) == 1;
    if (!ok) /* cannot happen with the default provider; fail closed */
        memset(out, 0, PAGETOKEN_DIGEST_LEN);
    EVP_MD_CTX_free(ctx);
}

int pagetoken_encode(const unsigned char key[PAGETOKEN_KEY_LEN],
                     const unsigned char digest[PAGETOKEN_DIGEST_LEN],
                     const void *cursor, size_t cursor_len, char **token_out,
                     valv_error *err)
{
    unsigned char raw[TOKEN_RAW_MAX];
    char *token = NULL;
    int rc = 0;

    *token_out = NULL;
    if (cursor_len > PAGETOKEN_CURSOR_MAX) {
        rc = valv_error_set(err, VALV_EINTERNAL, "page token cursor of %zu bytes exceeds %d",
                            cursor_len, PAGETOKEN_CURSOR_MAX);
        goto done;
    }
    size_t payload_len = TOKEN_HEADER_LEN + cursor_len;
    raw[0] = TOKEN_VERSION;
    memcpy(raw + 1, digest, TOKEN_DIGEST_LEN);
    if (cursor_len > 0)
        memcpy(raw + TOKEN_HEADER_LEN, cursor, cursor_len);
    if (!compute_tag(key, raw, payload_len, raw + payload_len)) {
        rc = valv_error_set(err, VALV_EINTERNAL, "cannot compute the page token's HMAC");
        goto done;
    }
    size_t raw_len = payload_len + TOKEN_TAG_LEN;
    token = malloc(ENCODED_LEN(raw_len) + 1);
    if (token == NULL) {
        rc = valv_error_set(err, VALV_EINTERNAL, "out of memory");
        goto done;
    }
    encode_base64url(raw, raw_len, token);
    *token_out = token;

done:
    return rc;
}

int pagetoken_decode(const unsigned char key[PAGETOKEN_KEY_LEN],
                     const unsigned char digest[PAGETOKEN_DIGEST_LEN], const char *token,
                     void *cursor_out, size_t cursor_cap, size_t *cursor_len_out,
                     valv_error *err)
{
    unsigned char raw[VALV_PAGE_TOKEN_MAX]; /* decoding shrinks: ample room */
    unsigned char tag[TOKEN_TAG_LEN];
    size_t raw_len = 0;
    int rc = 0;

    *cursor_len_out = 0;
    size_t len = token == NULL ? 0 : strnlen(token, VALV_PAGE_TOKEN_MAX + 1);
    if (len == 0 || len > VALV_PAGE_TOKEN_MAX || !decode_base64url(token, len, raw, &raw_len) ||
        raw_len < TOKEN_HEADER_LEN + TOKEN_TAG_LEN || raw[0] != TOKEN_VERSION) {
        rc = valv_error_violation(err, "page_token", "%s", not_ours);
        goto done;
    }
    size_t payload_len = raw_len - TOKEN_TAG_LEN;
    if (!compute_tag(key, raw, payload_len, tag)) {
        rc = valv_error_set(err, VALV_EINTERNAL, "cannot compute the page token's HMAC");
        goto done;
    }
    /* Constant time, so that timing does not reveal how much of a forged
     * tag is right. */
    if (CRYPTO_memcmp(tag, raw + payload_len, TOKEN_TAG_LEN) != 0) {
        rc = valv_error_violation(err, "page_token", "%s", not_ours);
        goto done;
    }
    /* Only an authentic token gets this far, so the message may say more. */
    if (memcmp(raw + 1, digest, TOKEN_DIGEST_LEN) != 0) {
        rc = valv_error_violation(err, "page_token",
                                  "page_token belongs to a different filter, order_by or "
                                  "show_deleted; repeat the request that made it or start "
                                  "again without a page_token");
        goto done;
    }
    size_t cursor_len = payload_len - TOKEN_HEADER_LEN;
    if (cursor_len > cursor_cap) {
        rc = valv_error_set(err, VALV_EINTERNAL, "page token cursor of %zu bytes exceeds %zu",
                            cursor_len, cursor_cap);
        goto done;
    }
    if (cursor_len > 0)
        memcpy(cursor_out, raw + TOKEN_HEADER_LEN, cursor_len);
    *cursor_len_out = cursor_len;

done:
    return rc;
}
