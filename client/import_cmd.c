/* import_cmd.c - valv import: creates and updates assets from a CSV or JSON
 * Lines file through the ImportAssets stream.
 *
 * Records go out in batches as they are read, so memory stays flat however
 * long the file, and valvd sets the pace (rpc_upload_send waits for the
 * previous batch). A SYNC or atomic import first reads its whole input into
 * a spool and sends nothing when a record cannot be read: SYNC would delete
 * the assets on the unreadable lines, and atomic promises all or nothing.
 * (Cancelling the stream instead would not do: a non-atomic SYNC import
 * commits each batch as it arrives.)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "limits.h"
#include "records.h"
#include "spool.h"
#include "valv/v1/import.pb-c.h"
#include "valv/v1/inventory.pb-c.h"

#define IMPORT_METHOD "/valv.v1.Inventory/ImportAssets"
#define IMPORT_BATCH_DEFAULT 500
#define IMPORT_BATCH_MAX 1000 /* records in one ImportBatch (import.proto) */
/* The bytes a record's tag and length add to a batch message, at most
 * (its own size is measured). */
#define IMPORT_RECORD_FRAMING 8
/* Unreadable records listed by name, like the server's failures. */
#define IMPORT_REFUSALS_KEPT 1000
#define PROGRESS_INTERVAL_MS 250
#define STDIN_NAME "stdin"

enum {
    OPT_SOURCE = ARGS_OPT_FIRST_COMMAND_OPTION,
    OPT_SYNC,
    OPT_DRY_RUN,
    OPT_ATOMIC,
    OPT_FORMAT,
    OPT_BATCH
};

static const args_command import_command = {
    .path = "valv import",
    .usage =
        "Usage: valv import FILE|- --source NAME [--sync] [--dry-run] [--atomic]\n"
        "                   [--format csv|jsonl] [--batch N]\n"
        "\n"
        "Creates and updates assets from FILE ('-' reads standard input): what a CMDB,\n"
        "a discovery scan or a spreadsheet says exists. Each record is keyed by its\n"
        "source and external_id; a record without external_id but with a name\n"
        "(assets/ID) updates that existing asset. An import sets inventory facts only\n"
        "(kind, names, description, owner unit, owner, attributes, labels, links): a\n"
        "record with a classification.* or security.* value is refused. Importing the\n"
        "same file again changes nothing. 'valv export' writes files this reads back.\n"
        "\n"
        "CSV: a header row names the columns: external_id, name, kind, display_name,\n"
        "description, owner_unit, owner, labels (separated by ';'), attributes.KEY,\n"
        "links.TYPE (target external ids or assets/ID separated by ';'; TYPE\n"
        "processed_by, stored_in, hosted_in, depends_on or part_of). Comma or\n"
        "semicolon delimited, UTF-8 with or without a byte order mark (as Excel saves\n"
        "it). JSON Lines: one object per line with the same field names, labels an\n"
        "array, attributes an object.\n"
        "\n"
        "Prints the counts (created, updated, unchanged, deleted, failed) and each\n"
        "failed record as 'FILE:LINE (EXTERNAL_ID): reason'. Records that cannot be\n"
        "read are listed the same way and count as failed; the others are imported,\n"
        "except with --sync or --atomic, where one unreadable record stops the whole\n"
        "import before anything is sent. A progress line is shown on a terminal.\n"
        "\n"
        "Flags:\n"
        "  --source NAME        the inventory the records come from, such as cmdb\n"
        "                       (required; lower case letters, digits and '-')\n"
        "  --sync               also delete this source's assets that are not in FILE\n"
        "  --dry-run            report what would happen; write nothing\n"
        "  --atomic             all or nothing: if one record fails, nothing is written\n"
        "  --format FORMAT      csv or jsonl (default: jsonl when the input starts\n"
        "                       with '{', csv otherwise)\n"
        "  --batch N            records per message, 1-1000 (default 500)\n"
        "\n"
        "Global flags (before or after the command):\n"
        "  --addr HOST:PORT     valvd's address (default: $VALV_ADDR, else " ARGS_DEFAULT_ADDR
        ")\n"
        "  --timeout SECONDS    how long the whole import may take (default: no limit)\n"
        "  -h, --help           show this help\n"
        "\n"
        "Exit status: 0 every record was imported, 1 a record failed or the import\n"
        "did not run (the reasons are printed), 2 the command line was wrong.\n"
        "\n"
        "Examples:\n"
        "  valv import systems.csv --source cmdb --dry-run\n"
        "  valv import systems.csv --source cmdb --sync\n"
        "  discovery-scan --jsonl | valv import - --source discovery --atomic\n",
};

