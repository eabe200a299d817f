/* export_cmd.c - valv export: the inventory as a file that valv import reads
 * back unchanged.
 *
 * Only the facts an import sets are written (external_id, name, kind,
 * names, description, owner unit, owner, labels, attributes): not the
 * classification, security protection, review, revision or times, which an
 * import refuses or ignores. JSON Lines goes out as the stream comes in.
 * CSV needs every attribute key in its header before the first row, and a
 * stream cannot say them up front, so the assets are parked in a spool
 * (a temporary file) until the stream ends: memory holds only the keys.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "commands.h"
#include "outfile.h"
#include "spool.h"
#include "valv/v1/import.pb-c.h"
#include "valv/v1/inventory.pb-c.h"

#define EXPORT_METHOD "/valv.v1.Inventory/ExportAssets"
#define UTF8_BOM "\xEF\xBB\xBF"
#define ATTRIBUTES_PREFIX "attributes."
/* Swedish Excel lists with ';' (',' is its decimal comma). */
#define EXCEL_DELIMITER ';'

enum {
    OPT_FILTER = ARGS_OPT_FIRST_COMMAND_OPTION,
    OPT_SHOW_DELETED,
    OPT_OUTPUT_FILE,
    OPT_DELIMITER,
    OPT_EXCEL
};

static const args_command export_command = {
    .path = "valv export",
    .own_output_flag = true,
    .usage =
        "Usage: valv export [-o csv|jsonl] [--filter FILTER] [--show-deleted]\n"
        "                   [--output-file FILE] [--delimiter ','|';'] [--excel]\n"
        "\n"
        "Writes the assets as records that 'valv import' reads back: edit the file\n"
        "and import it to change many assets at once. Only the facts an import sets\n"
        "are written: external_id, name, kind, display_name, description,\n"
        "owner_unit, owner, labels (separated by ';') and one attributes.KEY column\n"
        "per attribute key. Classification, security protection, review, revision\n"
        "and times are left out (an import never sets them), so importing an\n"
        "unedited export changes nothing. Links are not written.\n"
        "\n"
        "Each record has the asset's name (assets/ID), so that it updates that very\n"
        "asset: a record with an external_id must be imported with the --source the\n"
        "asset came from (export one source at a time with --filter), and one\n"
        "without updates the asset it names.\n"
        "\n"
        "Flags:\n"
        "  -o, --output FORMAT    csv or jsonl (JSON Lines, one asset per line); default\n"
        "                         csv when --output-file ends in .csv, else jsonl\n"
        "  --filter FILTER        only the assets that match, as in 'valv asset list'\n"
        "  --show-deleted         include deleted assets\n"
        "  --output-file FILE     write to FILE instead of standard output ('-'); FILE\n"
        "                         is replaced only once the export is complete\n"
        "  --delimiter CHAR       ',' (default) or ';' between CSV cells\n"
        "  --excel                CSV for Excel with Swedish settings: ';', CRLF line\n"
        "                         ends and a byte order mark, so that å, ä, ö show\n"
        "\n"
        "Global flags (before or after the command):\n"
        "  --addr HOST:PORT       valvd's address (default: $VALV_ADDR, else " ARGS_DEFAULT_ADDR
        ")\n"
        "  --timeout SECONDS      how long the whole export may take (default: no limit)\n"
        "  -h, --help             show this help\n"
        "\n"
        "Examples:\n"
        "  valv export --filter 'source = \"cmdb\"' --output-file cmdb.csv\n"
        "  valv import cmdb.csv --source cmdb --dry-run\n"
        "  valv export --filter 'owner_unit = socialnamnden' --excel --output-file sn.csv\n"
        "  valv export -o jsonl > inventory.jsonl\n",
};

typedef enum { EXPORT_CSV, EXPORT_JSONL } export_format;

typedef struct {
    export_format format;
    bool format_given;
    char delimiter;
    bool delimiter_given;
    bool excel;
    const char *output_file; /* "-": standard output */
    bool stopped;            /* --help or --version was shown: nothing to do */
    Valv__V1__ExportAssetsRequest req;
} export_options;

typedef struct {
    const export_options *opts;
    FILE *out;
    spool *assets;  /* CSV: every asset, until the stream has ended */
    char **keys;    /* CSV: every attribute key seen, sorted, malloc'd */
    size_t n_keys, cap_keys;
    long long n_assets;
} export_run;

