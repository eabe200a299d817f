/* principals.h - who may call valvd: the principals file, loaded and looked up.
 *
 * The principals file is JSON (an example is deploy/principals.example.json):
 *
 *   {"principals": [
 *     {"id": "anna",
 *      "roles": ["owner"],
 *      "units": ["fastighetsnamnden"],
 *      "cleared": false,
 *      "identities": [{"cert": "anna.clients.valv.test"},
 *                     {"token": "sha256:9f86d081884c7d65...(64 hex digits)"}]}
 *   ]}
 *
 * Keys of a principal: "id" (required), "roles" (required, non-empty, from
 * reader, owner, security_chief, importer, auditor, admin), "units" (required
 * with role owner and only with it), "sources" (likewise with role importer),
 * "cleared" (optional, default false), "identities" (required, non-empty).
 * Each identity is an object with exactly one key: "cert", a client
 * certificate's subject alternative name or common name, matched exactly; or
 * "token", the SHA-256 of a bearer token written "sha256:" and 64 hex digits
 * (the prefix names the hash, so another can be added later without
 * ambiguity). `valvd token new` makes a token and its identity line.
 *
 * Loading is strict: an unknown key, a role not in the list, a unit or
 * source that is not a valid owner_unit / source, a malformed hash, a
 * duplicate id, or an identity that two principals (or one, twice) claim is
 * an error naming the principal and the key, and nothing is loaded.
 *
 * A loaded set is immutable and reference counted, so the server can swap in
 * a reloaded set (principals_holder) while calls in flight keep the one they
 * started with. A principal pointer is borrowed from its set: it stays valid
 * for as long as the caller holds a reference to that set.
 */
#ifndef VALV_PRINCIPALS_H
#define VALV_PRINCIPALS_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

/* Roles are bits, so a principal's roles are one unsigned. */
typedef enum {
    ROLE_READER = 1u << 0,
    ROLE_OWNER = 1u << 1,          /* scoped by the principal's units */
    ROLE_SECURITY_CHIEF = 1u << 2,
    ROLE_IMPORTER = 1u << 3,       /* scoped by the principal's sources */
    ROLE_AUDITOR = 1u << 4,
    ROLE_ADMIN = 1u << 5
} principal_role;

#define PRINCIPAL_ROLE_COUNT 6
#define PRINCIPAL_ID_MAX 63        /* bytes: ^[A-Za-z0-9][A-Za-z0-9._@-]{0,62}$ */
#define PRINCIPAL_CERT_NAME_MAX 255 /* bytes of a certificate name: UTF-8, no control characters */

/* One principal, read-only. Every string belongs to the set it came from. */
typedef struct {
    const char *id;                /* the actor recorded in the audit log */
    unsigned roles;                /* principal_role bits */
    const char *const *units;      /* units this principal owns (role owner) */
    size_t n_units;
    const char *const *sources;    /* import sources it may write (role importer) */
    size_t n_sources;
    bool cleared;                  /* may see RESTRICTED and higher (see authz.h) */
    bool unscoped;                 /* owner and importer rights hold for every unit
                                      and source; only the --dev principal has it */
} principal;

typedef struct principals principals; /* opaque, immutable once loaded */

/* Loads and checks the principals file at path. On success *out is a new set
 * with one reference, which the caller owns (principals_unref). On failure
 * *out is untouched and err says what is wrong, starting with the path:
 * VALV_EINVAL for a file that cannot be read or is not valid,
 * VALV_EINTERNAL when memory runs out. */
int principals_load(const char *path, principals **out, valv_error *err);

/* Adds a reference; returns set, so `s = principals_ref(s)` reads well. */
principals *principals_ref(principals *set);

/* Drops a reference; the last one frees the set and every principal in it.
 * set may be NULL. Safe to call from any thread. */
void principals_unref(principals *set);

/* Number of principals in the set (for the "loaded N principals" log line). */
size_t principals_count(const principals *set);

/* The principal whose identities hold the SHA-256 of token, or NULL.
 * Every stored hash is compared, in constant time (CRYPTO_memcmp), with no
 * early exit, so the time taken says nothing about which hash, if any, was
 * close or matched. The result is borrowed from set. */
const principal *principals_find_by_token(const principals *set, const char *token);

/* The principal with a "cert" identity equal to name (a SAN or the CN of a
 * verified client certificate), or NULL. Certificate names are public, so
 * this is a plain comparison. The result is borrowed from set. */
const principal *principals_find_by_cert(const principals *set, const char *name);

/* True when p owns unit (role owner with unit listed, or p->unscoped). */
bool principal_owns_unit(const principal *p, const char *unit);

/* True when p imports for source (role importer with source listed, or
 * p->unscoped). */
bool principal_imports_source(const principal *p, const char *source);

/* The file's name for a single role bit ("security_chief"), or "unknown". */
const char *principal_role_name(principal_role role);

/* ---- bearer tokens ------------------------------------------------------------- */

/* A token is 32 random bytes in unpadded base64url: 43 characters. */
#define PRINCIPALS_TOKEN_BYTES 32
#define PRINCIPALS_TOKEN_SIZE 44           /* 43 characters and NUL */
/* "sha256:" and 64 lowercase hex digits, and NUL. */
#define PRINCIPALS_TOKEN_HASH_TEXT_SIZE (7 + 64 + 1)

/* Makes a fresh token from the OpenSSL random generator into token, and the
 * text the principals file stores for it ("sha256:HEX") into hash_text.
 * Returns VALV_OK, or VALV_EINTERNAL if the generator fails. */
int principals_token_new(char token[PRINCIPALS_TOKEN_SIZE],
                         char hash_text[PRINCIPALS_TOKEN_HASH_TEXT_SIZE], valv_error *err);

/* Writes the stored form of token ("sha256:HEX") into hash_text. */
void principals_token_hash_text(const char *token, char hash_text[PRINCIPALS_TOKEN_HASH_TEXT_SIZE]);

/* ---- the current set, swapped on reload ------------------------------------------ */

typedef struct principals_holder principals_holder; /* opaque, thread-safe */

/* A holder that starts with initial, taking over the caller's reference.
 * Returns NULL when memory runs out (initial is then released). */
principals_holder *principals_holder_new(principals *initial);

/* Frees the holder and drops its reference to the current set. Calls still
 * holding a set from principals_holder_get keep it until they unref it. */
void principals_holder_free(principals_holder *holder);

/* The current set with a new reference, which the caller owns: take it at
 * the start of a call, unref it at the end. */
principals *principals_holder_get(principals_holder *holder);

/* Makes next the current set, taking over the caller's reference, and drops
 * the holder's reference to the old one (freed once the last call using it
 * ends). */
void principals_holder_swap(principals_holder *holder, principals *next);

/* Loads path and, only if it is valid, swaps it in. On failure the current
 * set stays in force and err says why (the caller logs it). For SIGHUP. */
int principals_holder_reload(principals_holder *holder, const char *path, valv_error *err);

#endif