/* One line of the report: a record that failed, where it is in the input. */
typedef struct {
    long line; /* 0 when unknown */
    char *text;
} report_line;

typedef struct {
    report_line *items;
    size_t n, cap;
} report_lines;

typedef struct {
    /* What the user asked for. */
    const char *path;       /* the FILE operand */
    const char *input_name; /* in origins: the path, or STDIN_NAME */
    Valv__V1__ImportHeader header;
    records_format format;
    size_t batch_size;

    FILE *in;
    records_reader *reader;
    spool *records; /* SYNC and atomic: every record read, before any is sent */

    report_lines refused; /* the first unreadable records */
    long long n_refused;  /* all of them */
    long long n_sent;

    bool show_progress;
    struct timespec started;
    long long progress_shown_ms; /* when the progress line was last written */
} import_run;

static long long elapsed_ms(const import_run *run)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (long long)(now.tv_sec - run->started.tv_sec) * 1000 +
           (now.tv_nsec - run->started.tv_nsec) / 1000000;
}

/* Rewrites the progress line, at most every PROGRESS_INTERVAL_MS. */
static void show_progress(import_run *run)
{
    long long ms = elapsed_ms(run);
    if (!run->show_progress || ms - run->progress_shown_ms < PROGRESS_INTERVAL_MS)
        return;
    run->progress_shown_ms = ms;
    double per_second = ms > 0 ? (double)run->n_sent * 1000.0 / (double)ms : 0.0;
    fprintf(stderr, "\r%lld records sent, %.0f records/s ", run->n_sent, per_second);
    fflush(stderr);
}

static void clear_progress(const import_run *run)
{
    if (run->show_progress && run->progress_shown_ms > 0)
        fputs("\r\033[K", stderr);
}

/* ---- The report --------------------------------------------------------------- */

/* The LINE of text that starts "NAME:LINE", NAME the input's name; 0 when
 * it does not. */
static long line_in(const char *text, const char *input_name)
{
    size_t len = strlen(input_name);
    if (strncmp(text, input_name, len) != 0 || text[len] != ':')
        return 0;
    return strtol(text + len + 1, NULL, 10);
}

/* Adds text (taken: freed with the list) to lines. */
static int report_add(report_lines *lines, long line, char *text)
{
    if (lines->n == lines->cap) {
        size_t cap = lines->cap == 0 ? 16 : 2 * lines->cap;
        report_line *items = realloc(lines->items, cap * sizeof *items);
        if (items == NULL) {
            free(text);
            fputs("valv: out of memory\n", stderr);
            return ARGS_EXIT_FAILED;
        }
        lines->items = items;
        lines->cap = cap;
    }
    lines->items[lines->n++] = (report_line){.line = line, .text = text};
    return ARGS_EXIT_OK;
}

static void report_free(report_lines *lines)
{
    for (size_t i = 0; i < lines->n; i++)
        free(lines->items[i].text);
    free(lines->items);
    *lines = (report_lines){0};
}

static int compare_lines(const void *a, const void *b)
{
    long la = ((const report_line *)a)->line, lb = ((const report_line *)b)->line;
    return (la > lb) - (la < lb);
}

