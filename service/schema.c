/* schema.c - the embedded FileDescriptorSet, parsed once and indexed.
 *
 * Files are few (about twenty), so they are found by a linear scan. Symbols
 * are many (every field and enum value), so they sit in one array sorted by
 * name and are found by binary search. Names follow protobuf's scoping:
 * "package.Message.field", "package.Service.Method", and an enum value is
 * a sibling of its enum ("valv.v1.KIND_UNSPECIFIED", not
 * "valv.v1.AssetKind.KIND_UNSPECIFIED"), as protoc and every reflection
 * server name them.
 */
#include "schema.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "google/protobuf/descriptor.pb-c.h"
#include "validate.h"

/* Made by the build from protoc's output (cmake/embed.cmake). */
extern const unsigned char schema_descriptor_set[];
extern const size_t schema_descriptor_set_len;

typedef struct {
    char *name;  /* fully qualified, without protoc's leading dot */
    size_t file; /* index into set->file */
    bool is_message;
} symbol;

typedef struct {
    const char *extendee; /* borrowed from the set; fully qualified, no leading dot */
    int32_t number;
    size_t file;
} extension;

struct schema {
    Google__Protobuf__FileDescriptorSet *set;
    ProtobufCBinaryData *packed; /* per file: its serialized FileDescriptorProto */
    symbol *symbols;             /* sorted by name once built */
    size_t n_symbols, cap_symbols;
    extension *extensions;
    size_t n_extensions, cap_extensions;
};

/* proto2 strings are NULL when absent. */
static const char *str(const char *s)
{
    return s != NULL ? s : "";
}

/* protoc writes type references with a leading dot (".valv.v1.Asset"). */
static const char *without_dot(const char *name)
{
    name = str(name);
    return name[0] == '.' ? name + 1 : name;
}

static int out_of_memory(valv_error *err)
{
    return valv_error_set(err, VALV_EINTERNAL, "valvd is out of memory while indexing its API descriptors");
}

/* Appends scope.name (or name alone at the top scope) to the symbols; the
 * array owns the copy. */
static int add_symbol(schema *s, const char *scope, const char *name, size_t file, bool is_message,
                      const char **full_out, valv_error *err)
{
    if (s->n_symbols == s->cap_symbols) {
        size_t cap = s->cap_symbols ? 2 * s->cap_symbols : 256;
        symbol *grown = realloc(s->symbols, cap * sizeof *grown);
        if (grown == NULL)
            return out_of_memory(err);
        s->symbols = grown;
        s->cap_symbols = cap;
    }
    char *full;
    int n = scope[0] != '\0' ? asprintf(&full, "%s.%s", scope, str(name)) : asprintf(&full, "%s", str(name));
    if (n < 0)
        return out_of_memory(err);
    s->symbols[s->n_symbols++] = (symbol){.name = full, .file = file, .is_message = is_message};
    if (full_out != NULL)
        *full_out = full;
    return VALV_OK;
}

/* Extensions are symbols in their scope, and are also found by the type
 * they extend and their number. */
static int add_extensions(schema *s, const char *scope, Google__Protobuf__FieldDescriptorProto **fields,
                          size_t n, size_t file, valv_error *err)
{
    for (size_t i = 0; i < n; i++) {
        int rc = add_symbol(s, scope, fields[i]->name, file, false, NULL, err);
        if (rc != VALV_OK)
            return rc;
        if (s->n_extensions == s->cap_extensions) {
            size_t cap = s->cap_extensions ? 2 * s->cap_extensions : 16;
            extension *grown = realloc(s->extensions, cap * sizeof *grown);
            if (grown == NULL)
                return out_of_memory(err);
            s->extensions = grown;
            s->cap_extensions = cap;
        }
        s->extensions[s->n_extensions++] =
            (extension){.extendee = without_dot(fields[i]->extendee), .number = fields[i]->number, .file = file};
    }
    return VALV_OK;
}

static int add_enum(schema *s, const char *scope, const Google__Protobuf__EnumDescriptorProto *e, size_t file,
                    valv_error *err)
{
    int rc = add_symbol(s, scope, e->name, file, false, NULL, err);
    for (size_t i = 0; rc == VALV_OK && i < e->n_value; i++)
        rc = add_symbol(s, scope, e->value[i]->name, file, false, NULL, err); /* siblings of the enum */
    return rc;
}

