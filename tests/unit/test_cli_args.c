/* test_cli_args.c - how valv reads the words users type for levels,
 * security classes, link types, kinds, audit actions and times, and the
 * flags commands share (client/args.c). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "args.h"

static const args_command test_command = {.path = "valv test", .usage = "Usage: valv test\n"};

/* Usage errors go to stderr; the tests read them back from a file. */
static FILE *stderr_file;
static char stderr_text[2048];

static void capture_stderr(void)
{
    stderr_file = tmpfile();
    ck_assert_ptr_nonnull(stderr_file);
    ck_assert_int_ne(dup2(fileno(stderr_file), STDERR_FILENO), -1);
}

/* What was printed on stderr since the last call. */
static const char *take_stderr(void)
{
    int fd = fileno(stderr_file);
    fflush(stderr);
    ck_assert_int_eq(lseek(fd, 0, SEEK_SET), 0);
    ssize_t n = read(fd, stderr_text, sizeof stderr_text - 1);
    ck_assert_int_ge(n, 0);
    stderr_text[n] = '\0';
    ck_assert_int_eq(ftruncate(fd, 0), 0);
    ck_assert_int_eq(lseek(fd, 0, SEEK_SET), 0);
    return stderr_text;
}

static void assert_stderr_has(const char *expected)
{
    const char *text = take_stderr();
    ck_assert_msg(strstr(text, expected) != NULL, "no '%s' in: %s", expected, text);
}

/* ---- levels ------------------------------------------------------------------ */

typedef struct {
    const char *text;
    Valv__V1__Level level;
} level_case;

START_TEST(level_numbers_and_names_in_both_languages)
{
    static const level_case cases[] = {
        {"0", VALV__V1__LEVEL__NEGLIGIBLE},
        {"1", VALV__V1__LEVEL__MODERATE},
        {"2", VALV__V1__LEVEL__SIGNIFICANT},
        {"3", VALV__V1__LEVEL__SERIOUS},
        {"4", VALV__V1__LEVEL__VERY_SERIOUS},
        {"negligible", VALV__V1__LEVEL__NEGLIGIBLE},
        {"Moderate", VALV__V1__LEVEL__MODERATE},
        {"SIGNIFICANT", VALV__V1__LEVEL__SIGNIFICANT},
        {"serious", VALV__V1__LEVEL__SERIOUS},
        {"very-serious", VALV__V1__LEVEL__VERY_SERIOUS},
        {"VERY_SERIOUS", VALV__V1__LEVEL__VERY_SERIOUS},
        {"försumbar", VALV__V1__LEVEL__NEGLIGIBLE},
        {"FÖRSUMBAR", VALV__V1__LEVEL__NEGLIGIBLE},
        {"forsumbar", VALV__V1__LEVEL__NEGLIGIBLE},
        {"ingen", VALV__V1__LEVEL__NEGLIGIBLE},
        {"måttlig", VALV__V1__LEVEL__MODERATE},
        {"MÅTTLIG", VALV__V1__LEVEL__MODERATE},
        {"mattlig", VALV__V1__LEVEL__MODERATE},
        {"betydande", VALV__V1__LEVEL__SIGNIFICANT},
        {"Allvarlig", VALV__V1__LEVEL__SERIOUS},
        {"synnerligen-allvarlig", VALV__V1__LEVEL__VERY_SERIOUS},
        {"Synnerligen_Allvarlig", VALV__V1__LEVEL__VERY_SERIOUS},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        Valv__V1__Level level = VALV__V1__LEVEL__LEVEL_UNSPECIFIED;
        ck_assert_msg(args_parse_level(&test_command, "--integrity", cases[i].text, &level) ==
                          ARGS_EXIT_OK,
                      "'%s' refused", cases[i].text);
        ck_assert_msg(level == cases[i].level, "'%s' gave %d, not %d", cases[i].text, level,
                      cases[i].level);
    }
}
END_TEST

