/* test_records.c - how valv import reads CSV and JSON Lines
 * (client/records.c), and that it reads back what valv export writes. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "output.h"
#include "records.h"

#define ORIGIN "t.csv"
#define LARGE_INPUT_RECORDS 100000

/* Each test reads one input; the fixture closes it. */
static FILE *input;
static records_reader *reader;
static Valv__V1__ImportRecord *record; /* the last one read */
static valv_error err;

static void close_input(void)
{
    if (record != NULL)
        valv__v1__import_record__free_unpacked(record, NULL);
    record = NULL;
    records_close(reader);
    reader = NULL;
    if (input != NULL)
        fclose(input);
    input = NULL;
}

static FILE *file_of(const char *text)
{
    FILE *f = tmpfile();
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(text, 1, strlen(text), f), strlen(text));
    rewind(f);
    return f;
}

/* Opens text; returns what records_open returned. */
static int try_open(const char *text, records_format format)
{
    input = file_of(text);
    return records_open(input, format, ORIGIN, &reader, &err);
}

static void open_text(const char *text, records_format format)
{
    int rc = try_open(text, format);
    ck_assert_msg(rc == 0, "records_open: %s", err.message);
}

/* Reads the next record, which must be there. */
static const Valv__V1__ImportRecord *next_record(void)
{
    if (record != NULL)
        valv__v1__import_record__free_unpacked(record, NULL);
    record = NULL;
    int rc = records_next(reader, &record, &err);
    ck_assert_msg(rc == 0, "records_next: %s", err.message);
    ck_assert_msg(record != NULL, "no record: the input ended");
    return record;
}

static void assert_has(const char *text, const char *expected)
{
    ck_assert_msg(strstr(text, expected) != NULL, "no '%s' in: %s", expected, text);
}

/* Reads the next record, which must be refused with a message holding
 * each of the expected texts (up to three; NULL for fewer). */
static void next_error(const char *expected1, const char *expected2, const char *expected3)
{
    Valv__V1__ImportRecord *refused = NULL;
    int rc = records_next(reader, &refused, &err);
    ck_assert_ptr_null(refused);
    ck_assert_int_eq(rc, VALV_EINVAL);
    const char *expected[] = {expected1, expected2, expected3};
    for (int i = 0; i < 3; i++) {
        if (expected[i] != NULL)
            assert_has(err.message, expected[i]);
    }
}

static void assert_end(void)
{
    Valv__V1__ImportRecord *none = NULL;
    ck_assert_int_eq(records_next(reader, &none, &err), 0);
    ck_assert_ptr_null(none);
}

static const char *attribute(const Valv__V1__ImportRecord *r, const char *key)
{
    for (size_t i = 0; i < r->n_attributes; i++) {
        if (strcmp(r->attributes[i]->key, key) == 0)
            return r->attributes[i]->value;
    }
    return NULL;
}

static void assert_link(const Valv__V1__ImportLink *link, Valv__V1__LinkType type,
                        const char *to_external_id, const char *to_asset)
{
    ck_assert_int_eq(link->type, type);
    ck_assert_str_eq(link->to_external_id, to_external_id);
    ck_assert_str_eq(link->to_asset, to_asset);
}

/* ---- CSV ------------------------------------------------------------------ */

START_TEST(csv_with_commas)
{
    open_text("external_id,kind,display_name,description,owner_unit,owner\n"
              "srv-1,it-system,Ekonomisystem,Betalningar,ekonomi,Anna\n"
              "arkiv,INFORMATION,Arkivet,,kultur,\n",
              RECORDS_CSV);
    const Valv__V1__ImportRecord *r = next_record();
    ck_assert_str_eq(r->external_id, "srv-1");
    ck_assert_int_eq(r->kind, VALV__V1__ASSET_KIND__IT_SYSTEM);
    ck_assert_str_eq(r->display_name, "Ekonomisystem");
    ck_assert_str_eq(r->description, "Betalningar");
    ck_assert_str_eq(r->owner_unit, "ekonomi");
    ck_assert_str_eq(r->owner, "Anna");
    ck_assert_str_eq(r->origin, ORIGIN ":2");
    ck_assert_ptr_null(r->classification);
    ck_assert_ptr_null(r->security);
    r = next_record();
    ck_assert_str_eq(r->external_id, "arkiv");
    ck_assert_int_eq(r->kind, VALV__V1__ASSET_KIND__INFORMATION);
    ck_assert_str_eq(r->description, "");
    ck_assert_str_eq(r->owner, "");
    ck_assert_str_eq(r->origin, ORIGIN ":3");
    assert_end();
    ck_assert(!records_stopped(reader));
}
END_TEST

