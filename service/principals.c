/* principals.c - the principals file: strict loading, lookup, reload. */
#include "principals.h"

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "limits.h"
#include "validate.h"

#define TOKEN_HASH_PREFIX "sha256:"
#define TOKEN_HASH_HEX_LEN (2 * SHA256_DIGEST_LENGTH)

/* A principal and the identities that authenticate it. Every string points
 * into the parsed JSON document, which the set keeps until it is freed. */
typedef struct {
    principal pub;
    const char **certs;
    size_t n_certs;
    unsigned char (*token_hashes)[SHA256_DIGEST_LENGTH];
    size_t n_tokens;
} entry;

struct principals {
    atomic_int refs;
    json_t *document; /* owns every string the entries point to */
    entry *entries;
    size_t n_entries;
};

static const struct {
    const char *name;
    principal_role role;
} role_names[PRINCIPAL_ROLE_COUNT] = {
    {"reader", ROLE_READER},
    {"owner", ROLE_OWNER},
    {"security_chief", ROLE_SECURITY_CHIEF},
    {"importer", ROLE_IMPORTER},
    {"auditor", ROLE_AUDITOR},
    {"admin", ROLE_ADMIN},
};
#define ROLE_LIST "reader, owner, security_chief, importer, auditor, admin" /* for messages */

static const char *const top_level_keys[] = {"principals", NULL};
static const char *const principal_keys[] = {"id",      "roles",      "units", "sources",
                                             "cleared", "identities", NULL};
static const char *const identity_keys[] = {"cert", "token", NULL};

/* ---- error messages ---------------------------------------------------------- */

/* What is being loaded, so every message can say where it went wrong. */
typedef struct {
    const char *path;
    size_t index;    /* of the principal being read, or AT_TOP */
    const char *id;  /* its id once known, else NULL */
    valv_error *err;
} loader;

#define AT_TOP SIZE_MAX /* loader.index while reading the top-level object */

/* Fails the load with "PATH: principal 'ID': MESSAGE" ("principals[N]" while
 * the id is not known yet, nothing at the top level). Returns VALV_EINVAL. */
static int load_error(const loader *ld, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int load_error(const loader *ld, const char *fmt, ...)
{
    char message[VALV_ERROR_MESSAGE_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    if (ld->index == AT_TOP)
        return valv_error_set(ld->err, VALV_EINVAL, "%s: %s", ld->path, message);
    if (ld->id != NULL)
        return valv_error_set(ld->err, VALV_EINVAL, "%s: principal '%s': %s", ld->path, ld->id,
                              message);
    return valv_error_set(ld->err, VALV_EINVAL, "%s: principals[%zu]: %s", ld->path, ld->index,
                          message);
}

/* Levenshtein distance between two short strings, or a large number when
 * either is too long to be a misspelt key. */
static size_t edit_distance(const char *a, const char *b)
{
    enum { LONGEST = 32 };
    size_t la = strlen(a), lb = strlen(b);
    if (la > LONGEST || lb > LONGEST)
        return (size_t)-1;
    size_t row[LONGEST + 1];
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diagonal = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t above = row[j];
            size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            size_t best = diagonal + cost;
            if (above + 1 < best)
                best = above + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diagonal = above;
        }
    }
    return row[lb];
}

/* The allowed key closest to key, if close enough to be a typing slip. */
static const char *closest_key(const char *key, const char *const *allowed)
{
    const char *best = NULL;
    size_t best_distance = 3; /* "role" for "roles", "unit" for "units", "certs" for "cert" */
    for (size_t i = 0; allowed[i] != NULL; i++) {
        size_t d = edit_distance(key, allowed[i]);
        if (d < best_distance && d < strlen(key)) {
            best = allowed[i];
            best_distance = d;
        }
    }
    return best;
}

/* Writes "'a', 'b' or 'c'" into buf. */
static const char *list_keys(const char *const *allowed, char *buf, size_t cap)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; allowed[i] != NULL && used < cap; i++) {
        const char *sep = i == 0 ? "" : allowed[i + 1] == NULL ? " or " : ", ";
        int n = snprintf(buf + used, cap - used, "%s'%s'", sep, allowed[i]);
        if (n < 0)
            break;
        used += (size_t)n;
    }
    return buf;
}