START_TEST(level_refuses_other_words_naming_the_flag)
{
    static const char *const refused[] = {"5", "-1", "03", "high", "", "K3", "allvarligt",
                                          "synnerligen allvarlig"};
    capture_stderr();
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        Valv__V1__Level level = VALV__V1__LEVEL__SERIOUS;
        ck_assert_int_eq(args_parse_level(&test_command, "--integrity", refused[i], &level),
                         ARGS_EXIT_USAGE);
        ck_assert_int_eq(level, VALV__V1__LEVEL__SERIOUS); /* untouched */
        char expected[64];
        snprintf(expected, sizeof expected, "not '%s'", refused[i]);
        assert_stderr_has(expected);
    }
    ck_assert_int_eq(args_parse_level(&test_command, "--integrity", "high", &(Valv__V1__Level){0}),
                     ARGS_EXIT_USAGE);
    const char *text = take_stderr();
    ck_assert_msg(strncmp(text, "valv: --integrity takes a level 0-4", 35) == 0, "%s", text);
    ck_assert_ptr_nonnull(strstr(text, "very-serious"));
    ck_assert_ptr_nonnull(strstr(text, "synnerligen-allvarlig"));
    ck_assert_ptr_nonnull(strstr(text, "run 'valv test --help'"));
}
END_TEST

START_TEST(short_levels_name_the_dimension_by_its_swedish_letter)
{
    static const struct {
        const char *text;
        args_dimension dimension;
        Valv__V1__Level level;
    } cases[] = {
        {"K3", ARGS_CONFIDENTIALITY, VALV__V1__LEVEL__SERIOUS},
        {"r2", ARGS_INTEGRITY, VALV__V1__LEVEL__SIGNIFICANT},
        {"T0", ARGS_AVAILABILITY, VALV__V1__LEVEL__NEGLIGIBLE},
        {"s4", ARGS_TRACEABILITY, VALV__V1__LEVEL__VERY_SERIOUS},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        args_dimension d;
        Valv__V1__Level level;
        ck_assert_int_eq(args_parse_short_level(&test_command, cases[i].text, &d, &level),
                         ARGS_EXIT_OK);
        ck_assert_int_eq(d, cases[i].dimension);
        ck_assert_int_eq(level, cases[i].level);
    }
    ck_assert_str_eq(args_dimension_field(ARGS_CONFIDENTIALITY), "confidentiality");
    ck_assert_str_eq(args_dimension_field(ARGS_INTEGRITY), "integrity");
    ck_assert_str_eq(args_dimension_field(ARGS_AVAILABILITY), "availability");
    ck_assert_str_eq(args_dimension_field(ARGS_TRACEABILITY), "traceability");
}
END_TEST

START_TEST(short_level_refuses_other_letters_and_numbers)
{
    static const char *const refused[] = {"K5", "X3", "C3", "K", "K33", "", "3", "K-1"};
    capture_stderr();
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        args_dimension d;
        Valv__V1__Level level;
        ck_assert_int_eq(args_parse_short_level(&test_command, refused[i], &d, &level),
                         ARGS_EXIT_USAGE);
        char expected[64];
        snprintf(expected, sizeof expected, "K, R, T or S and a number 0-4 (K3 R2 T2 S1), not '%s'",
                 refused[i]);
        assert_stderr_has(expected);
    }
}
END_TEST

/* ---- security classes, link types, kinds ---------------------------------------- */

