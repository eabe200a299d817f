/* authz.h - what a principal may do, and what it may see.
 *
 * The rules are a table in authz.c: each right lists the roles that grant
 * it and whether it holds everywhere or only for the principal's own units
 * (role owner) or sources (role importer):
 *
 *   right       roles                                  scope
 *   READ        reader, owner, security_chief, auditor everywhere
 *   CREATE      owner                                  own units
 *   UPDATE      owner                                  own units
 *   CLASSIFY    owner                                  own units
 *   LINK        owner                                  own units (the from asset's)
 *   DELETE      owner                                  own units (also undelete)
 *   REVIEW      security_chief                         everywhere
 *   IMPORT      importer                               own sources
 *   AUDIT_READ  auditor                                everywhere (events, verify)
 *   ADMIN       admin                                  everywhere (server info, backup)
 *
 * security_chief and auditor are cleared by their role; any principal may be
 * cleared by "cleared": true in the principals file.
 *
 * Need to know: an asset whose effective security class is RESTRICTED or
 * higher (inherited through links included) exists only for principals who
 * are cleared or own its unit. For everyone else the service answers
 * NOT_FOUND and leaves it out of lists, exports and watches.
 *
 * Pure functions: no I/O, no allocation, safe from any thread.
 */
#ifndef VALV_AUTHZ_H
#define VALV_AUTHZ_H

#include <stdbool.h>

#include "error.h"
#include "principals.h"
#include "valv/v1/asset.pb-c.h"

typedef enum {
    AUTHZ_READ,       /* GetAsset, BatchGetAssets, ListAssets, ListLinks, ExportAssets,
                         WatchChanges, GetSummary */
    AUTHZ_CREATE,     /* CreateAsset: the new asset's unit */
    AUTHZ_UPDATE,     /* UpdateAsset: the asset's unit, and the new one when it moves */
    AUTHZ_CLASSIFY,   /* UpdateAsset of classification or security */
    AUTHZ_LINK,       /* CreateLink, DeleteLink: the from asset's unit */
    AUTHZ_DELETE,     /* DeleteAsset, UndeleteAsset */
    AUTHZ_REVIEW,     /* ListReviewQueue, ApproveAsset, ReturnAsset */
    AUTHZ_IMPORT,     /* ImportAssets: the stream's source */
    AUTHZ_AUDIT_READ, /* ListAuditEvents, VerifyAuditLog */
    AUTHZ_ADMIN,      /* GetServerInfo, Backup */
    AUTHZ_RIGHT_COUNT
} authz_right;

/* Checks that p holds right for scope: the unit of the asset concerned
 * (rights scoped by unit), the import source (IMPORT), or ignored (rights
 * that hold everywhere). A NULL scope for a scoped right asks whether p
 * holds it for at least one unit or source: the check to make before
 * looking the asset up, so a caller without the right learns nothing about
 * whether it exists (AIP-193).
 *
 * Returns VALV_OK, or VALV_EPERM with a message that names the principal,
 * the right and the role it needs, never anything about the asset but the
 * scope given: "principal 'anna' may not classify assets of unit
 * 'socialnamnden': needs role owner for that unit". VALV_EINTERNAL for a
 * right outside the table. p and scope are borrowed. */
int authz_check(const principal *p, authz_right right, const char *scope, valv_error *err);

/* True when p may see RESTRICTED and higher everywhere: "cleared" in the
 * principals file, or role security_chief or auditor. */
bool authz_is_cleared(const principal *p);

/* The need-to-know rule: true when p may know that an asset with this
 * effective security class and owner unit exists. */
bool authz_can_see(const principal *p, Valv__V1__SecurityClass effective_security_class,
                   const char *owner_unit);

/* The lower-case name of a right ("classify"), for logs; "unknown" outside
 * the table. Static. */
const char *authz_right_name(authz_right right);

/* The principal of --dev mode: id "dev", every role, cleared, owner and
 * importer everywhere. Static; never freed. */
const principal *authz_dev_principal(void);

#endif
