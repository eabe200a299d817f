/* filter.h - AIP-160 filters over assets.
 *
 * Grammar (AIP-160 subset):
 *   expr    := seq { "AND" seq }            (an AND of sequences)
 *   seq     := factor { factor }            (juxtaposition is AND too)
 *   factor  := term { "OR" term }           (OR binds tighter than AND, per AIP-160)
 *   term    := [ "NOT" | "-" ] simple
 *   simple  := "(" expr ")" | comparison | value
 *   comparison := field op value ; op is = != < <= > >= :
 * Values are bare words (IT_SYSTEM, 3, true, fastighetsnamnden) or quoted
 * strings ("Stadshuset *", with \" and \\ escapes). A bare value with no
 * field matches assets whose display_name, description, owner or external_id
 * contains it (case-insensitive).
 *
 * Fields: name, kind, display_name, description, owner_unit, owner, source,
 * external_id, labels, attributes.KEY, attributes, update_time, create_time,
 * delete_time, revision, classification.{confidentiality,integrity,
 * availability,traceability}, effective.{confidentiality,integrity,
 * availability,traceability,security_class,security_sensitive}, flagged,
 * security.{security_class,security_sensitive,protected_object},
 * review.state, review.overdue.
 *
 * Semantics: string "=" is exact, with "*" matching any run of characters
 * ("Pers*"); ":" on a string is a case-insensitive substring test; on labels
 * ":" (and "=") means "contains the label"; "attributes:KEY" means "has the
 * key"; "attributes.KEY = V" compares the value (a missing key never
 * matches, except with "!="). Levels take the level number 0-4 or the enum
 * name (SERIOUS), security classes the enum name, kinds the enum name, times
 * RFC 3339 ("2026-01-01T00:00:00Z"), booleans true/false.
 */
#ifndef VALV_FILTER_H
#define VALV_FILTER_H

#include <stdbool.h>

#include "error.h"
#include "valv/v1/asset.pb-c.h"

typedef struct filter filter; /* opaque: a parsed filter */

/* Parses text. Empty or all-blank text gives *out = NULL, which matches
 * everything. On error returns VALV_EINVAL with a message naming the 1-based
 * character position and the offending token, e.g.
 *   filter: at position 14: expected a value after '=', found 'AND'
 * and one violation on the field "filter". Text longer than VALV_FILTER_MAX
 * or nested deeper than VALV_FILTER_DEPTH_MAX is refused likewise.
 * The caller owns *out and frees it with filter_free. */
int filter_parse(const char *text, filter **out, valv_error *err);

/* True when asset matches f (always true for f == NULL). now_unix is the
 * current time in seconds: review.overdue is true for an APPROVED asset
 * whose due_time is at or before it. Borrowed arguments; no allocation. */
bool filter_match(const filter *f, const Valv__V1__Asset *asset, long long now_unix);

/* Equalities that every matching asset must satisfy, found at the top
 * level of the filter (an AND chain of "field = literal" with no wildcard),
 * so that store/ can walk an index instead of every asset. Fields absent
 * from the filter are NULL / 0. Strings are borrowed from f. */
typedef struct {
    const char *owner_unit;
    int kind;            /* Valv__V1__AssetKind, 0 when not constrained */
    const char *source;
} filter_hint;
void filter_hint_get(const filter *f, filter_hint *out);

/* Frees f; NULL is fine. */
void filter_free(filter *f);

#endif