START_TEST(security_class_in_english_and_swedish)
{
    static const struct {
        const char *text;
        Valv__V1__SecurityClass value;
    } cases[] = {
        {"not-classified", VALV__V1__SECURITY_CLASS__NOT_CLASSIFIED},
        {"NOT_CLASSIFIED", VALV__V1__SECURITY_CLASS__NOT_CLASSIFIED},
        {"ingen", VALV__V1__SECURITY_CLASS__NOT_CLASSIFIED},
        {"restricted", VALV__V1__SECURITY_CLASS__RESTRICTED},
        {"begränsat-hemlig", VALV__V1__SECURITY_CLASS__RESTRICTED},
        {"BEGRÄNSAT_HEMLIG", VALV__V1__SECURITY_CLASS__RESTRICTED},
        {"begransat-hemlig", VALV__V1__SECURITY_CLASS__RESTRICTED},
        {"Confidential", VALV__V1__SECURITY_CLASS__CONFIDENTIAL},
        {"konfidentiell", VALV__V1__SECURITY_CLASS__CONFIDENTIAL},
        {"secret", VALV__V1__SECURITY_CLASS__SECRET},
        {"Hemlig", VALV__V1__SECURITY_CLASS__SECRET},
        {"top-secret", VALV__V1__SECURITY_CLASS__TOP_SECRET},
        {"Top_Secret", VALV__V1__SECURITY_CLASS__TOP_SECRET},
        {"kvalificerat-hemlig", VALV__V1__SECURITY_CLASS__TOP_SECRET},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        Valv__V1__SecurityClass value = VALV__V1__SECURITY_CLASS__SECURITY_CLASS_UNSPECIFIED;
        ck_assert_msg(args_parse_security_class(&test_command, "--security-class", cases[i].text,
                                                &value) == ARGS_EXIT_OK,
                      "'%s' refused", cases[i].text);
        ck_assert_msg(value == cases[i].value, "'%s' gave %d", cases[i].text, value);
    }

    capture_stderr();
    ck_assert_int_eq(args_parse_security_class(&test_command, "--security-class", "hemligt",
                                               &(Valv__V1__SecurityClass){0}),
                     ARGS_EXIT_USAGE);
    assert_stderr_has("--security-class takes not-classified, restricted, confidential, "
                      "secret or top-secret");
    ck_assert_int_eq(args_parse_security_class(&test_command, "--security-class",
                                               "security-class-unspecified",
                                               &(Valv__V1__SecurityClass){0}),
                     ARGS_EXIT_USAGE);
    assert_stderr_has("not 'security-class-unspecified'");
}
END_TEST

START_TEST(link_type_in_any_case_with_dash_or_underscore)
{
    static const struct {
        const char *text;
        Valv__V1__LinkType value;
    } cases[] = {
        {"processed-by", VALV__V1__LINK_TYPE__PROCESSED_BY},
        {"PROCESSED_BY", VALV__V1__LINK_TYPE__PROCESSED_BY},
        {"stored-in", VALV__V1__LINK_TYPE__STORED_IN},
        {"Hosted_In", VALV__V1__LINK_TYPE__HOSTED_IN},
        {"depends-on", VALV__V1__LINK_TYPE__DEPENDS_ON},
        {"part_of", VALV__V1__LINK_TYPE__PART_OF},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        Valv__V1__LinkType value = VALV__V1__LINK_TYPE__LINK_TYPE_UNSPECIFIED;
        ck_assert_int_eq(args_parse_link_type(&test_command, cases[i].text, &value), ARGS_EXIT_OK);
        ck_assert_int_eq(value, cases[i].value);
    }
    capture_stderr();
    ck_assert_int_eq(args_parse_link_type(&test_command, "hosts", &(Valv__V1__LinkType){0}),
                     ARGS_EXIT_USAGE);
    assert_stderr_has("TYPE takes processed-by, stored-in, hosted-in, depends-on or part-of, "
                      "not 'hosts'");
}
END_TEST