/* Refuses any key of object that is not in allowed, suggesting the nearest
 * allowed key. where prefixes the message ("" or "identities[2]: "). */
static int check_keys(const loader *ld, json_t *object, const char *const *allowed,
                      const char *where)
{
    const char *key;
    json_t *value;
    json_object_foreach(object, key, value) {
        bool known = false;
        for (size_t i = 0; allowed[i] != NULL; i++)
            known = known || strcmp(key, allowed[i]) == 0;
        if (known)
            continue;
        char excerpt[VALIDATE_EXCERPT_SIZE];
        const char *hint = closest_key(key, allowed);
        if (hint != NULL)
            return load_error(ld, "%sunknown key '%s' (did you mean '%s'?)", where,
                              validate_excerpt(key, excerpt), hint);
        char names[128];
        return load_error(ld, "%sunknown key '%s'; allowed keys are %s", where,
                          validate_excerpt(key, excerpt),
                          list_keys(allowed, names, sizeof names));
    }
    return VALV_OK;
}

/* ---- field rules --------------------------------------------------------------- */

/* The rule of an asset's owner_unit and source: ^[a-z][a-z0-9-]{0,max-1}$.
 * validate.h keeps its pattern private, so the same rule is restated here. */
static bool is_slug(const char *s, size_t max)
{
    size_t len = strlen(s);
    if (len == 0 || len > max || s[0] < 'a' || s[0] > 'z')
        return false;
    for (size_t i = 1; i < len; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
            return false;
    }
    return true;
}

static bool is_principal_id(const char *s)
{
    size_t len = strlen(s);
    if (len == 0 || len > PRINCIPAL_ID_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!alnum && (i == 0 || strchr("._@-", c) == NULL))
            return false;
    }
    return true;
}

/* A certificate name as gRPC reports it: UTF-8, no control characters. */
static bool is_cert_name(const char *s)
{
    size_t len = strlen(s);
    if (len == 0 || len > PRINCIPAL_CERT_NAME_MAX || !validate_utf8(s, len))
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f)
            return false;
    }
    return true;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Parses "sha256:" and 64 hex digits (either case) into out. */
static bool parse_token_hash(const char *text, unsigned char out[SHA256_DIGEST_LENGTH])
{
    size_t prefix_len = strlen(TOKEN_HASH_PREFIX);
    if (strncmp(text, TOKEN_HASH_PREFIX, prefix_len) != 0)
        return false;
    const char *hex = text + prefix_len;
    if (strlen(hex) != TOKEN_HASH_HEX_LEN)
        return false;
    for (size_t i = 0; i < SHA256_DIGEST_LENGTH; i++) {
        int high = hex_value(hex[2 * i]), low = hex_value(hex[2 * i + 1]);
        if (high < 0 || low < 0)
            return false;
        out[i] = (unsigned char)(high << 4 | low);
    }
    return true;
}

static principal_role role_by_name(const char *name)
{
    for (size_t i = 0; i < PRINCIPAL_ROLE_COUNT; i++)
        if (strcmp(role_names[i].name, name) == 0)
            return role_names[i].role;
    return 0;
}

const char *principal_role_name(principal_role role)
{
    for (size_t i = 0; i < PRINCIPAL_ROLE_COUNT; i++)
        if (role_names[i].role == role)
            return role_names[i].name;
    return "unknown";
}

/* ---- reading one principal -------------------------------------------------------- */

/* Reads key's value, an array of distinct non-empty strings, into a new
 * array of borrowed pointers (*items, freed by the caller; NULL when the key
 * is absent). */
