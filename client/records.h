/* records.h - reads the records of `valv import` from CSV or JSON Lines.
 *
 * A reader turns a stream of text into ImportRecords, one at a time, so
 * that memory stays flat however long the input is. It reads back exactly
 * what `valv export` and `valv asset list -o csv` and `-o json` write.
 *
 * CSV (RFC 4180): a header row names the columns; comma or semicolon
 * delimited (whichever comes first in the header line: Swedish Excel writes
 * semicolons); UTF-8 with or without a byte order mark; CRLF or LF; quoted
 * cells may hold delimiters, line breaks and doubled quotes. Cells are
 * taken exactly as written: quote a value to start it with a space. Empty
 * lines, and rows whose cells are all empty or blank (a spreadsheet's
 * ";;;;"), are skipped. Columns:
 *   external_id, kind, display_name, description, owner_unit, owner
 *   name                the asset ("assets/ID") a record without external_id
 *                       updates; with an external_id the server checks that
 *                       both name the same asset
 *   labels              labels separated by ';'
 *   attributes.KEY      one column per attribute key
 *   links.TYPE          TYPE processed_by, stored_in, hosted_in, depends_on
 *                       or part_of (any case, '-' for '_'): target external
 *                       ids separated by ';'; "assets/ID" targets an asset
 *                       by name instead
 *   classification.{confidentiality,integrity,availability,traceability,
 *                   rationale}, security.{security_class,security_sensitive,
 *                   protected_object,decision_ref}
 *                       read into the record so that the server refuses
 *                       them by name (an import never sets protection)
 *   source, revision, etag, create_time, update_time, delete_time,
 *   create_by, update_by, delete_by, effective.*, review.*
 *                       written by export, skipped on import
 * Column names are matched in any case. An empty cell means "not given";
 * so does "false" in the security flags (export writes "false" for every
 * asset), so a record carries classification or security only when some
 * value is actually set. Items of labels and links cells are trimmed of
 * spaces; empty items are skipped. kind takes the enum names and
 * information, it-system, facility in any case; levels the level number
 * 0-4 or the enum name (SIGNIFICANT); security classes the enum name;
 * flags true/false or yes/no.
 *
 * JSON Lines: one object per line, with the field names of
 * `valv asset list -o json` (the proto field names): "attributes" an object,
 * "labels" an array, "links" an array of {"type", "to_external_id" or
 * "to_asset"}, "classification" and "security" objects. The CSV column
 * names work as flat keys too ("attributes.KEY", "links.TYPE"). null means
 * "not given". Blank lines are skipped.
 *
 * Every record's origin is "NAME:LINE", LINE the line where the record
 * starts (a CSV record spanning lines starts on its first line).
 *
 * Errors are VALV_EINVAL with a message "NAME:LINE: what is wrong" (read
 * failures VALV_EUNAVAILABLE, out of memory VALV_EINTERNAL). There are two
 * kinds:
 *   Per record: the record is skipped, and the next records_next call goes
 *     on with the next one. A CSV row with more or fewer cells than the
 *     header; a value that is not a kind, level, security class or flag;
 *     text that is not UTF-8; a JSON line that does not parse, is not an
 *     object, has an unknown key or a value of the wrong type, or is longer
 *     than VALV_MESSAGE_MAX.
 *   Fatal: the input cannot be read further. In records_open: a CSV header
 *     with an unknown, unnamed or repeated column, or CSV input with no
 *     header at all. In records_next: CSV quoting that is not RFC 4180 (a
 *     quote inside an unquoted cell, text after a closing quote, a quote
 *     never closed), a CSV record longer than VALV_MESSAGE_MAX (an open
 *     quote swallowing the file), a read error, out of memory. The message
 *     ends in "; the rest of the input was not read", records_stopped()
 *     turns true, and later records_next calls report the end of the input.
 */
#ifndef VALV_RECORDS_H
#define VALV_RECORDS_H

#include <stdbool.h>
#include <stdio.h>

#include "error.h"
#include "valv/v1/import.pb-c.h"

typedef struct records_reader records_reader; /* opaque */

typedef enum {
    RECORDS_AUTO,  /* JSON Lines when the first non-blank byte is '{', else CSV */
    RECORDS_CSV,
    RECORDS_JSONL
} records_format;

/* Starts reading records from in (borrowed: the caller closes it after
 * records_close). origin_name names the input in origins and errors
 * ("systems.csv", "-"); it is copied. For CSV this reads the header, so a
 * header error fails here. The caller owns *out and frees it with
 * records_close. */
int records_open(FILE *in, records_format format, const char *origin_name,
                 records_reader **out, valv_error *err);

/* Reads the next record into *out, or sets *out to NULL at the end of the
 * input. The caller owns the record and frees it with
 * valv__v1__import_record__free_unpacked(record, NULL). On error *out is
 * NULL; see the top of this file for which errors let reading go on. */
int records_next(records_reader *reader, Valv__V1__ImportRecord **out, valv_error *err);

/* The format being read: RECORDS_CSV or RECORDS_JSONL, as detected for
 * RECORDS_AUTO. */
records_format records_get_format(const records_reader *reader);

/* True after a fatal error: the input was not read to its end, so an
 * import must not treat what was read as the whole inventory. */
bool records_stopped(const records_reader *reader);

/* Frees reader. NULL is fine. */
void records_close(records_reader *reader);

#endif