START_TEST(csv_with_semicolons_as_swedish_excel_writes)
{
    open_text("external_id;display_name;owner\n"
              "x;Förvaltning, central;Åsa Öberg\n",
              RECORDS_CSV);
    const Valv__V1__ImportRecord *r = next_record();
    ck_assert_str_eq(r->external_id, "x");
    ck_assert_str_eq(r->display_name, "Förvaltning, central");
    ck_assert_str_eq(r->owner, "Åsa Öberg");
    assert_end();
}
END_TEST

START_TEST(csv_byte_order_mark_is_skipped)
{
    open_text("\xEF\xBB\xBF"
              "external_id,display_name\n"
              "x,X\n",
              RECORDS_CSV);
    ck_assert_str_eq(next_record()->external_id, "x");
    assert_end();
}
END_TEST

START_TEST(csv_quoted_line_breaks_keep_line_numbers)
{
    open_text("external_id,description\n"
              "a,\"first\n"
              "second \"\"quoted\"\", with a comma\n"
              "third\"\n"
              "b,plain\n",
              RECORDS_CSV);
    const Valv__V1__ImportRecord *r = next_record();
    ck_assert_str_eq(r->description, "first\nsecond \"quoted\", with a comma\nthird");
    ck_assert_str_eq(r->origin, ORIGIN ":2");
    r = next_record();
    ck_assert_str_eq(r->external_id, "b");
    ck_assert_str_eq(r->origin, ORIGIN ":5");
    assert_end();
}
END_TEST

START_TEST(csv_crlf_line_ends)
{
    open_text("external_id,display_name\r\nx,X\r\n\"y\",\"Y\r\nZ\"\r\nz,Z", RECORDS_CSV);
    const Valv__V1__ImportRecord *r = next_record();
    ck_assert_str_eq(r->display_name, "X");
    ck_assert_str_eq(r->origin, ORIGIN ":2");
    r = next_record();
    ck_assert_str_eq(r->external_id, "y");
    ck_assert_str_eq(r->display_name, "Y\r\nZ");
    ck_assert_str_eq(r->origin, ORIGIN ":3");
    r = next_record();
    ck_assert_str_eq(r->display_name, "Z");
    ck_assert_str_eq(r->origin, ORIGIN ":5");
    assert_end();
}
END_TEST

START_TEST(csv_blank_lines_and_empty_rows_are_skipped)
{
    open_text("\n"
              "\r\n"
              "external_id;display_name\n"
              "\n"
              ";\n"
              "  \n"
              "x;X\n"
              "\r\n",
              RECORDS_CSV);
    const Valv__V1__ImportRecord *r = next_record();
    ck_assert_str_eq(r->external_id, "x");
    ck_assert_str_eq(r->origin, ORIGIN ":7");
    assert_end();
}
END_TEST

START_TEST(csv_cells_are_taken_as_written)
{
    open_text("external_id,display_name\nx,  two spaces  \n", RECORDS_CSV);
    ck_assert_str_eq(next_record()->display_name, "  two spaces  ");
}
END_TEST

