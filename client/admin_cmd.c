/* admin_cmd.c - valv admin: server information (Admin.GetServerInfo) and
 * backups (Admin.Backup). */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "commands.h"
#include "outfile.h"
#include "valv/v1/admin.pb-c.h"

#define METHOD_PREFIX "/valv.v1.Admin/"

enum { OPT_FORCE = ARGS_OPT_FIRST_COMMAND_OPTION };

static const args_command admin_group = {
    .path = "valv admin",
    .has_subcommands = true,
    .usage = "Usage: valv admin COMMAND ...\n"
             "\n"
             "Looking after valvd. These commands need the admin role.\n"
             "\n"
             "Commands:\n"
             "  info       version, revision, asset counts, uptime and database size\n"
             "  backup     copy the whole database into a file, while valvd serves\n"
             "\n" ARGS_GLOBAL_FLAGS_HELP "\n"
             "Examples:\n"
             "  valv admin info\n"
             "  valv admin backup valv-2026-11-01.mdb\n"
             "\n"
             "Run 'valv admin COMMAND --help' for the flags of a command.\n",
};

static const args_command info_command = {
    .path = "valv admin info",
    .usage = "Usage: valv admin info\n"
             "\n"
             "Prints valvd's version and schema version, the store's current revision,\n"
             "how many assets are live and deleted, when valvd started and how long it\n"
             "has run, and the database's size: the bytes in use, the current map size\n"
             "and the largest it may grow to (valvd --max-db-size).\n"
             "\n" ARGS_GLOBAL_FLAGS_HELP "\n"
             "Examples:\n"
             "  valv admin info\n"
             "  valv -o json admin info\n",
};

static const args_command backup_command = {
    .path = "valv admin backup",
    .usage = "Usage: valv admin backup [--force] FILE\n"
             "\n"
             "Writes a consistent copy of the whole database to FILE while valvd goes on\n"
             "serving, then prints its size and the revision it holds. The copy goes to\n"
             "a new temporary file next to FILE (FILE.XXXXXX, removed if the backup\n"
             "fails), is flushed to disk, and only then takes FILE's name: FILE is never\n"
             "half written. FILE is readable by you alone (it holds every asset). '-'\n"
             "writes the copy to standard output (not a terminal) and the summary to\n"
             "standard error.\n"
             "\n"
             "To restore: stop valvd, put the file in an empty directory as data.mdb,\n"
             "check it with 'valvd verify --data-dir DIR', and start valvd with\n"
             "--data-dir DIR.\n"
             "\n"
             "Flags:\n"
             "  --force                replace FILE if it exists (default: refuse)\n"
             "\n" ARGS_GLOBAL_FLAGS_HELP "\n"
             "Examples:\n"
             "  valv admin backup valv-2026-11-01.mdb\n"
             "  valv admin backup - | gzip > valv.mdb.gz\n",
};

/* ---- Printing a record ------------------------------------------------------------ */

/* One named figure of a record: a number, or text when text is set. */
typedef struct {
    const char *name;
    const char *text;
    int64_t number;
} record_field;

/* Prints fields as "name: value" lines (table), a header and one row
 * (csv), or one JSON object. Returns 0, or -1 when the write failed. */
static int print_record(FILE *out, output_format format, const record_field *fields, size_t n)
{
    char number[24];
    int width = 0;

    if (format == OUTPUT_JSON) {
        json_t *obj = json_object();
        for (size_t i = 0; i < n && obj != NULL; i++)
            json_object_set_new(obj, fields[i].name,
                                fields[i].text != NULL ? json_string(fields[i].text)
                                                       : json_integer(fields[i].number));
        char *line = obj != NULL ? json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
        json_decref(obj);
        if (line == NULL) {
            errno = ENOMEM;
            return -1;
        }
        int rc = fprintf(out, "%s\n", line) < 0 ? -1 : 0;
        free(line);
        return rc;
    }
    for (size_t i = 0; i < n; i++)
        if ((int)strlen(fields[i].name) > width)
            width = (int)strlen(fields[i].name);
    for (int row = 0; row < (format == OUTPUT_CSV ? 2 : 1); row++) {
        for (size_t i = 0; i < n; i++) {
            const char *value = fields[i].text;
            if (value == NULL) {
                snprintf(number, sizeof number, "%lld", (long long)fields[i].number);
                value = number;
            }
            if (format == OUTPUT_CSV)
                output_csv_field(out, ',', i == 0, row == 0 ? fields[i].name : value);
            else
                fprintf(out, "%s:%*s %s\n", fields[i].name, width - (int)strlen(fields[i].name),
                        "", value);
        }
        if (format == OUTPUT_CSV)
            fputs("\r\n", out); /* as every CSV valv writes (RFC 4180) */
    }
    return ferror(out) ? -1 : 0;
}

/* ---- valv admin info -------------------------------------------------------------- */