static int read_string_list(const loader *ld, json_t *object, const char *key,
                            const char ***items, size_t *n_items)
{
    *items = NULL;
    *n_items = 0;
    json_t *array = json_object_get(object, key);
    if (array == NULL)
        return VALV_OK;
    if (!json_is_array(array) || json_array_size(array) == 0)
        return load_error(ld, "'%s' must be a non-empty list of strings", key);
    size_t n = json_array_size(array);
    const char **list = calloc(n, sizeof *list);
    if (list == NULL)
        return valv_error_set(ld->err, VALV_EINTERNAL, "%s: out of memory", ld->path);
    for (size_t i = 0; i < n; i++) {
        const char *s = json_string_value(json_array_get(array, i));
        if (s == NULL || s[0] == '\0') {
            free(list);
            return load_error(ld, "%s[%zu] must be a non-empty string", key, i);
        }
        for (size_t j = 0; j < i; j++) {
            if (strcmp(list[j], s) == 0) {
                char excerpt[VALIDATE_EXCERPT_SIZE];
                free(list);
                return load_error(ld, "%s[%zu]: '%s' is listed twice", key, i,
                                  validate_excerpt(s, excerpt));
            }
        }
        list[i] = s;
    }
    *items = list;
    *n_items = n;
    return VALV_OK;
}

static int read_id(loader *ld, json_t *object, entry *e)
{
    json_t *value = json_object_get(object, "id");
    const char *id = json_string_value(value);
    if (value == NULL)
        return load_error(ld, "'id' is required");
    if (id == NULL || !is_principal_id(id))
        return load_error(ld, "'id' must be a string of 1-%d characters A-Z, a-z, 0-9, '.', "
                              "'_', '@' and '-', starting with a letter or digit",
                          PRINCIPAL_ID_MAX);
    e->pub.id = id;
    ld->id = id; /* later messages name the principal */
    return VALV_OK;
}

static int read_roles(const loader *ld, json_t *object, entry *e)
{
    const char **names;
    size_t n;
    int rc = read_string_list(ld, object, "roles", &names, &n);
    if (rc != VALV_OK)
        return rc;
    if (names == NULL)
        return load_error(ld, "'roles' is required: a list of " ROLE_LIST);
    for (size_t i = 0; i < n && rc == VALV_OK; i++) {
        principal_role role = role_by_name(names[i]);
        char excerpt[VALIDATE_EXCERPT_SIZE];
        if (role == 0)
            rc = load_error(ld, "roles[%zu]: unknown role '%s'; roles are " ROLE_LIST, i,
                            validate_excerpt(names[i], excerpt));
        e->pub.roles |= role;
    }
    free(names);
    return rc;
}


/* The entry among entries[0..n) with a "cert" identity equal to name. */
static const entry *entry_with_cert(const entry *entries, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < entries[i].n_certs; j++)
            if (strcmp(entries[i].certs[j], name) == 0)
                return &entries[i];
    return NULL;
}

/* The entry among entries[0..n) holding hash. Every stored hash is compared
 * in constant time and the loop never stops early, so the time taken does
 * not depend on where, or whether, the hash matched. */
static const entry *entry_with_token(const entry *entries, size_t n,
                                     const unsigned char hash[SHA256_DIGEST_LENGTH])
{
    const entry *found = NULL;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < entries[i].n_tokens; j++)
            if (CRYPTO_memcmp(entries[i].token_hashes[j], hash, SHA256_DIGEST_LENGTH) == 0)
                found = &entries[i];
    return found;
}

/* Reads "units" or "sources": required with the role that uses them and
 * refused without it, so that a forgotten role or list cannot silently grant
 * nothing. what names one item in messages ("unit"). */
static int read_scope(const loader *ld, json_t *object, const char *key, const char *what,
                      principal_role role, size_t max, unsigned roles,
                      const char *const **out, size_t *n_out)
{
    const char **items;
    size_t n;
    int rc = read_string_list(ld, object, key, &items, &n);
    if (rc != VALV_OK)
        return rc;
    *out = items; /* the set frees it, also when a check below fails */
    *n_out = n;
    bool has_role = (roles & role) != 0;
    if (has_role && items == NULL)
        return load_error(ld, "role %s needs '%s': the %ss it is for",
                          principal_role_name(role), key, what);
    if (!has_role && items != NULL)
        return load_error(ld, "'%s' is only for role %s, which this principal does not have",
                          key, principal_role_name(role));
    for (size_t i = 0; i < n; i++) {
        char excerpt[VALIDATE_EXCERPT_SIZE];
        if (!is_slug(items[i], max))
            return load_error(ld, "%s[%zu]: '%s' is not a %s name: use 1-%zu characters a-z, "
                                  "0-9 and '-', starting with a letter",
                              key, i, validate_excerpt(items[i], excerpt), what, max);
    }
    return VALV_OK;
}

