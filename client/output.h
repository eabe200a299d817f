/* output.h - how valv prints assets and errors.
 *
 * Three formats, chosen with -o:
 *   table  (default) lists as aligned columns under a header; a single asset
 *          as a "field: value" view of every populated field.
 *   json   one JSON object per line per asset (JSON Lines): proto field
 *          names, enums by name, timestamps in RFC 3339, maps as objects,
 *          bytes (the audit hashes) in standard base64, empty fields left
 *          out: the protobuf JSON mapping.
 *   csv    RFC 4180 with a header row; one attributes.KEY column for every
 *          attribute key found in any asset printed.
 *
 * Every function writes to the FILE it is given and borrows its arguments.
 * Those that return int return 0, or -1 when out of memory or the write
 * failed (errno says which).
 */
#ifndef VALV_OUTPUT_H
#define VALV_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <protobuf-c/protobuf-c.h>

#include "error.h"
#include "valv/v1/asset.pb-c.h"
#include "valv/v1/audit.pb-c.h"

typedef enum {
    OUTPUT_TABLE,
    OUTPUT_JSON,
    OUTPUT_CSV
} output_format;

/* Parses "table", "json" or "csv" into *out. Returns 0, or -1 for any other
 * text. */
int output_format_parse(const char *text, output_format *out);

/* Prints one asset: the detail view in table format, one line in JSON, a
 * header and one row in CSV. */
int output_asset(FILE *out, output_format format, const Valv__V1__Asset *asset);

/* Prints n_assets assets as a list (n_assets may be 0: table and CSV still
 * print their header). */
int output_asset_list(FILE *out, output_format format, Valv__V1__Asset *const *assets,
                      size_t n_assets);

/* Prints n_links links: a FROM TYPE TO CREATED table, one JSON object per
 * line, or CSV. */
int output_link_list(FILE *out, output_format format, Valv__V1__Link *const *links,
                     size_t n_links);

/* Explains where asset's protection comes from: for each dimension the
 * asset's own value, the effective one and the asset it comes from ("own"
 * for itself), then whether it is flagged and its review; as a table (the
 * review details below it) or CSV. JSON prints the asset itself. */
int output_explanation(FILE *out, output_format format, const Valv__V1__Asset *asset);

/* Prints one named value, for commands whose answer is a single word
 * (valv health): the value alone in table format, {"NAME":"VALUE"} in JSON,
 * a header and one row in CSV. */
int output_value(FILE *out, output_format format, const char *name, const char *value);

/* Prints audit events as a list: a REVISION TIME ACTOR ACTION ASSET CHANGES
 * REASON table (ASSET "FROM -> TO" for a link; each change
 * "FIELD: BEFORE -> AFTER", "FIELD: AFTER" when it had no value, "FIELD:
 * BEFORE -> (none)" when it has none, joined with "; "; changes and reason cut to fit a screen, ending in "..."), one
 * JSON object per event, or CSV with request_id, related_asset,
 * cause_revision and every change. */
int output_audit_list(FILE *out, output_format format, Valv__V1__AuditEvent *const *events,
                      size_t n_events);

/* For events printed one at a time as they arrive (valv watch): starts the
 * output (the CSV header; nothing in the other formats) ... */
int output_audit_stream_start(FILE *out, output_format format);

/* ... then prints each event on its own line: the table's columns separated
 * by two spaces with every change and the whole reason, one JSON object,
 * or one CSV row. */
int output_audit_event(FILE *out, output_format format, const Valv__V1__AuditEvent *event);

/* Writes one RFC 4180 field, preceded by delimiter unless it is the first
 * of its row: quoted only when it holds the delimiter, a quote or a line
 * break, quotes inside doubled. NULL is an empty field. */
void output_csv_field(FILE *out, char delimiter, bool first, const char *value);

/* Room for output_time's text. */
#define OUTPUT_TIME_MAX 48

/* ts as RFC 3339 in UTC ("2026-11-22T16:05:00Z") into buf, the way every
 * command prints times. with_fraction adds the nanoseconds, in 3, 6 or 9
 * digits as the protobuf JSON mapping does; tables leave them out. "" for
 * NULL. */
void output_time(const Google__Protobuf__Timestamp *ts, bool with_fraction,
                 char buf[OUTPUT_TIME_MAX]);

/* Prints any message as one line of JSON, with the conventions above. */
int output_message_json(FILE *out, const ProtobufCMessage *message);

/* Prints err for a person: "valv: CODE: message" and one line
 * "  - field: description" per field violation. */
void output_error(FILE *out, const valv_error *err);

#endif
