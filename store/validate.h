/* validate.h - the shape rules of an asset's caller-settable fields.
 *
 * Pure functions over protobuf-c messages: no I/O, no allocation. Every rule
 * broken adds one violation to err (field names relative to the asset, e.g.
 * "display_name", "attributes.hostname", "labels[3]"), so a user sees all
 * their mistakes at once. The limits are in limits.h.
 */
#ifndef VALV_VALIDATE_H
#define VALV_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "valv/v1/asset.pb-c.h"

/* Checks the fields of asset that a caller may set: kind (known value; on
 * create also required), display_name (required on create), description,
 * owner_unit (required on create), owner, classification (known levels,
 * rationale length), security (known class, protected_object only on
 * FACILITY, decision_ref length), attributes, labels, source, external_id
 * (both set or both empty), and valid UTF-8 in every string.
 *
 * for_create: true checks the required fields too. Output-only fields are
 * not looked at. Returns VALV_OK or VALV_EINVAL. asset is borrowed. */
int validate_asset(const Valv__V1__Asset *asset, bool for_create, valv_error *err);

/* Checks a client-chosen asset id against ^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$.
 * field names the request field for the violation ("asset_id"). */
int validate_asset_id(const char *id, const char *field, valv_error *err);

/* Checks an owner unit named in a request (a filter of GetSummary, say)
 * against ^[a-z][a-z0-9-]{0,62}$, the rule of an asset's owner_unit. field
 * names the request field for the violation ("owner_units[2]"). */
int validate_owner_unit(const char *unit, const char *field, valv_error *err);

/* Parses a resource name "assets/{asset_id}" and checks the id. On success
 * *id_out points into name (borrowed, NUL-terminated). field names the
 * request field for the violation ("name", "names[2]"). */
int validate_asset_name(const char *name, const char *field, const char **id_out,
                        valv_error *err);

/* The fields every write request may carry: request_id and etag (either
 * may be NULL: not in this request). Adds violations to err; returns
 * err->code. */
int validate_write_fields(const char *request_id, const char *etag, valv_error *err);

/* The ends and type of a link in a request: from and to as asset names
 * (*from_id and *to_id as validate_asset_name gives them), type one of the
 * link types. prefix goes before each field's name ("link."). Adds
 * violations to err; returns err->code. */
int validate_link_fields(const char *prefix, const char *from, const char *to,
                         Valv__V1__LinkType type, const char **from_id, const char **to_id,
                         valv_error *err);

/* True when s[0..len) is well-formed UTF-8 (no overlongs, no surrogates). */
bool validate_utf8(const char *s, size_t len);

/* Number of code points in a well-formed UTF-8 string. */
size_t validate_utf8_chars(const char *s);

/* Checks a short identifier-like string (request_id, etag, reason): valid
 * UTF-8, at most max bytes, no control characters. */
int validate_text(const char *s, size_t max, const char *field, valv_error *err);

/* Error messages quote at most this many characters of a caller's value. */
#define VALIDATE_EXCERPT_CHARS 40
/* A buffer that holds any excerpt: 4 bytes a character, "..." and NUL. */
#define VALIDATE_EXCERPT_SIZE (VALIDATE_EXCERPT_CHARS * 4 + 4)

/* Writes a printable excerpt of s into buf (VALIDATE_EXCERPT_SIZE bytes) for
 * quoting in an error message: the first VALIDATE_EXCERPT_CHARS characters,
 * then "..." if s was cut; control characters and bytes that are not UTF-8
 * become '?'. Returns buf, so it can be a printf argument. */
const char *validate_excerpt(const char *s, char *buf);

#endif
