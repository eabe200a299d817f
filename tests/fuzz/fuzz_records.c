/* fuzz_records.c - the CSV and JSON Lines readers of valv import
 * (client/records.h).
 *
 * Input: a whole file; JSON Lines when its first non-blank byte is '{',
 * else CSV, as valv import decides by default. Every record read is sent
 * as valv would (packed, then unpacked as valvd does) and checked as valvd
 * checks an import record. Asserted besides: errors name where they are
 * ("fuzz:LINE: ..."), every record is valid UTF-8 and has its origin, and
 * after a fatal error the reader reports the end of the input.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "invariants.h"
#include "records.h"
#include "requests.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ORIGIN "fuzz"

/* What valvd gets of record: its bytes on the wire, unpacked. */
static void check_record(const Valv__V1__ImportRecord *record)
{
    invariant_utf8(&record->base);
    invariant(strncmp(record->origin, ORIGIN ":", sizeof ORIGIN) == 0,
              "a record whose origin is not NAME:LINE");
    size_t len = valv__v1__import_record__get_packed_size(record);
    uint8_t *wire = malloc(len > 0 ? len : 1);
    if (wire == NULL)
        abort();
    invariant(valv__v1__import_record__pack(record, wire) == len, "a record packs short");
    Valv__V1__ImportRecord *received = valv__v1__import_record__unpack(NULL, len, wire);
    invariant(received != NULL, "a record's bytes do not unpack");
    valv_error err;
    valv_error_clear(&err);
    invariant_error(fuzz_import_record_check(received, &err), &err);
    valv__v1__import_record__free_unpacked(received, NULL);
    free(wire);
}

/* A reader's error names the input and the line. */
static void check_error(int rc, const valv_error *err)
{
    invariant_error(rc, err);
    invariant(rc != VALV_EINVAL || strncmp(err->message, ORIGIN ":", sizeof ORIGIN) == 0,
              "a reader's error that does not start with NAME:LINE");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    records_reader *reader = NULL;
    valv_error err;

    /* Read-only: fmemopen does not write through the pointer. */
    FILE *in = fmemopen((void *)data, size, "r");
    if (in == NULL)
        abort();
    valv_error_clear(&err);
    int rc = records_open(in, RECORDS_AUTO, ORIGIN, &reader, &err);
    check_error(rc, &err);
    while (rc == VALV_OK) {
        Valv__V1__ImportRecord *record = NULL;
        valv_error_clear(&err);
        int next = records_next(reader, &record, &err);
        check_error(next, &err);
        if (next == VALV_OK && record == NULL)
            break; /* the end */
        if (record != NULL) {
            check_record(record);
            valv__v1__import_record__free_unpacked(record, NULL);
        } else if (records_stopped(reader)) {
            valv_error_clear(&err);
            next = records_next(reader, &record, &err);
            invariant(next == VALV_OK && record == NULL,
                      "a reader that stopped does not report the end of the input");
            break;
        }
    }
    records_close(reader);
    fclose(in);
    return 0;
}