START_TEST(kind_in_any_case_with_dash_or_underscore)
{
    Valv__V1__AssetKind kind = VALV__V1__ASSET_KIND__ASSET_KIND_UNSPECIFIED;
    ck_assert_int_eq(args_parse_kind(&test_command, "It-System", &kind), ARGS_EXIT_OK);
    ck_assert_int_eq(kind, VALV__V1__ASSET_KIND__IT_SYSTEM);
    ck_assert_int_eq(args_parse_kind(&test_command, "INFORMATION", &kind), ARGS_EXIT_OK);
    ck_assert_int_eq(kind, VALV__V1__ASSET_KIND__INFORMATION);
    ck_assert_int_eq(args_parse_kind(&test_command, "facility", &kind), ARGS_EXIT_OK);
    ck_assert_int_eq(kind, VALV__V1__ASSET_KIND__FACILITY);
    capture_stderr();
    ck_assert_int_eq(args_parse_kind(&test_command, "asset-kind-unspecified", &kind),
                     ARGS_EXIT_USAGE);
    assert_stderr_has("--kind takes information, it-system or facility");
}
END_TEST

START_TEST(words_longer_than_any_name_are_refused_whole)
{
    char long_word[200];
    memset(long_word, 'a', sizeof long_word - 1);
    long_word[sizeof long_word - 1] = '\0';
    capture_stderr();
    ck_assert_int_eq(args_parse_level(&test_command, "--availability", long_word,
                                      &(Valv__V1__Level){0}),
                     ARGS_EXIT_USAGE);
    assert_stderr_has(long_word);
}
END_TEST

START_TEST(audit_action_in_any_case)
{
    static const struct {
        const char *text;
        Valv__V1__AuditAction value;
    } cases[] = {
        {"create", VALV__V1__AUDIT_ACTION__ACTION_CREATE},
        {"UPDATE", VALV__V1__AUDIT_ACTION__ACTION_UPDATE},
        {"Delete", VALV__V1__AUDIT_ACTION__ACTION_DELETE},
        {"undelete", VALV__V1__AUDIT_ACTION__ACTION_UNDELETE},
        {"link", VALV__V1__AUDIT_ACTION__ACTION_LINK},
        {"unlink", VALV__V1__AUDIT_ACTION__ACTION_UNLINK},
        {"approve", VALV__V1__AUDIT_ACTION__ACTION_APPROVE},
        {"return", VALV__V1__AUDIT_ACTION__ACTION_RETURN},
        {"inherit", VALV__V1__AUDIT_ACTION__ACTION_INHERIT},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        Valv__V1__AuditAction value = VALV__V1__AUDIT_ACTION__AUDIT_ACTION_UNSPECIFIED;
        ck_assert_int_eq(args_parse_audit_action(&test_command, cases[i].text, &value),
                         ARGS_EXIT_OK);
        ck_assert_int_eq(value, cases[i].value);
    }
    capture_stderr();
    ck_assert_int_eq(args_parse_audit_action(&test_command, "remove",
                                             &(Valv__V1__AuditAction){0}),
                     ARGS_EXIT_USAGE);
    assert_stderr_has("--action takes create, update, delete, undelete, link, unlink, approve, "
                      "return or inherit, not 'remove'");
}
END_TEST

/* ---- times --------------------------------------------------------------------------- */

START_TEST(time_takes_dates_and_rfc3339)
{
    static const struct {
        const char *text;
        int64_t seconds;
        int32_t nanos;
    } cases[] = {
        {"2026-03-01", 1772323200, 0},
        {"2026-03-01T14:30:00Z", 1772375400, 0},
        {"2026-03-01T14:30:00+01:00", 1772371800, 0},
        {"2026-03-01t14:30:00.5z", 1772375400, 500000000},
        {"2026-03-01 14:30:00.123456789-05:30", 1772395200, 123456789},
        {"2024-02-29", 1709164800, 0},
        {"1970-01-01T00:00:00Z", 0, 0},
        {"0001-01-01", -62135596800, 0},
        {"9999-12-31T23:59:59.999999999Z", 253402300799, 999999999},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
        ck_assert_msg(args_parse_time(&test_command, "--since", cases[i].text, &ts) ==
                          ARGS_EXIT_OK,
                      "refused %s", cases[i].text);
        ck_assert_msg(ts.seconds == cases[i].seconds && ts.nanos == cases[i].nanos,
                      "%s: got %lld.%09d", cases[i].text, (long long)ts.seconds, ts.nanos);
    }
}
END_TEST