static void report_print(FILE *out, report_lines *lines)
{
    if (lines->n > 1)
        qsort(lines->items, lines->n, sizeof *lines->items, compare_lines);
    for (size_t i = 0; i < lines->n; i++)
        fprintf(out, "%s\n", lines->items[i].text);
}

/* Keeps a record the reader refused (err says where and why). */
static int refuse(import_run *run, const valv_error *err)
{
    run->n_refused++;
    if (run->refused.n >= IMPORT_REFUSALS_KEPT)
        return ARGS_EXIT_OK;
    char *text = strdup(err->message);
    if (text == NULL) {
        fputs("valv: out of memory\n", stderr);
        return ARGS_EXIT_FAILED;
    }
    return report_add(&run->refused, line_in(err->message, run->input_name), text);
}

/* "FILE:LINE (EXTERNAL_ID): reason" for a record valvd refused. */
static int add_failure(report_lines *lines, const import_run *run,
                       const Valv__V1__ImportFailure *f)
{
    char *text;
    char index[32];
    snprintf(index, sizeof index, "record %lld", (long long)f->index + 1);
    const char *where = f->origin[0] != '\0' ? f->origin : index;
    int n = f->external_id[0] != '\0'
                ? asprintf(&text, "%s (%s): %s", where, f->external_id, f->reason)
                : asprintf(&text, "%s: %s", where, f->reason);
    if (n < 0) {
        fputs("valv: out of memory\n", stderr);
        return ARGS_EXIT_FAILED;
    }
    return report_add(lines, line_in(where, run->input_name), text);
}

/* Prints the counts and every failure, valvd's and the reader's, in the
 * order of the input. */
static int print_report(import_run *run, const Valv__V1__ImportAssetsResponse *resp)
{
    long long failed = resp->failed + run->n_refused;
    long long listed = (long long)resp->n_failures + (long long)run->refused.n;
    if (resp->dry_run)
        puts("dry run: nothing was written; the counts say what the import would do");
    if (resp->rolled_back)
        printf("rolled back: the import is atomic and %lld record%s failed, so nothing was "
               "written\n",
               failed, failed == 1 ? "" : "s");
    printf("created %lld, updated %lld, unchanged %lld, deleted %lld, failed %lld\n",
           (long long)resp->created, (long long)resp->updated, (long long)resp->unchanged,
           (long long)resp->deleted, failed);

    /* The refusals move into the list, which frees them. */
    report_lines lines = run->refused;
    run->refused = (report_lines){0};
    int rc = ARGS_EXIT_OK;
    for (size_t i = 0; i < resp->n_failures && rc == ARGS_EXIT_OK; i++)
        rc = add_failure(&lines, run, resp->failures[i]);
    report_print(stdout, &lines);
    report_free(&lines);
    if (failed > listed)
        printf("... and %lld more failed records not listed\n", failed - listed);
    if (rc == ARGS_EXIT_OK && fflush(stdout) != 0)
        rc = ARGS_EXIT_FAILED;
    if (rc == ARGS_EXIT_OK && failed > 0)
        rc = ARGS_EXIT_FAILED;
    return rc;
}

/* ---- Reading --------------------------------------------------------------------- */

/* The next record the reader can read, or NULL at the end of the input.
 * Records it refuses are kept for the report and skipped. */
static int read_record(import_run *run, Valv__V1__ImportRecord **out)
{
    for (;;) {
        valv_error err;
        if (records_next(run->reader, out, &err) == VALV_OK)
            return ARGS_EXIT_OK;
        if (refuse(run, &err) != ARGS_EXIT_OK)
            return ARGS_EXIT_FAILED;
    }
}