/* ---- CSV ----------------------------------------------------------------------- */

/* Adds key to the sorted set of attribute keys unless it is there. */
static int add_key(export_run *run, const char *key)
{
    size_t lo = 0, hi = run->n_keys;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int cmp = strcmp(run->keys[mid], key);
        if (cmp == 0)
            return 0;
        if (cmp < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (run->n_keys == run->cap_keys) {
        size_t cap = run->cap_keys == 0 ? 16 : 2 * run->cap_keys;
        char **keys = realloc(run->keys, cap * sizeof *keys);
        if (keys == NULL)
            return -1;
        run->keys = keys;
        run->cap_keys = cap;
    }
    char *copy = strdup(key);
    if (copy == NULL)
        return -1;
    memmove(&run->keys[lo + 1], &run->keys[lo], (run->n_keys - lo) * sizeof *run->keys);
    run->keys[lo] = copy;
    run->n_keys++;
    return 0;
}

static const char *line_end(const export_run *run)
{
    return run->opts->excel ? "\r\n" : "\n";
}

/* The columns every row has, before the attributes: the field names
 * records.h reads. */
static const char *const fixed_columns[] = {
    "external_id", "name", "kind", "display_name", "description", "owner_unit", "owner", "labels",
};
#define N_FIXED_COLUMNS (sizeof fixed_columns / sizeof fixed_columns[0])

static void write_csv_header(const export_run *run)
{
    char delimiter = run->opts->delimiter;
    if (run->opts->excel)
        fputs(UTF8_BOM, run->out);
    for (size_t i = 0; i < N_FIXED_COLUMNS; i++)
        output_csv_field(run->out, delimiter, i == 0, fixed_columns[i]);
    for (size_t k = 0; k < run->n_keys; k++) {
        char column[VALV_ERROR_FIELD_MAX];
        snprintf(column, sizeof column, ATTRIBUTES_PREFIX "%s", run->keys[k]);
        output_csv_field(run->out, delimiter, false, column);
    }
    fputs(line_end(run), run->out);
}

static const char *kind_name(Valv__V1__AssetKind kind)
{
    const ProtobufCEnumValue *v =
        protobuf_c_enum_descriptor_get_value(&valv__v1__asset_kind__descriptor, kind);
    return kind != 0 && v != NULL ? v->name : "";
}

/* The labels joined with ';', as records.h splits them (a label never
 * holds one); malloc'd, NULL when out of memory. */
static char *join_labels(const Valv__V1__Asset *a)
{
    size_t len = 1;
    for (size_t i = 0; i < a->n_labels; i++)
        len += strlen(a->labels[i]) + 1;
    char *text = malloc(len);
    if (text == NULL)
        return NULL;
    text[0] = '\0';
    for (size_t i = 0; i < a->n_labels; i++) {
        if (i > 0)
            strcat(text, ";");
        strcat(text, a->labels[i]);
    }
    return text;
}

static const char *attribute_value(const Valv__V1__Asset *a, const char *key)
{
    for (size_t i = 0; i < a->n_attributes; i++) {
        if (strcmp(a->attributes[i]->key, key) == 0)
            return a->attributes[i]->value;
    }
    return NULL;
}

static int write_csv_row(const export_run *run, const Valv__V1__Asset *a)
{
    char delimiter = run->opts->delimiter;
    char *labels = join_labels(a);
    if (labels == NULL)
        return -1;
    const char *cells[N_FIXED_COLUMNS] = {
        a->external_id, a->name,       kind_name(a->kind), a->display_name,
        a->description, a->owner_unit, a->owner,           labels,
    };
    for (size_t i = 0; i < N_FIXED_COLUMNS; i++)
        output_csv_field(run->out, delimiter, i == 0, cells[i]);
    for (size_t k = 0; k < run->n_keys; k++)
        output_csv_field(run->out, delimiter, false, attribute_value(a, run->keys[k]));
    fputs(line_end(run), run->out);
    free(labels);
    return 0;
}

/* Writes the spooled assets, now that every attribute key is known. */
static int write_csv(export_run *run)
{
    valv_error err;
    int rc = spool_rewind(run->assets, &err);
    write_csv_header(run);
    while (rc == VALV_OK) {
        Valv__V1__Asset *asset = NULL;
        rc = spool_read(run->assets, &valv__v1__asset__descriptor, (ProtobufCMessage **)&asset,
                        &err);
        if (rc != VALV_OK || asset == NULL)
            break;
        if (write_csv_row(run, asset) != 0)
            rc = valv_error_set(&err, VALV_EINTERNAL, "out of memory");
        valv__v1__asset__free_unpacked(asset, NULL);
    }
    if (rc != VALV_OK) {
        output_error(stderr, &err);
        return ARGS_EXIT_FAILED;
    }
    return ARGS_EXIT_OK;
}

/* ---- JSON Lines ------------------------------------------------------------------ */

/* Sets key to text unless text is empty ("not given" to the reader). */
static int json_put(json_t *obj, const char *key, const char *text)
{
    if (text[0] == '\0')
        return 0;
    return json_object_set_new(obj, key, json_string(text));
}

static int write_json_row(const export_run *run, const Valv__V1__Asset *a)
{
    json_t *obj = json_object();
    if (obj == NULL)
        return -1;
    int rc = json_put(obj, "external_id", a->external_id);
    rc |= json_put(obj, "name", a->name);
    rc |= json_put(obj, "kind", kind_name(a->kind));
    rc |= json_put(obj, "display_name", a->display_name);
    rc |= json_put(obj, "description", a->description);
    rc |= json_put(obj, "owner_unit", a->owner_unit);
    rc |= json_put(obj, "owner", a->owner);
    if (a->n_labels > 0) {
        json_t *labels = json_array();
        for (size_t i = 0; i < a->n_labels; i++)
            rc |= json_array_append_new(labels, json_string(a->labels[i]));
        rc |= json_object_set_new(obj, "labels", labels);
    }
    if (a->n_attributes > 0) {
        json_t *attributes = json_object();
        for (size_t i = 0; i < a->n_attributes; i++)
            rc |= json_object_set_new(attributes, a->attributes[i]->key,
                                      json_string(a->attributes[i]->value));
        rc |= json_object_set_new(obj, "attributes", attributes);
    }
    if (rc == 0)
        rc = json_dumpf(obj, run->out, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (rc == 0)
        fputc('\n', run->out);
    json_decref(obj);
    return rc;
}

/* ---- The stream ------------------------------------------------------------------ */

/* Handles one asset of the stream (cmd_read_stream's take; arg is the
 * export_run): written at once as JSON, parked for CSV. */
static int take_asset(void *arg, const ProtobufCMessage *message, valv_error *err)
{
    export_run *run = arg;
    const Valv__V1__Asset *asset = (const Valv__V1__Asset *)message;
    run->n_assets++;
    if (run->opts->format == EXPORT_JSONL) {
        if (write_json_row(run, asset) != 0)
            return valv_error_set(err, VALV_EINTERNAL, "cannot write asset %s as JSON",
                                  asset->name);
        return VALV_OK;
    }
    for (size_t i = 0; i < asset->n_attributes; i++) {
        if (add_key(run, asset->attributes[i]->key) != 0)
            return valv_error_set(err, VALV_EINTERNAL, "out of memory");
    }
    return spool_write(run->assets, &asset->base, err);
}

static int read_stream(cmd_session *s, export_run *run)
{
    valv_error err;
    valv_error_clear(&err);
    int rc = VALV_OK;
    if (run->opts->format == EXPORT_CSV)
        rc = spool_open(&run->assets, &err);
    if (rc == VALV_OK)
        rc = cmd_read_stream(s, EXPORT_METHOD, &run->opts->req.base, &valv__v1__asset__descriptor,
                             take_asset, run, &err);
    if (rc != VALV_OK) {
        output_error(stderr, &err);
        return ARGS_EXIT_FAILED;
    }
    return ARGS_EXIT_OK;
}

/* ---- The command ----------------------------------------------------------------- */

static bool ends_with_csv(const char *path)
{
    size_t len = strlen(path);
    return len >= 4 && strcasecmp(path + len - 4, ".csv") == 0;
}

static int parse_export_args(cmd_session *s, int argc, char **argv, export_options *o)
{
    static const struct option options[] = {
        {"filter", required_argument, NULL, OPT_FILTER},
        {"show-deleted", no_argument, NULL, OPT_SHOW_DELETED},
        {"output-file", required_argument, NULL, OPT_OUTPUT_FILE},
        {"delimiter", required_argument, NULL, OPT_DELIMITER},
        {"excel", no_argument, NULL, OPT_EXCEL},
        ARGS_COMMON_OPTIONS,
        {0},
    };
    const args_command *cmd = &export_command;
    args_parser p = args_parser_init(cmd, &s->globals, argc, argv, options);
    int rc = ARGS_EXIT_OK;
    int opt;
    while (rc == ARGS_EXIT_OK && (opt = args_next(&p)) != ARGS_END) {
        switch (opt) {
        case ARGS_STOP:
            o->stopped = true;
            return p.exit_code;
        case 'o':
            o->format_given = true;
            if (strcmp(optarg, "csv") == 0)
                o->format = EXPORT_CSV;
            else if (strcmp(optarg, "jsonl") == 0)
                o->format = EXPORT_JSONL;
            else
                rc = args_usage_error(cmd, "-o takes csv or jsonl, not '%s'", optarg);
            break;
        case OPT_FILTER:
            o->req.filter = optarg;
            break;
        case OPT_SHOW_DELETED:
            o->req.show_deleted = true;
            break;
        case OPT_OUTPUT_FILE:
            o->output_file = optarg;
            break;
        case OPT_DELIMITER:
            o->delimiter_given = true;
            o->delimiter = optarg[0];
            if (strcmp(optarg, ",") != 0 && strcmp(optarg, ";") != 0)
                rc = args_usage_error(cmd, "--delimiter takes ',' or ';' (what valv import "
                                           "reads), not '%s'", optarg);
            break;
        case OPT_EXCEL:
            o->excel = true;
            break;
        }
    }
    if (rc == ARGS_EXIT_OK)
        rc = args_operands(&p, 0, 0, "");
    if (rc != ARGS_EXIT_OK)
        return rc;

    /* -o before the command word is the global one: json means JSON Lines. */
    if (!o->format_given && s->globals.format != OUTPUT_TABLE) {
        o->format = s->globals.format == OUTPUT_CSV ? EXPORT_CSV : EXPORT_JSONL;
        o->format_given = true;
    }
    if (!o->format_given)
        o->format = o->excel || o->delimiter_given ||
                            ends_with_csv(o->output_file)
                        ? EXPORT_CSV
                        : EXPORT_JSONL;
    if (o->format != EXPORT_CSV && (o->excel || o->delimiter_given))
        return args_usage_error(cmd, "%s is for CSV; JSON Lines has no delimiter",
                                o->excel ? "--excel" : "--delimiter");
    if (o->excel && o->delimiter_given && o->delimiter != EXCEL_DELIMITER)
        return args_usage_error(cmd, "--excel writes ';' between cells (Swedish Excel reads "
                                     "',' as a decimal comma); leave out --delimiter");
    if (o->excel)
        o->delimiter = EXCEL_DELIMITER;
    return ARGS_EXIT_OK;
}

int cmd_export(cmd_session *s, int argc, char **argv)
{
    export_options opts = {.format = EXPORT_JSONL, .delimiter = ',', .output_file = "-"};
    valv__v1__export_assets_request__init(&opts.req);
    export_run run = {.opts = &opts};
    outfile file;
    valv_error err;

    valv_error_clear(&err);
    int rc = parse_export_args(s, argc, argv, &opts);
    if (rc != ARGS_EXIT_OK || opts.stopped)
        return rc;
    /* Opened first, so that a file that cannot be written costs no stream. */
    if (outfile_open(opts.output_file, 0, &file, &err) != VALV_OK) {
        rc = ARGS_EXIT_FAILED;
        goto done;
    }
    run.out = file.f;
    rc = read_stream(s, &run);
    if (rc == ARGS_EXIT_OK && opts.format == EXPORT_CSV)
        rc = write_csv(&run);
    if (outfile_close(&file, rc == ARGS_EXIT_OK, &err) != VALV_OK)
        rc = ARGS_EXIT_FAILED;
    else if (rc == ARGS_EXIT_OK && strcmp(opts.output_file, "-") != 0)
        fprintf(stderr, "valv: wrote %lld assets to %s\n", run.n_assets, opts.output_file);
done:
    if (err.code != VALV_OK)
        fprintf(stderr, "valv: %s\n", err.message);
    spool_close(run.assets);
    for (size_t k = 0; k < run.n_keys; k++)
        free(run.keys[k]);
    free(run.keys);
    return rc;
}