START_TEST(time_refuses_what_is_not_a_whole_time_naming_the_flag)
{
    static const char *const refused[] = {
        "", "yesterday", "2026-3-1", "2026-13-01", "2025-02-29", "2026-04-31", "0000-01-01",
        "2026-03-01x", "2026-03-01T", "2026-03-01T14:30:00", "2026-03-01T14:30Z",
        "2026-03-01T24:00:00Z", "2026-03-01T14:60:00Z", "2026-03-01T14:30:00.Z",
        "2026-03-01T14:30:00.1234567890Z", "2026-03-01T14:30:00+1:00",
        "2026-03-01T14:30:00+24:00", "2026-03-01T14:30:00Z ", " 2026-03-01",
    };
    capture_stderr();
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
        ck_assert_msg(args_parse_time(&test_command, "--until", refused[i], &ts) ==
                          ARGS_EXIT_USAGE,
                      "took '%s'", refused[i]);
        char expected[128];
        snprintf(expected, sizeof expected, "not '%s'", refused[i]);
        assert_stderr_has(expected);
    }
    ck_assert_int_eq(args_parse_time(&test_command, "--until", "March",
                                     &(Google__Protobuf__Timestamp){0}),
                     ARGS_EXIT_USAGE);
    assert_stderr_has("valv: --until takes a date (2026-03-01, midnight UTC) or an RFC 3339 "
                      "time (2026-03-01T14:30:00Z, 2026-03-01T14:30:00+01:00), not 'March'\n"
                      "run 'valv test --help'\n");
}
END_TEST

/* ---- update masks ------------------------------------------------------------------ */

START_TEST(mask_paths_are_added_once)
{
    args_list paths = {0};
    ck_assert_int_eq(args_mask_add(&paths, "classification.%s", "integrity"), ARGS_EXIT_OK);
    ck_assert_int_eq(args_mask_add(&paths, "security.security_class"), ARGS_EXIT_OK);
    ck_assert_int_eq(args_mask_add(&paths, "classification.%s", "integrity"), ARGS_EXIT_OK);
    ck_assert_uint_eq(paths.n, 2);
    ck_assert_str_eq(paths.items[0], "classification.integrity");
    ck_assert_str_eq(paths.items[1], "security.security_class");
    args_list_free_items(&paths);
    ck_assert_uint_eq(paths.n, 0);
}
END_TEST

/* ---- -o: the global output format, or a command's own ------------------------------- */

/* Parses argv (up to NULL) for command and returns what args_next gave
 * before ARGS_END or ARGS_STOP: 'o' when the command got -o itself. */
static int first_option(const args_command *command, args_globals *globals, char **argv)
{
    static const struct option options[] = {ARGS_COMMON_OPTIONS, {0}};
    int argc = 0;
    while (argv[argc] != NULL)
        argc++;
    args_parser p = args_parser_init(command, globals, argc, argv, options);
    return args_next(&p);
}

START_TEST(output_flag_is_global_unless_the_command_reads_it)
{
    static const args_command own_command = {
        .path = "valv own", .usage = "Usage: valv own\n", .own_output_flag = true};
    args_globals globals;
    capture_stderr();
    args_globals_init(&globals);
    char *json_argv[] = {"test", "-o", "json", NULL};
    ck_assert_int_eq(first_option(&test_command, &globals, json_argv), ARGS_END);
    ck_assert_int_eq(globals.format, OUTPUT_JSON);

    args_globals_init(&globals);
    char *jsonl_argv[] = {"own", "--output", "jsonl", NULL};
    ck_assert_int_eq(first_option(&own_command, &globals, jsonl_argv), 'o');
    ck_assert_str_eq(optarg, "jsonl");
    ck_assert_int_eq(globals.format, OUTPUT_TABLE);

    char *bad_argv[] = {"test", "-o", "jsonl", NULL};
    ck_assert_int_eq(first_option(&test_command, &globals, bad_argv), ARGS_STOP);
    assert_stderr_has("valv: -o takes table, json or csv, not 'jsonl'\n");
}
END_TEST