START_TEST(csv_attributes_and_links_columns)
{
    open_text("external_id,attributes.vendor,attributes.hosting,links.processed_by,"
              "links.HOSTED_IN,links.depends-on\n"
              "info-1,Visma,,\"sys-1; sys-2\",,\n"
              "sys-1,,on-prem,,assets/serverhall-a,sys-2\n",
              RECORDS_CSV);
    const Valv__V1__ImportRecord *r = next_record();
    ck_assert_uint_eq(r->n_attributes, 1);
    ck_assert_str_eq(attribute(r, "vendor"), "Visma");
    ck_assert_uint_eq(r->n_links, 2);
    assert_link(r->links[0], VALV__V1__LINK_TYPE__PROCESSED_BY, "sys-1", "");
    assert_link(r->links[1], VALV__V1__LINK_TYPE__PROCESSED_BY, "sys-2", "");
    r = next_record();
    ck_assert_uint_eq(r->n_attributes, 1);
    ck_assert_str_eq(attribute(r, "hosting"), "on-prem");
    ck_assert_uint_eq(r->n_links, 2);
    assert_link(r->links[0], VALV__V1__LINK_TYPE__HOSTED_IN, "", "assets/serverhall-a");
    assert_link(r->links[1], VALV__V1__LINK_TYPE__DEPENDS_ON, "sys-2", "");
    assert_end();
}
END_TEST

START_TEST(csv_labels_are_split_on_semicolons)
{
    open_text("external_id,labels\na,prod;gdpr; kritisk ;\nb,\n", RECORDS_CSV);
    const Valv__V1__ImportRecord *r = next_record();
    ck_assert_uint_eq(r->n_labels, 3);
    ck_assert_str_eq(r->labels[0], "prod");
    ck_assert_str_eq(r->labels[1], "gdpr");
    ck_assert_str_eq(r->labels[2], "kritisk");
    ck_assert_uint_eq(next_record()->n_labels, 0);
    assert_end();
}
END_TEST

START_TEST(csv_classification_and_security_are_carried_to_be_refused)
{
    open_text("external_id,classification.confidentiality,classification.rationale,"
              "security.security_class,security.security_sensitive,security.protected_object\n"
              "a,3,Personuppgifter,RESTRICTED,true,false\n"
              "b,,,,false,false\n"
              "c,high,,,,\n"
              "d,,,,maybe,\n",
              RECORDS_CSV);
    const Valv__V1__ImportRecord *r = next_record();
    ck_assert_ptr_nonnull(r->classification);
    ck_assert_int_eq(r->classification->confidentiality, VALV__V1__LEVEL__SERIOUS);
    ck_assert_int_eq(r->classification->integrity, VALV__V1__LEVEL__LEVEL_UNSPECIFIED);
    ck_assert_str_eq(r->classification->rationale, "Personuppgifter");
    ck_assert_ptr_nonnull(r->security);
    ck_assert_int_eq(r->security->security_class, VALV__V1__SECURITY_CLASS__RESTRICTED);
    ck_assert(r->security->security_sensitive);
    ck_assert(!r->security->protected_object);
    /* What export writes for an unclassified asset carries nothing. */
    r = next_record();
    ck_assert_ptr_null(r->classification);
    ck_assert_ptr_null(r->security);
    next_error(ORIGIN ":4", "classification.confidentiality", "'high' is not a level");
    next_error(ORIGIN ":5", "security.security_sensitive", "true or false");
    assert_end();
}
END_TEST

START_TEST(csv_output_only_columns_are_skipped)
{
    open_text("name,external_id,source,revision,etag,effective.flagged,review.state,"
              "create_time,delete_by\n"
              "assets/x,x,cmdb,12,abc,true,PENDING,2026-01-01T00:00:00Z,anna\n",
              RECORDS_CSV);
    const Valv__V1__ImportRecord *r = next_record();
    ck_assert_str_eq(r->external_id, "x");
    ck_assert_str_eq(r->name, "assets/x");
    ck_assert_ptr_null(r->classification);
    assert_end();
}
END_TEST

START_TEST(csv_unknown_column_fails_open)
{
    ck_assert_int_eq(try_open("external_id,colour\nx,red\n", RECORDS_CSV), VALV_EINVAL);
    ck_assert_ptr_null(reader);
    assert_has(err.message, ORIGIN ":1: ");
    assert_has(err.message, "'colour'");
    assert_has(err.message, "external_id, name, kind, display_name");
}
END_TEST