static int read_cleared(const loader *ld, json_t *object, entry *e)
{
    json_t *value = json_object_get(object, "cleared");
    if (value == NULL)
        return VALV_OK;
    if (!json_is_boolean(value))
        return load_error(ld, "'cleared' must be true or false");
    e->pub.cleared = json_is_true(value);
    return VALV_OK;
}

/* Reads "identities". Each new identity is checked against every identity
 * read so far, this principal's included, so no name or token can ever
 * mean two principals. entries[0..index] are the principals read so far,
 * entries[index] being the one read now. */
static int read_identities(const loader *ld, json_t *object, entry *entries, size_t index)
{
    static const char shape[] = "a list of {\"cert\": NAME} and {\"token\": \"sha256:HEX\"}";
    entry *e = &entries[index];
    json_t *array = json_object_get(object, "identities");
    if (array == NULL)
        return load_error(ld, "'identities' is required: %s", shape);
    if (!json_is_array(array) || json_array_size(array) == 0)
        return load_error(ld, "'identities' must be %s", shape);
    size_t n = json_array_size(array);
    e->certs = calloc(n, sizeof *e->certs);
    e->token_hashes = calloc(n, sizeof *e->token_hashes);
    if (e->certs == NULL || e->token_hashes == NULL)
        return valv_error_set(ld->err, VALV_EINTERNAL, "%s: out of memory", ld->path);

    for (size_t i = 0; i < n; i++) {
        json_t *identity = json_array_get(array, i);
        char where[48];
        snprintf(where, sizeof where, "identities[%zu]: ", i);
        if (!json_is_object(identity) || json_object_size(identity) != 1)
            return load_error(ld, "%sgive an object with exactly one key, 'cert' or 'token'",
                              where);
        int rc = check_keys(ld, identity, identity_keys, where);
        if (rc != VALV_OK)
            return rc;

        const char *cert = json_string_value(json_object_get(identity, "cert"));
        const char *token = json_string_value(json_object_get(identity, "token"));
        const entry *other;
        char excerpt[VALIDATE_EXCERPT_SIZE];
        if (json_object_get(identity, "cert") != NULL) {
            if (cert == NULL || !is_cert_name(cert))
                return load_error(ld, "%s'cert' must be a client certificate's subject "
                                      "alternative name or common name: 1-%d bytes of UTF-8 "
                                      "without control characters",
                                  where, PRINCIPAL_CERT_NAME_MAX);
            other = entry_with_cert(entries, index + 1, cert);
            if (other != NULL)
                return load_error(ld, "%scert '%s' is already the identity of principal '%s'",
                                  where, validate_excerpt(cert, excerpt), other->pub.id);
            e->certs[e->n_certs++] = cert;
        } else {
            unsigned char *hash = e->token_hashes[e->n_tokens];
            if (token == NULL || !parse_token_hash(token, hash))
                return load_error(ld, "%s'token' must be \"sha256:\" and 64 hex digits, as "
                                      "printed by `valvd token new`",
                                  where);
            other = entry_with_token(entries, index + 1, hash);
            if (other != NULL)
                return load_error(ld, "%sthis token is already the identity of principal '%s'",
                                  where, other->pub.id);
            e->n_tokens++;
        }
    }
    return VALV_OK;
}

/* Reads entries[index] from object; entries before it are complete. */
static int read_principal(loader *ld, json_t *object, entry *entries, size_t index)
{
    entry *e = &entries[index];
    ld->index = index;
    ld->id = NULL;
    if (!json_is_object(object))
        return load_error(ld, "must be an object with 'id', 'roles' and 'identities'");
    /* Keys first, so a misspelt "id" is reported as such, not as missing;
     * a valid id is noted beforehand so that even that message names it. */
    const char *id = json_string_value(json_object_get(object, "id"));
    if (id != NULL && is_principal_id(id))
        ld->id = id;
    int rc = check_keys(ld, object, principal_keys, "");
    if (rc != VALV_OK)
        return rc;
    rc = read_id(ld, object, e);
    if (rc != VALV_OK)
        return rc;
    for (size_t i = 0; i < index; i++)
        if (strcmp(entries[i].pub.id, e->pub.id) == 0)
            return load_error(ld, "the id is used twice (principals[%zu] and [%zu])", i, index);
    rc = read_roles(ld, object, e);
    if (rc == VALV_OK)
        rc = read_scope(ld, object, "units", "unit", ROLE_OWNER, VALV_OWNER_UNIT_MAX,
                        e->pub.roles, &e->pub.units, &e->pub.n_units);
    if (rc == VALV_OK)
        rc = read_scope(ld, object, "sources", "source", ROLE_IMPORTER, VALV_SOURCE_MAX,
                        e->pub.roles, &e->pub.sources, &e->pub.n_sources);
    if (rc == VALV_OK)
        rc = read_cleared(ld, object, e);
    if (rc == VALV_OK)
        rc = read_identities(ld, object, entries, index);
    return rc;
}

