/* calls.h - typed calls on single assets, for the end-to-end tests (and
 * those that drive valvd from many threads at once: test_crash, test_race,
 * soak).
 *
 * Each thread brings its own rpc_conn. Every function returns the call's
 * gRPC status (VALV_OK, VALV_EABORTED ...) with err filled, and never
 * asserts, so that it can run off the test's main thread. A returned asset
 * is the caller's (free with valv__v1__asset__free_unpacked); *out is NULL
 * unless the call succeeded. Strings passed in are borrowed.
 */
#ifndef VALV_E2E_CALLS_H
#define VALV_E2E_CALLS_H

#include "rpc.h"
#include "valv/v1/inventory.pb-c.h"

/* How long any one call may take: far more than a commit needs, so that a
 * call only times out when valvd is stuck. */
#define CALLS_TIMEOUT_MS 10000

/* The unit every asset of these tests belongs to. */
#define CALLS_UNIT "drift"

/* Creates assets/ASSET_ID (NULL: an id valvd makes) of kind in unit, with
 * display_name and description (NULL: none), waiting at most timeout_ms.
 * out may be NULL when the caller wants only the status. */
int calls_create_asset(rpc_conn *c, const char *asset_id, Valv__V1__AssetKind kind,
                       const char *unit, const char *display_name, const char *description,
                       int timeout_ms, Valv__V1__Asset **out, valv_error *err);

/* Creates IT system assets/ASSET_ID in CALLS_UNIT with display_name and
 * description (calls_create_asset). */
int calls_create(rpc_conn *c, const char *asset_id, const char *display_name,
                 const char *description, Valv__V1__Asset **out, valv_error *err);

/* Reads name ("assets/ID"). */
int calls_get(rpc_conn *c, const char *name, Valv__V1__Asset **out, valv_error *err);

/* Sets name's description (update mask "description"), only if its etag
 * is still etag (empty: unconditionally). */
int calls_set_description(rpc_conn *c, const char *name, const char *etag,
                          const char *description, Valv__V1__Asset **out, valv_error *err);

/* Links from DEPENDS_ON to (both "assets/ID" of IT systems). */
int calls_link(rpc_conn *c, const char *from, const char *to, valv_error *err);

#endif