static int admin_info(cmd_session *s, int argc, char **argv)
{
    Valv__V1__GetServerInfoRequest req = VALV__V1__GET_SERVER_INFO_REQUEST__INIT;
    Valv__V1__ServerInfo *info = NULL;
    char start[OUTPUT_TIME_MAX];
    args_parser p;

    if (args_parse_common(&info_command, &s->globals, argc, argv, 0, 0, "", &p) == ARGS_STOP)
        return p.exit_code;
    int rc = cmd_call(s, METHOD_PREFIX "GetServerInfo", &req.base,
                      &valv__v1__server_info__descriptor, (ProtobufCMessage **)&info);
    if (rc != ARGS_EXIT_OK)
        return rc;
    output_time(info->start_time, false, start);
    const record_field fields[] = {
        {"version", info->version, 0},
        {"schema_version", NULL, info->schema_version},
        {"revision", NULL, info->revision},
        {"asset_count", NULL, info->asset_count},
        {"deleted_asset_count", NULL, info->deleted_asset_count},
        {"start_time", start, 0},
        {"uptime_seconds", NULL, info->uptime_seconds},
        {"database_bytes", NULL, info->database_bytes},
        {"map_bytes", NULL, info->map_bytes},
        {"map_bytes_max", NULL, info->map_bytes_max},
    };
    rc = cmd_output_status(stdout, print_record(stdout, s->globals.format, fields,
                                           sizeof fields / sizeof fields[0]));
    valv__v1__server_info__free_unpacked(info, NULL);
    return rc;
}

/* ---- valv admin backup ------------------------------------------------------------ */

/* Where the backup's chunks go, and what came. */
typedef struct {
    FILE *out;
    const char *shown; /* out's name in errors */
    int64_t bytes;
    int64_t revision; /* the revision the copy is of (the first chunk says) */
} backup_sink;

/* cmd_read_stream's take: one chunk, written to the sink (arg). */
static int take_chunk(void *arg, const ProtobufCMessage *message, valv_error *err)
{
    backup_sink *sink = arg;
    const Valv__V1__BackupChunk *chunk = (const Valv__V1__BackupChunk *)message;
    if (sink->bytes == 0)
        sink->revision = chunk->revision;
    sink->bytes += (int64_t)chunk->data.len;
    /* Stops at the first failed write rather than stream the rest for nothing. */
    if (fwrite(chunk->data.data, 1, chunk->data.len, sink->out) != chunk->data.len)
        return valv_error_set(err, VALV_EUNAVAILABLE, "cannot write %s: %s", sink->shown,
                              strerror(errno));
    return VALV_OK;
}

/* Streams the backup into out, which shown names in errors; *bytes and
 * *revision say what came. */
static int receive_backup(cmd_session *s, FILE *out, const char *shown, int64_t *bytes,
                          int64_t *revision, valv_error *err)
{
    Valv__V1__BackupRequest req = VALV__V1__BACKUP_REQUEST__INIT;
    backup_sink sink = {.out = out, .shown = shown};
    int rc = cmd_read_stream(s, METHOD_PREFIX "Backup", &req.base,
                             &valv__v1__backup_chunk__descriptor, take_chunk, &sink, err);
    *bytes = sink.bytes;
    *revision = sink.revision;
    if (rc == VALV_OK && sink.bytes == 0)
        rc = valv_error_set(err, VALV_EINTERNAL, "valvd sent an empty backup");
    return rc;
}

static int admin_backup(cmd_session *s, int argc, char **argv)
{
    static const struct option options[] = {
        {"force", no_argument, NULL, OPT_FORCE},
        ARGS_COMMON_OPTIONS,
        {0},
    };
    bool force = false;
    int64_t bytes = 0, revision = 0;
    struct stat st;
    valv_error err;

    valv_error_clear(&err);
    args_parser p = args_parser_init(&backup_command, &s->globals, argc, argv, options);
    int opt;
    while ((opt = args_next(&p)) != ARGS_END) {
        switch (opt) {
        case ARGS_STOP:
            return p.exit_code;
        case OPT_FORCE:
            force = true;
            break;
        }
    }
    int rc = args_operands(&p, 1, 1, "FILE");
    if (rc != ARGS_EXIT_OK)
        return rc;
    const char *path = argv[optind];
    bool to_stdout = strcmp(path, "-") == 0;
    if (to_stdout && isatty(STDOUT_FILENO))
        return args_usage_error(&backup_command,
                                "standard output is a terminal; redirect it to a file or a "
                                "pipe, or name a FILE");
    if (!to_stdout && !force && stat(path, &st) == 0)
        return args_usage_error(&backup_command, "%s exists; give --force to replace it", path);

    outfile file;
    rc = outfile_open(path, OUTFILE_PRIVATE | (force ? 0 : OUTFILE_NO_REPLACE), &file, &err);
    if (rc == VALV_OK) {
        rc = receive_backup(s, file.f, to_stdout ? "standard output" : path, &bytes, &revision,
                            &err);
        if (outfile_close(&file, rc == VALV_OK, &err) != VALV_OK)
            rc = VALV_EUNAVAILABLE;
    }
    if (rc != VALV_OK) {
        output_error(stderr, &err);
        return ARGS_EXIT_FAILED;
    }
    /* Standard output may hold the copy itself: the summary then goes to stderr. */
    FILE *out = to_stdout ? stderr : stdout;
    const record_field fields[] = {
        {"file", path, 0},
        {"bytes", NULL, bytes},
        {"revision", NULL, revision},
    };
    return cmd_output_status(out, print_record(out, s->globals.format, fields,
                                          sizeof fields / sizeof fields[0]));
}

/* ---- valv admin ----------------------------------------------------------------- */

int cmd_admin(cmd_session *s, int argc, char **argv)
{
    static const cmd_entry commands[] = {
        {"info", admin_info},
        {"backup", admin_backup},
        {NULL, NULL},
    };
    return cmd_run_group(s, &admin_group, commands, argc, argv);
}