static int read_document(loader *ld, principals *set)
{
    json_t *root = set->document;
    if (!json_is_object(root))
        return load_error(ld, "the file must be a JSON object {\"principals\": [...]}");
    int rc = check_keys(ld, root, top_level_keys, "");
    if (rc != VALV_OK)
        return rc;
    json_t *list = json_object_get(root, "principals");
    if (!json_is_array(list) || json_array_size(list) == 0)
        return load_error(ld, "'principals' must be a non-empty list of principals");

    size_t n = json_array_size(list);
    set->entries = calloc(n, sizeof *set->entries);
    if (set->entries == NULL)
        return valv_error_set(ld->err, VALV_EINTERNAL, "%s: out of memory", ld->path);
    set->n_entries = n;
    for (size_t i = 0; i < n && rc == VALV_OK; i++)
        rc = read_principal(ld, json_array_get(list, i), set->entries, i);
    return rc;
}

/* ---- the set ------------------------------------------------------------------------- */

static void free_set(principals *set)
{
    for (size_t i = 0; i < set->n_entries; i++) {
        entry *e = &set->entries[i];
        /* The arrays were allocated by this file; const only guards callers. */
        free((void *)e->pub.units);
        free((void *)e->pub.sources);
        free(e->certs);
        free(e->token_hashes);
    }
    free(set->entries);
    json_decref(set->document);
    free(set);
}

int principals_load(const char *path, principals **out, valv_error *err)
{
    loader ld = {.path = path, .index = AT_TOP, .err = err};
    principals *set = NULL;
    json_error_t json_err;
    int rc;

    json_t *document = json_load_file(path, JSON_REJECT_DUPLICATES, &json_err);
    if (document == NULL) {
        if (json_error_code(&json_err) == json_error_cannot_open_file)
            rc = valv_error_set(err, VALV_EINVAL, "%s", json_err.text); /* names the path */
        else
            rc = valv_error_set(err, VALV_EINVAL, "%s:%d:%d: %s", path, json_err.line,
                                json_err.column, json_err.text);
        goto done;
    }
    set = calloc(1, sizeof *set);
    if (set == NULL) {
        json_decref(document);
        rc = valv_error_set(err, VALV_EINTERNAL, "%s: out of memory", path);
        goto done;
    }
    atomic_init(&set->refs, 1);
    set->document = document;
    rc = read_document(&ld, set);

done:
    if (rc == VALV_OK)
        *out = set;
    else if (set != NULL)
        free_set(set);
    return rc;
}

principals *principals_ref(principals *set)
{
    atomic_fetch_add(&set->refs, 1);
    return set;
}

void principals_unref(principals *set)
{
    if (set != NULL && atomic_fetch_sub(&set->refs, 1) == 1)
        free_set(set);
}

size_t principals_count(const principals *set)
{
    return set->n_entries;
}

const principal *principals_find_by_token(const principals *set, const char *token)
{
    unsigned char hash[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)token, strlen(token), hash);
    const entry *e = entry_with_token(set->entries, set->n_entries, hash);
    return e != NULL ? &e->pub : NULL;
}

const principal *principals_find_by_cert(const principals *set, const char *name)
{
    const entry *e = entry_with_cert(set->entries, set->n_entries, name);
    return e != NULL ? &e->pub : NULL;
}

/* True when item is one of list[0..n). */
static bool listed(const char *const *list, size_t n, const char *item)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i], item) == 0)
            return true;
    return false;
}

