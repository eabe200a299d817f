#include "page.h"

void page_reply(call *c, int rc, const valv_error *err, store_list_result *result,
                const page_fields *fields)
{
    if (rc != VALV_OK) {
        call_fail(c, err);
    } else {
        *fields->n_assets = result->n_assets;
        *fields->assets = result->assets;
        if (result->next_page_token != NULL)
            *fields->next_page_token = result->next_page_token;
        call_reply(c, fields->message);
    }
    store_list_result_free(result);
}