/* The next record to send: from the spool when there is one. */
static int next_record(import_run *run, Valv__V1__ImportRecord **out)
{
    if (run->records == NULL)
        return read_record(run, out);
    valv_error err;
    if (spool_read(run->records, &valv__v1__import_record__descriptor,
                   (ProtobufCMessage **)out, &err) != VALV_OK) {
        output_error(stderr, &err);
        return ARGS_EXIT_FAILED;
    }
    return ARGS_EXIT_OK;
}

/* SYNC and atomic: reads the whole input into the spool. When a record
 * cannot be read, says so and that nothing was imported, and fails. */
static int read_all(import_run *run)
{
    valv_error err;
    if (spool_open(&run->records, &err) != VALV_OK) {
        output_error(stderr, &err);
        return ARGS_EXIT_FAILED;
    }
    for (;;) {
        Valv__V1__ImportRecord *record = NULL;
        if (read_record(run, &record) != ARGS_EXIT_OK)
            return ARGS_EXIT_FAILED;
        if (record == NULL)
            break;
        int rc = spool_write(run->records, &record->base, &err);
        valv__v1__import_record__free_unpacked(record, NULL);
        if (rc != VALV_OK) {
            output_error(stderr, &err);
            return ARGS_EXIT_FAILED;
        }
    }
    if (run->n_refused > 0) {
        report_print(stderr, &run->refused);
        if (run->n_refused > (long long)run->refused.n)
            fprintf(stderr, "... and %lld more unreadable records\n",
                    run->n_refused - (long long)run->refused.n);
        if (run->header.mode == VALV__V1__IMPORT_MODE__SYNC)
            fprintf(stderr,
                    "valv: nothing was imported: a SYNC import with unreadable records would "
                    "delete the assets on those lines; fix %s and run it again\n",
                    run->input_name);
        else
            fprintf(stderr,
                    "valv: nothing was imported: an atomic import imports every record or "
                    "none, and %lld could not be read; fix %s and run it again\n",
                    run->n_refused, run->input_name);
        return ARGS_EXIT_FAILED;
    }
    if (spool_rewind(run->records, &err) != VALV_OK) {
        output_error(stderr, &err);
        return ARGS_EXIT_FAILED;
    }
    return ARGS_EXIT_OK;
}

/* ---- Sending ------------------------------------------------------------------- */

/* What a record adds to its batch message. */
static size_t record_wire_size(const Valv__V1__ImportRecord *record)
{
    return protobuf_c_message_get_packed_size(&record->base) + IMPORT_RECORD_FRAMING;
}

/* Sends records[0..n) as one batch and frees them. */
static int send_batch(import_run *run, rpc_upload *up, Valv__V1__ImportRecord **records,
                      size_t n, valv_error *err)
{
    Valv__V1__ImportBatch batch = VALV__V1__IMPORT_BATCH__INIT;
    Valv__V1__ImportAssetsRequest req = VALV__V1__IMPORT_ASSETS_REQUEST__INIT;
    batch.n_records = n;
    batch.records = records;
    req.message_case = VALV__V1__IMPORT_ASSETS_REQUEST__MESSAGE_BATCH;
    req.batch = &batch;
    int rc = rpc_upload_send(up, &req.base, err);
    for (size_t i = 0; i < n; i++)
        valv__v1__import_record__free_unpacked(records[i], NULL);
    if (rc == VALV_OK) {
        run->n_sent += (long long)n;
        show_progress(run);
    }
    return rc;
}

/* Sends every record in batches of at most run->batch_size records and
 * VALV_MESSAGE_MAX bytes. Returns ARGS_EXIT_FAILED after printing what went
 * wrong on this side; a failed call is left in err (err->code). */
