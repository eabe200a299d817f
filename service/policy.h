/* policy.h - who may do what, as the store's policy hooks.
 *
 * The rules are authz.h's; this module turns a call's principal into a
 * store_actor whose hooks the store applies inside each write (the unit an
 * asset is in, whether it is visible at all) and on each read. */
#ifndef VALV_POLICY_H
#define VALV_POLICY_H

#include "server.h"
#include "store.h"

/* Fills who for the call: actor (the principal's id), request_id (borrowed,
 * may be NULL) and the hooks, with the call's principal as their data. who
 * is valid while the call is. */
void policy_actor(call *c, const char *request_id, store_actor *who);

/* For imports: IMPORT was checked for the stream's source, which covers the
 * writes the import makes; the hooks are left unset. */
void policy_importer(call *c, const char *request_id, store_actor *who);

/* False when the call's principal may not know the asset exists. */
bool policy_visible(call *c, const Valv__V1__Asset *asset);

#endif
