/* page.h - answering a list call with a page of assets.
 *
 * ListAssets and ListReviewQueue answer with different messages of the same
 * shape (assets, next_page_token); one function fills either from a store
 * page. */
#ifndef VALV_PAGE_H
#define VALV_PAGE_H

#include "server.h"
#include "store.h"

/* Where a response message keeps its page: pointers into an initialised
 * response (e.g. &resp.n_assets). */
typedef struct {
    ProtobufCMessage *message;
    size_t *n_assets;
    Valv__V1__Asset ***assets;
    char **next_page_token;
} page_fields;

/* Replies with the page when rc is VALV_OK, else fails with err; frees
 * result either way. */
void page_reply(call *c, int rc, const valv_error *err, store_list_result *result,
                const page_fields *fields);

#endif