static int add_message(schema *s, const char *scope, const Google__Protobuf__DescriptorProto *m, size_t file,
                       valv_error *err)
{
    const char *name = NULL;
    int rc = add_symbol(s, scope, m->name, file, true, &name, err);
    for (size_t i = 0; rc == VALV_OK && i < m->n_field; i++)
        rc = add_symbol(s, name, m->field[i]->name, file, false, NULL, err);
    for (size_t i = 0; rc == VALV_OK && i < m->n_oneof_decl; i++)
        rc = add_symbol(s, name, m->oneof_decl[i]->name, file, false, NULL, err);
    for (size_t i = 0; rc == VALV_OK && i < m->n_nested_type; i++)
        rc = add_message(s, name, m->nested_type[i], file, err);
    for (size_t i = 0; rc == VALV_OK && i < m->n_enum_type; i++)
        rc = add_enum(s, name, m->enum_type[i], file, err);
    if (rc == VALV_OK)
        rc = add_extensions(s, name, m->extension, m->n_extension, file, err);
    return rc;
}

static int add_service(schema *s, const char *scope, const Google__Protobuf__ServiceDescriptorProto *svc,
                       size_t file, valv_error *err)
{
    const char *name;
    int rc = add_symbol(s, scope, svc->name, file, false, &name, err);
    for (size_t i = 0; rc == VALV_OK && i < svc->n_method; i++)
        rc = add_symbol(s, name, svc->method[i]->name, file, false, NULL, err);
    return rc;
}

static int add_file(schema *s, size_t file, valv_error *err)
{
    const Google__Protobuf__FileDescriptorProto *f = s->set->file[file];
    const char *pkg = str(f->package);
    int rc = VALV_OK;
    for (size_t i = 0; rc == VALV_OK && i < f->n_message_type; i++)
        rc = add_message(s, pkg, f->message_type[i], file, err);
    for (size_t i = 0; rc == VALV_OK && i < f->n_enum_type; i++)
        rc = add_enum(s, pkg, f->enum_type[i], file, err);
    for (size_t i = 0; rc == VALV_OK && i < f->n_service; i++)
        rc = add_service(s, pkg, f->service[i], file, err);
    if (rc == VALV_OK)
        rc = add_extensions(s, pkg, f->extension, f->n_extension, file, err);
    if (rc != VALV_OK)
        return rc;

    size_t len = protobuf_c_message_get_packed_size(&f->base);
    s->packed[file].data = malloc(len > 0 ? len : 1);
    if (s->packed[file].data == NULL)
        return out_of_memory(err);
    s->packed[file].len = protobuf_c_message_pack(&f->base, s->packed[file].data);
    return VALV_OK;
}

/* The index of the file named name, or SIZE_MAX. */
static size_t find_file(const schema *s, const char *name)
{
    for (size_t i = 0; i < s->set->n_file; i++)
        if (strcmp(str(s->set->file[i]->name), name) == 0)
            return i;
    return SIZE_MAX;
}

static int compare_symbols(const void *a, const void *b)
{
    return strcmp(((const symbol *)a)->name, ((const symbol *)b)->name);
}

static const symbol *find_symbol(const schema *s, const char *name)
{
    symbol key = {.name = (char *)name};
    return bsearch(&key, s->symbols, s->n_symbols, sizeof *s->symbols, compare_symbols);
}

int schema_open_set(const uint8_t *data, size_t len, schema **out, valv_error *err)
{
    int rc = VALV_OK;
    schema *s = calloc(1, sizeof *s);
    if (s == NULL)
        return out_of_memory(err);
    s->set = google__protobuf__file_descriptor_set__unpack(NULL, len, data);
    if (s->set == NULL) {
        rc = valv_error_set(err, VALV_EINTERNAL, "the embedded API descriptors are not a FileDescriptorSet");
        goto done;
    }
    s->packed = calloc(s->set->n_file + 1, sizeof *s->packed);
    if (s->packed == NULL) {
        rc = out_of_memory(err);
        goto done;
    }
    for (size_t i = 0; i < s->set->n_file; i++) {
        const Google__Protobuf__FileDescriptorProto *f = s->set->file[i];
        for (size_t d = 0; d < f->n_dependency; d++) {
            if (find_file(s, f->dependency[d]) == SIZE_MAX) {
                rc = valv_error_set(err, VALV_EINTERNAL,
                                    "the API descriptors lack %s, which %s imports (run protoc with --include_imports)",
                                    f->dependency[d], str(f->name));
                goto done;
            }
        }
        rc = add_file(s, i, err);
        if (rc != VALV_OK)
            goto done;
    }
    qsort(s->symbols, s->n_symbols, sizeof *s->symbols, compare_symbols);

done:
    if (rc != VALV_OK) {
        schema_free(s);
        s = NULL;
    }
    *out = s;
    return rc;
}