bool principal_owns_unit(const principal *p, const char *unit)
{
    if ((p->roles & ROLE_OWNER) == 0)
        return false;
    return p->unscoped || listed(p->units, p->n_units, unit);
}

bool principal_imports_source(const principal *p, const char *source)
{
    if ((p->roles & ROLE_IMPORTER) == 0)
        return false;
    return p->unscoped || listed(p->sources, p->n_sources, source);
}

/* ---- tokens ---------------------------------------------------------------------------- */

void principals_token_hash_text(const char *token, char hash_text[PRINCIPALS_TOKEN_HASH_TEXT_SIZE])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char hash[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)token, strlen(token), hash);
    size_t prefix_len = strlen(TOKEN_HASH_PREFIX);
    memcpy(hash_text, TOKEN_HASH_PREFIX, prefix_len);
    for (size_t i = 0; i < SHA256_DIGEST_LENGTH; i++) {
        hash_text[prefix_len + 2 * i] = hex[hash[i] >> 4];
        hash_text[prefix_len + 2 * i + 1] = hex[hash[i] & 0x0f];
    }
    hash_text[prefix_len + TOKEN_HASH_HEX_LEN] = '\0';
}

int principals_token_new(char token[PRINCIPALS_TOKEN_SIZE],
                         char hash_text[PRINCIPALS_TOKEN_HASH_TEXT_SIZE], valv_error *err)
{
    unsigned char random[PRINCIPALS_TOKEN_BYTES];
    unsigned char base64[4 * ((PRINCIPALS_TOKEN_BYTES + 2) / 3) + 1];
    _Static_assert(PRINCIPALS_TOKEN_SIZE == (4 * PRINCIPALS_TOKEN_BYTES + 2) / 3 + 1,
                   "43 unpadded base64 characters and NUL");

    if (RAND_bytes(random, sizeof random) != 1)
        return valv_error_set(err, VALV_EINTERNAL,
                              "the OpenSSL random generator failed; no token was made");
    EVP_EncodeBlock(base64, random, sizeof random);
    /* base64url (RFC 4648 section 5): safe in metadata and shells, no padding. */
    for (size_t i = 0; i < PRINCIPALS_TOKEN_SIZE - 1; i++) {
        char c = (char)base64[i];
        token[i] = c == '+' ? '-' : c == '/' ? '_' : c;
    }
    token[PRINCIPALS_TOKEN_SIZE - 1] = '\0';
    OPENSSL_cleanse(random, sizeof random);
    OPENSSL_cleanse(base64, sizeof base64);
    principals_token_hash_text(token, hash_text);
    return VALV_OK;
}

/* ---- the holder ------------------------------------------------------------------------- */

struct principals_holder {
    pthread_mutex_t lock; /* guards current for the moment of a get or a swap */
    principals *current;
};

principals_holder *principals_holder_new(principals *initial)
{
    principals_holder *holder = calloc(1, sizeof *holder);
    if (holder == NULL) {
        principals_unref(initial);
        return NULL;
    }
    pthread_mutex_init(&holder->lock, NULL);
    holder->current = initial;
    return holder;
}

void principals_holder_free(principals_holder *holder)
{
    if (holder == NULL)
        return;
    principals_unref(holder->current);
    pthread_mutex_destroy(&holder->lock);
    free(holder);
}

principals *principals_holder_get(principals_holder *holder)
{
    /* The reference is taken under the lock, so a swap cannot free the set
     * between reading the pointer and counting the reference. */
    pthread_mutex_lock(&holder->lock);
    principals *set = principals_ref(holder->current);
    pthread_mutex_unlock(&holder->lock);
    return set;
}

void principals_holder_swap(principals_holder *holder, principals *next)
{
    pthread_mutex_lock(&holder->lock);
    principals *old = holder->current;
    holder->current = next;
    pthread_mutex_unlock(&holder->lock);
    principals_unref(old); /* outside the lock: freeing may take a while */
}

int principals_holder_reload(principals_holder *holder, const char *path, valv_error *err)
{
    principals *next;
    int rc = principals_load(path, &next, err);
    if (rc == VALV_OK)
        principals_holder_swap(holder, next);
    return rc;
}
