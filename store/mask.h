/* mask.h - AIP-134 update masks over an Asset.
 *
 * Paths a caller may name: display_name, description, owner_unit, owner,
 * attributes, attributes.KEY, labels, source, external_id, classification,
 * classification.{confidentiality,integrity,availability,traceability,
 * rationale}, security, security.{security_class,security_sensitive,
 * protected_object,decision_ref}, kind (immutable: accepted only when the
 * value does not change), and "*" (every mutable field). Output-only paths
 * (name, effective..., review..., revision, etag, create_time, update_time,
 * delete_time, create_by, update_by, delete_by) are accepted and ignored.
 * Anything else is INVALID_ARGUMENT naming the path.
 */
#ifndef VALV_MASK_H
#define VALV_MASK_H

#include <stddef.h>

#include "error.h"
#include "valv/v1/asset.pb-c.h"

/* Room enough for every path mask_populated can name. */
#define MASK_POPULATED_MAX 32

/* The mask a request without update_mask means: one path for each populated
 * mutable field of patch (non-empty string, non-zero enum/bool, non-empty map
 * or list, present sub-message: the message's path). The returned array and
 * its strings are static; *n_out is the count. patch is borrowed. */
void mask_populated(const Valv__V1__Asset *patch, const char **paths_out,
                    size_t paths_cap, size_t *n_out);

/* Copies the fields named by paths from patch into target. target must be a
 * heap-owned message (every pointer malloc'd, freeable with
 * valv__v1__asset__free_unpacked); replaced values are freed and new ones
 * deep-copied, so patch stays borrowed and unchanged. A bad path leaves
 * target unchanged (paths are all checked before anything is copied) and
 * err names it ("update_mask.paths[1]"). Out of memory (VALV_EINTERNAL)
 * may leave some of the fields applied: target is still a whole message,
 * to be dropped. */
int mask_apply(Valv__V1__Asset *target, const Valv__V1__Asset *patch,
               const char *const *paths, size_t n_paths, valv_error *err);

#endif