int schema_open(schema **out, valv_error *err)
{
    return schema_open_set(schema_descriptor_set, schema_descriptor_set_len, out, err);
}

void schema_free(schema *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; s->packed != NULL && i < s->set->n_file; i++)
        free(s->packed[i].data);
    free(s->packed);
    for (size_t i = 0; i < s->n_symbols; i++)
        free(s->symbols[i].name);
    free(s->symbols);
    free(s->extensions);
    if (s->set != NULL)
        google__protobuf__file_descriptor_set__free_unpacked(s->set, NULL);
    free(s);
}

void schema_files_free(schema_files *f)
{
    free(f->files);
    f->files = NULL;
    f->n = 0;
}

/* Appends file, then what it imports, depth first, skipping files already
 * seen. Depth is bounded by the number of files (each is entered once). */
static void add_closure(const schema *s, size_t file, bool *seen, schema_files *out)
{
    if (seen[file])
        return;
    seen[file] = true;
    out->files[out->n++] = s->packed[file];
    const Google__Protobuf__FileDescriptorProto *f = s->set->file[file];
    for (size_t d = 0; d < f->n_dependency; d++)
        add_closure(s, find_file(s, f->dependency[d]), seen, out); /* checked by schema_open_set */
}

static int closure(const schema *s, size_t file, schema_files *out, valv_error *err)
{
    size_t n = s->set->n_file;
    out->n = 0;
    out->files = malloc(n * sizeof *out->files);
    bool *seen = calloc(n, sizeof *seen);
    if (out->files == NULL || seen == NULL) {
        free(seen);
        schema_files_free(out);
        return out_of_memory(err);
    }
    add_closure(s, file, seen, out);
    free(seen);
    return VALV_OK;
}

int schema_file_by_name(const schema *s, const char *name, schema_files *out, valv_error *err)
{
    char excerpt[VALIDATE_EXCERPT_SIZE]; /* names come from the caller: quoted as UTF-8 */
    size_t file = find_file(s, name);
    if (file == SIZE_MAX)
        return valv_error_set(err, VALV_ENOTFOUND,
                              "valvd's API has no file '%s'; file names are as imported, e.g. valv/v1/inventory.proto",
                              validate_excerpt(name, excerpt));
    return closure(s, file, out, err);
}

int schema_file_containing_symbol(const schema *s, const char *name, schema_files *out, valv_error *err)
{
    char excerpt[VALIDATE_EXCERPT_SIZE];
    const symbol *sym = find_symbol(s, name);
    if (sym == NULL)
        return valv_error_set(err, VALV_ENOTFOUND,
                              "valvd's API has no symbol '%s'; give a fully qualified name without a leading dot, "
                              "e.g. valv.v1.Inventory, valv.v1.Inventory.GetAsset or valv.v1.Asset",
                              validate_excerpt(name, excerpt));
    return closure(s, sym->file, out, err);
}

int schema_file_containing_extension(const schema *s, const char *type, int32_t number, schema_files *out,
                                     valv_error *err)
{
    char excerpt[VALIDATE_EXCERPT_SIZE];
    for (size_t i = 0; i < s->n_extensions; i++)
        if (s->extensions[i].number == number && strcmp(s->extensions[i].extendee, type) == 0)
            return closure(s, s->extensions[i].file, out, err);
    return valv_error_set(err, VALV_ENOTFOUND, "valvd's API declares no extension %d of '%s'", (int)number,
                          validate_excerpt(type, excerpt));
}

int schema_extension_numbers(const schema *s, const char *type, int32_t **numbers_out, size_t *n_out,
                             valv_error *err)
{
    char excerpt[VALIDATE_EXCERPT_SIZE];
    *numbers_out = NULL;
    *n_out = 0;
    const symbol *sym = find_symbol(s, type);
    if (sym == NULL || !sym->is_message)
        return valv_error_set(err, VALV_ENOTFOUND,
                              "valvd's API has no message type '%s'; give a fully qualified name, e.g. valv.v1.Asset",
                              validate_excerpt(type, excerpt));
    int32_t *numbers = malloc((s->n_extensions + 1) * sizeof *numbers);
    if (numbers == NULL)
        return out_of_memory(err);
    size_t n = 0;
    for (size_t i = 0; i < s->n_extensions; i++)
        if (strcmp(s->extensions[i].extendee, type) == 0)
            numbers[n++] = s->extensions[i].number;
    *numbers_out = numbers;
    *n_out = n;
    return VALV_OK;
}

bool schema_has_symbol(const schema *s, const char *name)
{
    return find_symbol(s, name) != NULL;
}