static int send_records(import_run *run, rpc_upload *up, valv_error *err)
{
    Valv__V1__ImportRecord **batch = calloc(run->batch_size, sizeof *batch);
    Valv__V1__ImportRecord *record = NULL;
    size_t n = 0, bytes = 0;
    int rc = ARGS_EXIT_OK;

    if (batch == NULL) {
        fputs("valv: out of memory\n", stderr);
        return ARGS_EXIT_FAILED;
    }
    for (;;) {
        rc = next_record(run, &record);
        if (rc != ARGS_EXIT_OK)
            break;
        size_t size = record != NULL ? record_wire_size(record) : 0;
        /* The batch's own tag and length take one framing more. */
        bool full = n == run->batch_size ||
                    bytes + size > VALV_MESSAGE_MAX - IMPORT_RECORD_FRAMING;
        if (n > 0 && (record == NULL || full)) {
            int sent = send_batch(run, up, batch, n, err);
            n = 0;
            bytes = 0;
            if (sent != VALV_OK)
                break;
        }
        if (record == NULL)
            break;
        batch[n++] = record;
        bytes += size;
        record = NULL;
    }
    for (size_t i = 0; i < n; i++)
        valv__v1__import_record__free_unpacked(batch[i], NULL);
    if (record != NULL)
        valv__v1__import_record__free_unpacked(record, NULL);
    free(batch);
    return rc;
}

/* Runs the call: header, batches, reply. On success *resp_out is the reply
 * (the caller frees it). */
static int upload(cmd_session *s, import_run *run, Valv__V1__ImportAssetsResponse **resp_out)
{
    rpc_upload *up = NULL;
    valv_error err;
    valv_error_clear(&err);
    *resp_out = NULL;

    int rc = ARGS_EXIT_OK;
    if (cmd_connect(s, &err) == VALV_OK &&
        rpc_upload_open(s->conn, IMPORT_METHOD, s->globals.timeout_ms, &up, &err) == VALV_OK) {
        Valv__V1__ImportAssetsRequest req = VALV__V1__IMPORT_ASSETS_REQUEST__INIT;
        req.message_case = VALV__V1__IMPORT_ASSETS_REQUEST__MESSAGE_HEADER;
        req.header = &run->header;
        if (rpc_upload_send(up, &req.base, &err) == VALV_OK)
            rc = send_records(run, up, &err);
        if (rc == ARGS_EXIT_OK && err.code == VALV_OK)
            rpc_upload_finish(up, &valv__v1__import_assets_response__descriptor,
                              (ProtobufCMessage **)resp_out, &err);
    }
    /* Cancels the call when it did not finish: valvd then ends the import
     * without its SYNC deletions, and an atomic one without any write. */
    rpc_upload_close(up);
    clear_progress(run);
    if (rc == ARGS_EXIT_OK && err.code != VALV_OK) {
        output_error(stderr, &err);
        rc = ARGS_EXIT_FAILED;
    }
    /* These refuse the import as a whole (a bad header, no right to the
     * source); the others may end it after some batches were committed. */
    bool refused = err.code == VALV_EINVAL || err.code == VALV_EUNIMPLEMENTED ||
                   err.code == VALV_EPERM || err.code == VALV_EUNAUTHENTICATED;
    if (rc != ARGS_EXIT_OK && run->n_sent > 0 && !refused && !run->header.atomic &&
        !run->header.dry_run)
        fprintf(stderr,
                "valv: the import stopped after %lld record%s sent; those valvd received may "
                "have been imported. Importing the same file again is safe: records imported "
                "already count as unchanged\n",
                run->n_sent, run->n_sent == 1 ? " was" : "s were");
    return rc;
}

/* ---- The command ----------------------------------------------------------------- */

static int parse_format(const char *text, records_format *out)
{
    if (strcmp(text, "csv") == 0)
        *out = RECORDS_CSV;
    else if (strcmp(text, "jsonl") == 0)
        *out = RECORDS_JSONL;
    else
        return args_usage_error(&import_command, "--format takes csv or jsonl, not '%s'", text);
    return ARGS_EXIT_OK;
}

