/* pagetoken.h - opaque, tamper-evident list cursors (AIP-158).
 *
 * A token carries a cursor (the sort key of the last item returned) and a
 * digest of the query it belongs to, authenticated with HMAC-SHA-256 under a
 * key the store keeps. A token that was altered, truncated, or made for a
 * different filter / order_by / show_deleted is refused, never
 * misinterpreted. Encoding: base64url without padding.
 */
#ifndef VALV_PAGETOKEN_H
#define VALV_PAGETOKEN_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

#define PAGETOKEN_KEY_LEN 32
#define PAGETOKEN_DIGEST_LEN 32
#define PAGETOKEN_CURSOR_MAX 600 /* bytes of cursor; the encoded token stays under VALV_PAGE_TOKEN_MAX */

/* SHA-256 over the parts of a list request that must not change between
 * pages. NULL strings count as empty. */
void pagetoken_query_digest(const char *filter, const char *order_by, bool show_deleted,
                            unsigned char out[PAGETOKEN_DIGEST_LEN]);

/* Makes a token for cursor[0..cursor_len) (at most PAGETOKEN_CURSOR_MAX).
 * *token_out is malloc'd and NUL-terminated; the caller frees it. */
int pagetoken_encode(const unsigned char key[PAGETOKEN_KEY_LEN],
                     const unsigned char digest[PAGETOKEN_DIGEST_LEN],
                     const void *cursor, size_t cursor_len, char **token_out,
                     valv_error *err);

/* Checks token and copies its cursor into cursor_out (capacity cursor_cap).
 * Errors are VALV_EINVAL on the field "page_token": "not a page token from
 * this server" for anything malformed or altered, "page_token belongs to a
 * different filter, order_by or show_deleted" for a digest mismatch. */
int pagetoken_decode(const unsigned char key[PAGETOKEN_KEY_LEN],
                     const unsigned char digest[PAGETOKEN_DIGEST_LEN], const char *token,
                     void *cursor_out, size_t cursor_cap, size_t *cursor_len_out,
                     valv_error *err);

#endif