/* ---- commands whose only options are the common ones -------------------------------- */

START_TEST(common_only_parse_takes_global_flags_and_counts_operands)
{
    args_globals globals;
    args_parser p;
    capture_stderr();
    args_globals_init(&globals);

    /* Options may follow the operand. */
    char *ok_argv[] = {"test", "name", "--addr", "valvd:8443", NULL};
    ck_assert_int_eq(args_parse_common(&test_command, &globals, 4, ok_argv, 1, 1, "NAME", &p),
                     ARGS_END);
    ck_assert_str_eq(globals.addr, "valvd:8443");
    ck_assert_int_eq(optind, 3);
    ck_assert_str_eq(ok_argv[optind], "name");

    char *missing_argv[] = {"test", NULL};
    ck_assert_int_eq(
        args_parse_common(&test_command, &globals, 1, missing_argv, 1, 1, "NAME", &p), ARGS_STOP);
    ck_assert_int_eq(p.exit_code, ARGS_EXIT_USAGE);
    assert_stderr_has("valv: missing NAME\nrun 'valv test --help'\n");

    char *extra_argv[] = {"test", "a", "b", NULL};
    ck_assert_int_eq(args_parse_common(&test_command, &globals, 3, extra_argv, 0, 1, "", &p),
                     ARGS_STOP);
    ck_assert_int_eq(p.exit_code, ARGS_EXIT_USAGE);
    assert_stderr_has("valv: unexpected argument 'b'\n");

    char *unknown_argv[] = {"test", "--colour", NULL};
    ck_assert_int_eq(args_parse_common(&test_command, &globals, 2, unknown_argv, 0, 0, "", &p),
                     ARGS_STOP);
    ck_assert_int_eq(p.exit_code, ARGS_EXIT_USAGE);
    assert_stderr_has("valv: unknown option '--colour'\n");

    /* --help ends the command with success, whatever the operands. */
    char *help_argv[] = {"test", "--help", NULL};
    ck_assert_int_eq(args_parse_common(&test_command, &globals, 2, help_argv, 1, 1, "NAME", &p),
                     ARGS_STOP);
    ck_assert_int_eq(p.exit_code, ARGS_EXIT_OK);
}
END_TEST

/* ---- the write flags: --etag and --request-id ------------------------------------- */

/* Parses argv (up to NULL) for test_command with options, handing every
 * option of the command's own to args_write_option as a write command does.
 * Returns what ended the options: ARGS_END or ARGS_STOP. */
static int parse_write_flags(const struct option *options, char **argv, args_write *write)
{
    args_globals globals;
    int argc = 0;
    while (argv[argc] != NULL)
        argc++;
    args_globals_init(&globals);
    args_parser p = args_parser_init(&test_command, &globals, argc, argv, options);
    int opt;
    while ((opt = args_next(&p)) != ARGS_END && opt != ARGS_STOP)
        ck_assert_int_eq(args_write_option(opt, optarg, write), ARGS_EXIT_OK);
    return opt;
}