static int parse_import_args(cmd_session *s, int argc, char **argv, import_run *run)
{
    static const struct option options[] = {
        {"source", required_argument, NULL, OPT_SOURCE},
        {"sync", no_argument, NULL, OPT_SYNC},
        {"dry-run", no_argument, NULL, OPT_DRY_RUN},
        {"atomic", no_argument, NULL, OPT_ATOMIC},
        {"format", required_argument, NULL, OPT_FORMAT},
        {"batch", required_argument, NULL, OPT_BATCH},
        ARGS_COMMON_OPTIONS,
        {0},
    };
    args_parser p = args_parser_init(&import_command, &s->globals, argc, argv, options);
    Valv__V1__ImportHeader *h = &run->header;
    long batch = IMPORT_BATCH_DEFAULT;
    int rc = ARGS_EXIT_OK;
    int opt;
    while (rc == ARGS_EXIT_OK && (opt = args_next(&p)) != ARGS_END) {
        switch (opt) {
        case ARGS_STOP:
            return p.exit_code;
        case OPT_SOURCE:
            h->source = optarg;
            break;
        case OPT_SYNC:
            h->mode = VALV__V1__IMPORT_MODE__SYNC;
            break;
        case OPT_DRY_RUN:
            h->dry_run = true;
            break;
        case OPT_ATOMIC:
            h->atomic = true;
            break;
        case OPT_FORMAT:
            rc = parse_format(optarg, &run->format);
            break;
        case OPT_BATCH:
            rc = args_parse_int(&import_command, "--batch", optarg, 1, IMPORT_BATCH_MAX, &batch);
            break;
        }
    }
    if (rc == ARGS_EXIT_OK)
        rc = args_operands(&p, 1, 1, "FILE (or '-' for standard input)");
    if (rc == ARGS_EXIT_OK && h->source[0] == '\0')
        rc = args_usage_error(&import_command,
                              "missing --source NAME: name the inventory the records come "
                              "from, such as --source cmdb");
    if (rc == ARGS_EXIT_OK) {
        run->path = argv[optind];
        run->input_name = strcmp(run->path, "-") == 0 ? STDIN_NAME : run->path;
        run->batch_size = (size_t)batch;
    }
    return rc;
}

static int import_file(cmd_session *s, import_run *run)
{
    Valv__V1__ImportAssetsResponse *resp = NULL;
    valv_error err;

    run->in = strcmp(run->path, "-") == 0 ? stdin : fopen(run->path, "r");
    if (run->in == NULL) {
        fprintf(stderr, "valv: cannot open %s: %m\n", run->path);
        return ARGS_EXIT_FAILED;
    }
    if (records_open(run->in, run->format, run->input_name, &run->reader, &err) != VALV_OK) {
        fprintf(stderr, "valv: %s\nnothing was imported\n", err.message);
        return ARGS_EXIT_FAILED;
    }
    int rc = ARGS_EXIT_OK;
    if (run->header.mode == VALV__V1__IMPORT_MODE__SYNC || run->header.atomic)
        rc = read_all(run);
    if (rc == ARGS_EXIT_OK) {
        clock_gettime(CLOCK_MONOTONIC, &run->started);
        rc = upload(s, run, &resp);
    }
    if (rc == ARGS_EXIT_OK)
        rc = print_report(run, resp);
    if (resp != NULL)
        valv__v1__import_assets_response__free_unpacked(resp, NULL);
    return rc;
}

int cmd_import(cmd_session *s, int argc, char **argv)
{
    import_run run = {.format = RECORDS_AUTO};
    valv__v1__import_header__init(&run.header);
    run.header.mode = VALV__V1__IMPORT_MODE__UPSERT;
    run.show_progress = isatty(STDERR_FILENO);

    int rc = parse_import_args(s, argc, argv, &run);
    if (rc == ARGS_EXIT_OK && run.path != NULL) /* no path: --help was shown */
        rc = import_file(s, &run);

    spool_close(run.records);
    records_close(run.reader);
    if (run.in != NULL && run.in != stdin)
        fclose(run.in);
    report_free(&run.refused);
    return rc;
}