START_TEST(csv_bad_header_fails_open)
{
    static const struct {
        const char *text;
        const char *expected;
    } cases[] = {
        {"external_id,links.owned_by\n", "'owned_by' is not a link type"},
        {"external_id,display_name,EXTERNAL_ID\n", "column EXTERNAL_ID is there twice"},
        {"external_id,,display_name\n", "column 2 has no name"},
        {"", "no header row"},
        {"\n\n", "no header row"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ck_assert_int_eq(try_open(cases[i].text, RECORDS_CSV), VALV_EINVAL);
        assert_has(err.message, cases[i].expected);
        ck_assert_ptr_null(strstr(err.message, "rest of the input"));
        close_input();
    }
}
END_TEST

START_TEST(csv_wrong_number_of_cells_names_the_line)
{
    open_text("external_id,display_name\n"
              "a,A\n"
              "b,Bergström, Lars\n"
              "c\n"
              "d,D\n",
              RECORDS_CSV);
    ck_assert_str_eq(next_record()->external_id, "a");
    next_error(ORIGIN ":3: ", "3 cells", "2 columns");
    next_error(ORIGIN ":4: ", "1 cells", "2 columns");
    const Valv__V1__ImportRecord *r = next_record();
    ck_assert_str_eq(r->external_id, "d");
    ck_assert_str_eq(r->origin, ORIGIN ":5");
    assert_end();
    ck_assert(!records_stopped(reader));
}
END_TEST

START_TEST(csv_bad_kind_is_refused_and_reading_goes_on)
{
    open_text("external_id,kind\na,building\nb,It-System\nc,facility\n", RECORDS_CSV);
    next_error(ORIGIN ":2: kind: 'building'", "information, it-system or facility", NULL);
    ck_assert_int_eq(next_record()->kind, VALV__V1__ASSET_KIND__IT_SYSTEM);
    ck_assert_int_eq(next_record()->kind, VALV__V1__ASSET_KIND__FACILITY);
    assert_end();
}
END_TEST

START_TEST(csv_invalid_utf8_is_refused_and_reading_goes_on)
{
    open_text("external_id,display_name\na,Caf\xe9\nb,Café\n", RECORDS_CSV);
    next_error(ORIGIN ":2: display_name", "UTF-8", NULL);
    ck_assert_str_eq(next_record()->display_name, "Café");
    assert_end();
}
END_TEST

START_TEST(csv_quote_never_closed_stops_reading)
{
    open_text("external_id,description\na,A\nb,\"never closed\nc,C\n", RECORDS_CSV);
    ck_assert_str_eq(next_record()->external_id, "a");
    next_error(ORIGIN ":3: ", "never closed", "the rest of the input was not read");
    ck_assert(records_stopped(reader));
    assert_end();
}
END_TEST

START_TEST(csv_stray_quote_stops_reading)
{
    open_text("external_id,display_name\na,A\nb,5\" screen\nc,C\n", RECORDS_CSV);
    ck_assert_str_eq(next_record()->external_id, "a");
    next_error(ORIGIN ":3: ", "not valid CSV", "the rest of the input was not read");
    ck_assert(records_stopped(reader));
    assert_end();
}
END_TEST

/* ---- JSON Lines --------------------------------------------------------------- */

START_TEST(jsonl_nested_fields_as_export_writes_them)
{
    open_text("{\"name\":\"assets/srv-1\",\"external_id\":\"srv-1\",\"kind\":\"IT_SYSTEM\","
              "\"display_name\":\"Server \\\"1\\\"\",\"owner_unit\":\"it\",\"owner\":null,"
              "\"attributes\":{\"vendor\":\"Dell\",\"rack\":\"B2\"},"
              "\"labels\":[\"prod\",\"dc1\"],"
              "\"links\":[{\"type\":\"HOSTED_IN\",\"to_external_id\":\"hall-a\"},"
              "{\"type\":\"depends_on\",\"to_asset\":\"assets/db-1\"}],"
              "\"classification\":{\"confidentiality\":\"SERIOUS\",\"rationale\":\"R\"},"
              "\"security\":{\"security_sensitive\":true,\"protected_object\":false},"
              "\"effective\":{\"flagged\":true,\"sources\":{\"confidentiality\":\"x\"}},"
              "\"review\":{\"state\":\"PENDING\"},\"revision\":7}\n",
              RECORDS_JSONL);
    const Valv__V1__ImportRecord *r = next_record();
    ck_assert_str_eq(r->external_id, "srv-1");
    ck_assert_int_eq(r->kind, VALV__V1__ASSET_KIND__IT_SYSTEM);
    ck_assert_str_eq(r->display_name, "Server \"1\"");
    ck_assert_str_eq(r->owner, "");
    ck_assert_uint_eq(r->n_attributes, 2);
    ck_assert_str_eq(attribute(r, "vendor"), "Dell");
    ck_assert_str_eq(attribute(r, "rack"), "B2");
    ck_assert_uint_eq(r->n_labels, 2);
    ck_assert_str_eq(r->labels[1], "dc1");
    ck_assert_uint_eq(r->n_links, 2);
    assert_link(r->links[0], VALV__V1__LINK_TYPE__HOSTED_IN, "hall-a", "");
    assert_link(r->links[1], VALV__V1__LINK_TYPE__DEPENDS_ON, "", "assets/db-1");
    ck_assert_int_eq(r->classification->confidentiality, VALV__V1__LEVEL__SERIOUS);
    ck_assert_str_eq(r->classification->rationale, "R");
    ck_assert(r->security->security_sensitive);
    ck_assert_str_eq(r->origin, ORIGIN ":1");
    assert_end();
}
END_TEST

START_TEST(jsonl_flat_keys_as_in_csv)
{
    open_text("{\"external_id\":\"a\",\"attributes.vendor\":\"Dell\","
              "\"links.processed_by\":\"s1; assets/s2\",\"labels\":\"x;y\","
              "\"classification.integrity\":\"2\"}\n",
              RECORDS_JSONL);
    const Valv__V1__ImportRecord *r = next_record();
    ck_assert_str_eq(attribute(r, "vendor"), "Dell");
    ck_assert_uint_eq(r->n_links, 2);
    assert_link(r->links[0], VALV__V1__LINK_TYPE__PROCESSED_BY, "s1", "");
    assert_link(r->links[1], VALV__V1__LINK_TYPE__PROCESSED_BY, "", "assets/s2");
    ck_assert_uint_eq(r->n_labels, 2);
    ck_assert_int_eq(r->classification->integrity, VALV__V1__LEVEL__SIGNIFICANT);
    assert_end();
}
END_TEST

START_TEST(jsonl_bad_lines_are_refused_and_reading_goes_on)
{
    open_text("{\"external_id\":\"a\"}\n"
              "{\"external_id\":\n"
              "\n"
              "{\"external_id\":\"c\",\"colour\":\"red\"}\n"
              "[\"not an object\"]\n"
              "{\"external_id\":\"d\",\"display_name\":5}\n"
              "{\"external_id\":\"e\",\"display_name\":\"Caf\xe9\"}\n"
              "{\"external_id\":\"f\",\"attributes\":{\"a\":\"1\"},\"attributes.a\":\"2\"}\n"
              "{\"external_id\":\"g\",\"links\":[{\"type\":\"PART_OF\",\"to\":\"x\"}]}\n"
              "{\"external_id\":\"h\"}\r\n",
              RECORDS_JSONL);
    ck_assert_str_eq(next_record()->external_id, "a");
    next_error(ORIGIN ":2: ", "not valid JSON", NULL);
    next_error(ORIGIN ":4: ", "unknown field 'colour'", "external_id, name, kind");
    next_error(ORIGIN ":5: ", "JSON object", NULL);
    next_error(ORIGIN ":6: ", "display_name: expected a string", NULL);
    next_error(ORIGIN ":7: ", "UTF-8", NULL);
    next_error(ORIGIN ":8: ", "attributes.a is given twice", NULL);
    next_error(ORIGIN ":9: ", "links[0]", NULL);
    const Valv__V1__ImportRecord *r = next_record();
    ck_assert_str_eq(r->external_id, "h");
    ck_assert_str_eq(r->origin, ORIGIN ":10");
    assert_end();
    ck_assert(!records_stopped(reader));
}
END_TEST

START_TEST(auto_detects_json_lines_and_csv)
{
    open_text("\xEF\xBB\xBF\n  {\"external_id\":\"a\"}\n", RECORDS_AUTO);
    ck_assert_int_eq(records_get_format(reader), RECORDS_JSONL);
    const Valv__V1__ImportRecord *r = next_record();
    ck_assert_str_eq(r->external_id, "a");
    ck_assert_str_eq(r->origin, ORIGIN ":2");
    assert_end();
    close_input();

    open_text("external_id\n{a}\n", RECORDS_AUTO);
    ck_assert_int_eq(records_get_format(reader), RECORDS_CSV);
    ck_assert_str_eq(next_record()->external_id, "{a}");
    assert_end();
}
END_TEST

/* ---- Size and round trip -------------------------------------------------- */

START_TEST(large_input_is_read_one_record_at_a_time)
{
    input = tmpfile();
    ck_assert_ptr_nonnull(input);
    fputs("external_id,kind,display_name,description,labels\r\n", input);
    for (int i = 0; i < LARGE_INPUT_RECORDS; i++)
        fprintf(input, "ext-%d,it-system,System %d,\"Rad ett\nRad två\",prod;gdpr\r\n", i, i);
    rewind(input);
    ck_assert_int_eq(records_open(input, RECORDS_AUTO, ORIGIN, &reader, &err), 0);
    int count = 0;
    Valv__V1__ImportRecord *r;
    while (records_next(reader, &r, &err) == 0 && r != NULL) {
        if (++count == LARGE_INPUT_RECORDS) {
            ck_assert_str_eq(r->external_id, "ext-99999");
            ck_assert_str_eq(r->origin, ORIGIN ":200000");
        }
        valv__v1__import_record__free_unpacked(r, NULL);
    }
    ck_assert_msg(err.code == VALV_OK, "%s", err.message);
    ck_assert_int_eq(count, LARGE_INPUT_RECORDS);
}
END_TEST

/* Three assets as the server returns them, output-only fields and all. */
typedef struct {
    Valv__V1__Asset assets[3];
    Valv__V1__Asset *list[3];
    Valv__V1__Asset__AttributesEntry vendor, hosting, room;
    Valv__V1__Asset__AttributesEntry *attributes0[2], *attributes2[1];
    char *labels0[2];
    Valv__V1__Classification classification;
    Valv__V1__SecurityProtection security, no_security;
    Valv__V1__Effective effective;
    Valv__V1__ReviewStatus review;
    Google__Protobuf__Timestamp time;
} asset_set;

static void build_assets(asset_set *s)
{
    for (int i = 0; i < 3; i++) {
        valv__v1__asset__init(&s->assets[i]);
        s->list[i] = &s->assets[i];
    }
    valv__v1__asset__attributes_entry__init(&s->vendor);
    s->vendor.key = "vendor";
    s->vendor.value = "Visma; \"Ekonomi\"";
    valv__v1__asset__attributes_entry__init(&s->hosting);
    s->hosting.key = "hosting";
    s->hosting.value = "on-prem";
    valv__v1__asset__attributes_entry__init(&s->room);
    s->room.key = "room";
    s->room.value = "B2:14";
    s->attributes0[0] = &s->vendor;
    s->attributes0[1] = &s->hosting;
    s->attributes2[0] = &s->room;
    s->labels0[0] = "prod";
    s->labels0[1] = "kritisk";
    valv__v1__classification__init(&s->classification);
    s->classification.confidentiality = VALV__V1__LEVEL__SIGNIFICANT;
    s->classification.integrity = VALV__V1__LEVEL__MODERATE;
    s->classification.availability = VALV__V1__LEVEL__SERIOUS;
    s->classification.traceability = VALV__V1__LEVEL__NEGLIGIBLE;
    s->classification.rationale = "Personuppgifter, känsliga";
    valv__v1__security_protection__init(&s->security);
    s->security.security_class = VALV__V1__SECURITY_CLASS__RESTRICTED;
    s->security.security_sensitive = true;
    s->security.decision_ref = "SUA 2025-3";
    valv__v1__security_protection__init(&s->no_security);
    valv__v1__effective__init(&s->effective);
    s->effective.confidentiality = VALV__V1__LEVEL__SERIOUS;
    s->effective.flagged = true;
    valv__v1__review_status__init(&s->review);
    s->review.state = VALV__V1__REVIEW_STATE__PENDING;
    google__protobuf__timestamp__init(&s->time);
    s->time.seconds = 1767225600;
    s->time.nanos = 500000000;

    Valv__V1__Asset *a = &s->assets[0];
    a->name = "assets/ekonomi";
    a->kind = VALV__V1__ASSET_KIND__IT_SYSTEM;
    a->display_name = "Ekonomisystem, \"nya\"";
    a->description = "Rad ett\nRad två; med semikolon\r\nRad tre";
    a->owner_unit = "ekonomi";
    a->owner = "Åsa Öberg";
    a->n_attributes = 2;
    a->attributes = s->attributes0;
    a->n_labels = 2;
    a->labels = s->labels0;
    a->source = "cmdb";
    a->external_id = "EK-1";
    a->security = &s->no_security; /* present, every value default */
    a->effective = &s->effective;
    a->review = &s->review;
    a->revision = 42;
    a->etag = "W/\"42\"";
    a->create_time = &s->time;
    a->update_time = &s->time;
    a->create_by = "anna";

    a = &s->assets[1];
    a->name = "assets/personal";
    a->kind = VALV__V1__ASSET_KIND__INFORMATION;
    a->display_name = "Personalakter";
    a->owner_unit = "hr";
    a->source = "cmdb";
    a->external_id = "PA-7";
    a->classification = &s->classification;
    a->security = &s->security;
    a->revision = 43;

    a = &s->assets[2];
    a->name = "assets/serverhall";
    a->kind = VALV__V1__ASSET_KIND__FACILITY;
    a->display_name = "Serverhall B";
    a->owner_unit = "fastighet";
    a->n_attributes = 1;
    a->attributes = s->attributes2;
    a->source = "cmdb";
    a->external_id = "SH-B";
    a->delete_time = &s->time;
    a->revision = 44;
}

/* A record read back must hold exactly the asset's importable fields. */
static void assert_same(const Valv__V1__Asset *a, const Valv__V1__ImportRecord *r)
{
    static const Valv__V1__SecurityProtection no_security = VALV__V1__SECURITY_PROTECTION__INIT;
    ck_assert_str_eq(r->external_id, a->external_id);
    ck_assert_int_eq(r->kind, a->kind);
    ck_assert_str_eq(r->display_name, a->display_name);
    ck_assert_str_eq(r->description, a->description);
    ck_assert_str_eq(r->owner_unit, a->owner_unit);
    ck_assert_str_eq(r->owner, a->owner);
    ck_assert_uint_eq(r->n_attributes, a->n_attributes);
    for (size_t i = 0; i < a->n_attributes; i++) {
        const char *value = attribute(r, a->attributes[i]->key);
        ck_assert_ptr_nonnull(value);
        ck_assert_str_eq(value, a->attributes[i]->value);
    }
    ck_assert_uint_eq(r->n_labels, a->n_labels);
    for (size_t i = 0; i < a->n_labels; i++)
        ck_assert_str_eq(r->labels[i], a->labels[i]);
    ck_assert_uint_eq(r->n_links, 0);
    if (a->classification == NULL) {
        ck_assert_ptr_null(r->classification);
    } else {
        const Valv__V1__Classification *c = r->classification;
        ck_assert_ptr_nonnull(c);
        ck_assert_int_eq(c->confidentiality, a->classification->confidentiality);
        ck_assert_int_eq(c->integrity, a->classification->integrity);
        ck_assert_int_eq(c->availability, a->classification->availability);
        ck_assert_int_eq(c->traceability, a->classification->traceability);
        ck_assert_str_eq(c->rationale, a->classification->rationale);
    }
    const Valv__V1__SecurityProtection *sa = a->security ? a->security : &no_security;
    if (!sa->security_class && !sa->security_sensitive && !sa->protected_object) {
        ck_assert_ptr_null(r->security);
    } else {
        ck_assert_ptr_nonnull(r->security);
        ck_assert_int_eq(r->security->security_class, sa->security_class);
        ck_assert_int_eq(r->security->security_sensitive, sa->security_sensitive);
        ck_assert_int_eq(r->security->protected_object, sa->protected_object);
        ck_assert_str_eq(r->security->decision_ref, sa->decision_ref);
    }
}

static void round_trip(output_format format, records_format expected_format)
{
    asset_set s;
    build_assets(&s);
    input = tmpfile();
    ck_assert_ptr_nonnull(input);
    ck_assert_int_eq(output_asset_list(input, format, s.list, 3), 0);
    rewind(input);
    ck_assert_int_eq(records_open(input, RECORDS_AUTO, ORIGIN, &reader, &err), 0);
    ck_assert_int_eq(records_get_format(reader), expected_format);
    for (int i = 0; i < 3; i++)
        assert_same(&s.assets[i], next_record());
    assert_end();
}

START_TEST(csv_export_reads_back)
{
    round_trip(OUTPUT_CSV, RECORDS_CSV);
}
END_TEST

START_TEST(json_export_reads_back)
{
    round_trip(OUTPUT_JSON, RECORDS_JSONL);
}
END_TEST

static Suite *records_suite(void)
{
    Suite *s = suite_create("records");

    TCase *csv = tcase_create("csv");
    tcase_add_checked_fixture(csv, NULL, close_input);
    tcase_add_test(csv, csv_with_commas);
    tcase_add_test(csv, csv_with_semicolons_as_swedish_excel_writes);
    tcase_add_test(csv, csv_byte_order_mark_is_skipped);
    tcase_add_test(csv, csv_quoted_line_breaks_keep_line_numbers);
    tcase_add_test(csv, csv_crlf_line_ends);
    tcase_add_test(csv, csv_blank_lines_and_empty_rows_are_skipped);
    tcase_add_test(csv, csv_cells_are_taken_as_written);
    tcase_add_test(csv, csv_attributes_and_links_columns);
    tcase_add_test(csv, csv_labels_are_split_on_semicolons);
    tcase_add_test(csv, csv_classification_and_security_are_carried_to_be_refused);
    tcase_add_test(csv, csv_output_only_columns_are_skipped);
    suite_add_tcase(s, csv);

    TCase *csv_errors = tcase_create("csv_errors");
    tcase_add_checked_fixture(csv_errors, NULL, close_input);
    tcase_add_test(csv_errors, csv_unknown_column_fails_open);
    tcase_add_test(csv_errors, csv_bad_header_fails_open);
    tcase_add_test(csv_errors, csv_wrong_number_of_cells_names_the_line);
    tcase_add_test(csv_errors, csv_bad_kind_is_refused_and_reading_goes_on);
    tcase_add_test(csv_errors, csv_invalid_utf8_is_refused_and_reading_goes_on);
    tcase_add_test(csv_errors, csv_quote_never_closed_stops_reading);
    tcase_add_test(csv_errors, csv_stray_quote_stops_reading);
    suite_add_tcase(s, csv_errors);

    TCase *jsonl = tcase_create("jsonl");
    tcase_add_checked_fixture(jsonl, NULL, close_input);
    tcase_add_test(jsonl, jsonl_nested_fields_as_export_writes_them);
    tcase_add_test(jsonl, jsonl_flat_keys_as_in_csv);
    tcase_add_test(jsonl, jsonl_bad_lines_are_refused_and_reading_goes_on);
    tcase_add_test(jsonl, auto_detects_json_lines_and_csv);
    suite_add_tcase(s, jsonl);

    TCase *whole = tcase_create("whole_files");
    tcase_add_checked_fixture(whole, NULL, close_input);
    tcase_add_test(whole, large_input_is_read_one_record_at_a_time);
    tcase_add_test(whole, csv_export_reads_back);
    tcase_add_test(whole, json_export_reads_back);
    suite_add_tcase(s, whole);

    return s;
}

int main(void)
{
    SRunner *runner = srunner_create(records_suite());
    srunner_run_all(runner, CK_NORMAL);
    int failures = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failures ? 1 : 0;
}