START_TEST(write_options_take_etag_and_request_id)
{
    static const struct option write_options[] = {ARGS_WRITE_OPTIONS, ARGS_COMMON_OPTIONS, {0}};
    static const struct option request_id_options[] = {
        ARGS_REQUEST_ID_OPTION, ARGS_COMMON_OPTIONS, {0}};
    capture_stderr();

    /* Not given, each is "": what a request's string field holds unset. */
    args_write write = ARGS_WRITE_INIT;
    ck_assert_str_eq(write.etag, "");
    ck_assert_str_eq(write.request_id, "");

    /* Before and after the operand, as with every option. */
    char *both_argv[] = {"test", "--etag", "7", "name", "--request-id", "import-42", NULL};
    ck_assert_int_eq(parse_write_flags(write_options, both_argv, &write), ARGS_END);
    ck_assert_str_eq(write.etag, "7");
    ck_assert_str_eq(write.request_id, "import-42");
    ck_assert_str_eq(both_argv[optind], "name");

    /* A command without an etag to check takes --request-id alone. */
    write = (args_write)ARGS_WRITE_INIT;
    char *request_id_argv[] = {"test", "--request-id=r-1", NULL};
    ck_assert_int_eq(parse_write_flags(request_id_options, request_id_argv, &write), ARGS_END);
    ck_assert_str_eq(write.request_id, "r-1");
    ck_assert_str_eq(write.etag, "");
    char *etag_argv[] = {"test", "--etag", "7", NULL};
    ck_assert_int_eq(parse_write_flags(request_id_options, etag_argv, &write), ARGS_STOP);
    assert_stderr_has("valv: unknown option '--etag'\nrun 'valv test --help'\n");
    ck_assert_str_eq(write.etag, "");

    char *missing_argv[] = {"test", "--etag", NULL};
    ck_assert_int_eq(parse_write_flags(write_options, missing_argv, &write), ARGS_STOP);
    assert_stderr_has("valv: option '--etag' needs a value\n");

    /* Any other option is not the write flags' to take, and says nothing. */
    ck_assert_int_eq(args_write_option(ARGS_OPT_PAGE_SIZE, "5", &write), ARGS_EXIT_USAGE);
    ck_assert_int_eq(args_write_option(ARGS_OPT_FIRST_COMMAND_OPTION, "x", &write),
                     ARGS_EXIT_USAGE);
    ck_assert_str_eq(write.etag, "");
    ck_assert_str_eq(write.request_id, "r-1");
    ck_assert_str_eq(take_stderr(), "");
}
END_TEST

static Suite *cli_args_suite(void)
{
    Suite *s = suite_create("cli_args");
    TCase *tc = tcase_create("levels");
    tcase_add_test(tc, level_numbers_and_names_in_both_languages);
    tcase_add_test(tc, level_refuses_other_words_naming_the_flag);
    tcase_add_test(tc, short_levels_name_the_dimension_by_its_swedish_letter);
    tcase_add_test(tc, short_level_refuses_other_letters_and_numbers);
    suite_add_tcase(s, tc);

    tc = tcase_create("words");
    tcase_add_test(tc, security_class_in_english_and_swedish);
    tcase_add_test(tc, link_type_in_any_case_with_dash_or_underscore);
    tcase_add_test(tc, kind_in_any_case_with_dash_or_underscore);
    tcase_add_test(tc, words_longer_than_any_name_are_refused_whole);
    tcase_add_test(tc, audit_action_in_any_case);
    suite_add_tcase(s, tc);

    tc = tcase_create("times");
    tcase_add_test(tc, time_takes_dates_and_rfc3339);
    tcase_add_test(tc, time_refuses_what_is_not_a_whole_time_naming_the_flag);
    suite_add_tcase(s, tc);

    tc = tcase_create("masks");
    tcase_add_test(tc, mask_paths_are_added_once);
    suite_add_tcase(s, tc);

    tc = tcase_create("output");
    tcase_add_test(tc, output_flag_is_global_unless_the_command_reads_it);
    suite_add_tcase(s, tc);

    tc = tcase_create("common_only");
    tcase_add_test(tc, common_only_parse_takes_global_flags_and_counts_operands);
    suite_add_tcase(s, tc);

    tc = tcase_create("write_flags");
    tcase_add_test(tc, write_options_take_etag_and_request_id);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(cli_args_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failures = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failures ? 1 : 0;
}
