/* args.h - command-line parsing shared by the valv commands.
 *
 * Every command parses its flags with args_next, a getopt_long loop that
 * also takes the options every command accepts (--addr, -o/--output,
 * --timeout, the TLS and identity flags, --help) and reports usage errors the same way everywhere:
 *
 *   valv: unknown option '--colour'
 *   run 'valv asset list --help'
 *
 * and exit status ARGS_EXIT_USAGE. Strings handed out point into argv.
 */
#ifndef VALV_ARGS_H
#define VALV_ARGS_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "output.h"
#include "valv/v1/asset.pb-c.h"
#include "valv/v1/audit.pb-c.h"

#define ARGS_DEFAULT_ADDR "127.0.0.1:50051"

/* The end of every --help text: the options every command takes. */
#define ARGS_GLOBAL_FLAGS_HELP                                                        \
    "Global flags (before or after the command):\n"                                   \
    "  --addr HOST:PORT     valvd's address (default: $VALV_ADDR, else " ARGS_DEFAULT_ADDR ")\n" \
    "  -o, --output FORMAT  table (default), json (one object per line) or csv\n"       \
    "  --timeout SECONDS    how long to wait for each call (default 30)\n"             \
    "  -h, --help           show this help\n"                                          \
    "  --version            print valv's version\n"                                    \
    "\n"                                                                               \
    "TLS and identity, for valvd without --dev. Without --tls-ca, --tls or --cert\n"   \
    "valv talks plaintext, as to 'valvd --dev', and sends a token only to a loopback\n" \
    "address. Each flag overrides its environment variable:\n"                         \
    "  --tls-ca FILE        use TLS; valvd's certificate must verify against this CA\n" \
    "                       (PEM; $VALV_TLS_CA)\n"                                      \
    "  --tls                use TLS, trusting the system's CAs ($VALV_TLS=1)\n"          \
    "  --cert FILE          use TLS and prove who you are with this client\n"           \
    "                       certificate (PEM; $VALV_CERT); needs --key\n"                \
    "  --key FILE           the client certificate's private key (PEM; $VALV_KEY)\n"    \
    "  --token-file FILE    send the bearer token on FILE's first line ($VALV_TOKEN_FILE)\n" \
    "  --token TOKEN        send this bearer token ($VALV_TOKEN); other users of this\n" \
    "                       machine can read a command line (ps): prefer --token-file\n"

/* valv's exit statuses. */
enum {
    ARGS_EXIT_OK = 0,
    ARGS_EXIT_FAILED = 1, /* the server answered with an error, or could not be reached */
    ARGS_EXIT_USAGE = 2   /* the command line was wrong */
};

/* What args_next returns besides a command's own option values. */
enum {
    ARGS_END = -1,  /* no more options; operands start at optind */
    ARGS_STOP = -2, /* help printed or usage error: exit with parser->exit_code */
    /* The paging flags (ARGS_PAGING_OPTIONS): shared by the list commands,
     * but handed to them like their own options, so outside the global
     * flags' range below. */
    ARGS_OPT_PAGE_SIZE = 900,
    ARGS_OPT_PAGE_TOKEN,
    ARGS_OPT_ALL,
    /* The write flags (ARGS_WRITE_OPTIONS): shared by the commands that
     * change something, and handed to them the same way. */
    ARGS_OPT_ETAG,
    ARGS_OPT_REQUEST_ID,
    ARGS_OPT_ADDR = 1000,
    ARGS_OPT_TIMEOUT,
    ARGS_OPT_VERSION,
    ARGS_OPT_TLS,
    ARGS_OPT_TLS_CA,
    ARGS_OPT_CERT,
    ARGS_OPT_KEY,
    ARGS_OPT_TOKEN,
    ARGS_OPT_TOKEN_FILE,
    ARGS_OPT_FIRST_COMMAND_OPTION /* commands number their own options from here */
};

/* The entries every command's option table ends with, before {0}. */
#define ARGS_COMMON_OPTIONS                                    \
    {"addr", required_argument, NULL, ARGS_OPT_ADDR},          \
    {"output", required_argument, NULL, 'o'},                  \
    {"timeout", required_argument, NULL, ARGS_OPT_TIMEOUT},    \
    {"help", no_argument, NULL, 'h'},                         \
    {"version", no_argument, NULL, ARGS_OPT_VERSION},          \
    {"tls", no_argument, NULL, ARGS_OPT_TLS},                  \
    {"tls-ca", required_argument, NULL, ARGS_OPT_TLS_CA},      \
    {"cert", required_argument, NULL, ARGS_OPT_CERT},          \
    {"key", required_argument, NULL, ARGS_OPT_KEY},            \
    {"token", required_argument, NULL, ARGS_OPT_TOKEN},        \
    {"token-file", required_argument, NULL, ARGS_OPT_TOKEN_FILE}

/* The options that apply to the whole run, whichever command takes them.
 * Each string is the flag's value, else its environment variable's, else
 * NULL (addr: ARGS_DEFAULT_ADDR). */
typedef struct {
    const char *addr;       /* --addr, $VALV_ADDR */
    output_format format;   /* -o / --output */
    int timeout_ms;         /* --timeout; 0 means the RPC default */
    bool tls;               /* --tls, $VALV_TLS set and not "0" */
    const char *tls_ca;     /* --tls-ca, $VALV_TLS_CA */
    const char *cert;       /* --cert, $VALV_CERT */
    const char *key;        /* --key, $VALV_KEY */
    /* At most one of token and token_file is set: a flag replaces either
     * variable, and $VALV_TOKEN wins over $VALV_TOKEN_FILE. */
    const char *token;      /* --token, $VALV_TOKEN */
    const char *token_file; /* --token-file, $VALV_TOKEN_FILE */
} args_globals;

/* Sets the defaults, reading the environment variables above. */
void args_globals_init(args_globals *g);

/* A command as the user types it, for --help and error messages. */
typedef struct {
    const char *path;      /* "valv asset list" */
    const char *usage;     /* the complete --help text */
    bool has_subcommands;  /* options stop at the first operand, which names
                              the subcommand ("valv asset --help", not
                              "valv asset list --help") */
    bool own_output_flag;  /* args_next hands -o / --output to the command
                              instead of parsing it as the output format
                              (valv export writes csv or jsonl) */
} args_command;

typedef struct {
    const args_command *command;
    args_globals *globals;
    int argc;
    char **argv;                  /* argv[0] is the command's own word */
    const struct option *options; /* ends with ARGS_COMMON_OPTIONS, {0} */
    bool started;
    int exit_code;                /* valid after ARGS_STOP */
} args_parser;

/* Returns a parser over argv for command; argv is borrowed and reordered
 * by getopt (options first). */
args_parser args_parser_init(const args_command *command, args_globals *globals, int argc,
                             char **argv, const struct option *options);

/* Returns the next command-specific option (its `val`, with optarg set),
 * ARGS_END when the options are done (operands are argv[optind..argc)), or
 * ARGS_STOP after printing --help (exit_code 0) or a usage error (exit
 * code ARGS_EXIT_USAGE). --version also prints "valv VERSION" and stops. */
int args_next(args_parser *p);

/* Checks that between min and max operands (max < 0: no limit) follow the
 * options; what names them in the error ("NAME"). Returns ARGS_EXIT_OK or,
 * after printing the usage error, ARGS_EXIT_USAGE. */
int args_operands(const args_parser *p, int min, int max, const char *what);

/* The whole parse of a command whose only options are the common ones:
 * sets *p to a parser over argv (borrowed, reordered), takes the options
 * and checks that between min and max operands follow, as args_operands
 * does. Returns ARGS_END to go on (the operands are argv[optind..argc)), or
 * ARGS_STOP when the command is done: --help or --version was shown, or a
 * usage error printed; exit with p->exit_code. */
int args_parse_common(const args_command *command, args_globals *globals, int argc, char **argv,
                      int min, int max, const char *what, args_parser *p);

/* Prints "valv: REASON" and "run 'COMMAND --help'" to stderr. Returns
 * ARGS_EXIT_USAGE. */
int args_usage_error(const args_command *command, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Parses a whole decimal number in [min, max] given to flag. Returns
 * ARGS_EXIT_OK or a usage error. */
int args_parse_int(const args_command *command, const char *flag, const char *text, long min,
                   long max, long *out);

/* The flags every list command takes: --page-size N, --page-token T, --all.
 * Put ARGS_PAGING_OPTIONS in the command's option table and hand its
 * options to args_paging_option. */
#define ARGS_PAGING_OPTIONS                                         \
    {"page-size", required_argument, NULL, ARGS_OPT_PAGE_SIZE},     \
    {"page-token", required_argument, NULL, ARGS_OPT_PAGE_TOKEN},   \
    {"all", no_argument, NULL, ARGS_OPT_ALL}

typedef struct {
    int32_t page_size;      /* 0: the server's default */
    const char *page_token; /* borrowed from argv; NULL: the first page */
    bool all;               /* follow next_page_token to the end */
} args_paging;

/* When opt is a paging flag (with its argument text), records it in paging
 * and returns ARGS_EXIT_OK or a usage error; otherwise returns
 * ARGS_EXIT_USAGE without a message, for options the caller does not know
 * either (args_next never returns those). */
int args_paging_option(const args_command *command, int opt, const char *text,
                       args_paging *paging);

/* The flags the commands that change something take: --etag ETAG, to
 * change only the version of the asset the user read, and --request-id ID,
 * which names the change in the audit log. Put ARGS_WRITE_OPTIONS in the
 * command's option table, or only ARGS_REQUEST_ID_OPTION when the command
 * has no etag to check (it creates something, or changes a link), and hand
 * its options to args_write_option. */
#define ARGS_REQUEST_ID_OPTION {"request-id", required_argument, NULL, ARGS_OPT_REQUEST_ID}
#define ARGS_WRITE_OPTIONS                                \
    {"etag", required_argument, NULL, ARGS_OPT_ETAG},     \
    ARGS_REQUEST_ID_OPTION

/* The write flags' lines for a --help text, in the column most commands
 * describe their flags at. */
#define ARGS_ETAG_HELP \
    "  --etag ETAG            fail with ABORTED if the asset changed since you read it\n"
#define ARGS_REQUEST_ID_HELP "  --request-id ID        identifies the request in the audit log\n"

/* The write flags' values, borrowed from argv (never written to). A flag
 * not given is "", as protobuf-c leaves a string field that is not set, so
 * that each value can go into a request as it is. Start from
 * ARGS_WRITE_INIT. */
typedef struct {
    char *etag;
    char *request_id;
} args_write;

#define ARGS_WRITE_INIT {.etag = "", .request_id = ""}

/* When opt is a write flag, records its text in write and returns
 * ARGS_EXIT_OK; otherwise returns ARGS_EXIT_USAGE without a message, for
 * options the caller does not know either (args_next never returns those). */
int args_write_option(int opt, char *text, args_write *write);

/* The enum parsers below take the words as users write them: any case, '-'
 * and '_' alike, and the Swedish letters å, ä and ö with or without their
 * marks ("Försumbar", "forsumbar"). flag names what is parsed in the usage
 * error, which lists every word allowed. Each returns ARGS_EXIT_OK or a
 * usage error. */

/* information, it-system or facility. */
int args_parse_kind(const args_command *command, const char *text, Valv__V1__AssetKind *out);

/* A consequence level: the level number 0-4, the English name (negligible,
 * moderate, significant, serious, very-serious) or the Swedish one
 * (försumbar or ingen, måttlig, betydande, allvarlig, synnerligen-allvarlig). */
int args_parse_level(const args_command *command, const char *flag, const char *text,
                     Valv__V1__Level *out);

/* A security class: not-classified, restricted, confidential, secret,
 * top-secret, or in Swedish ingen, begränsat-hemlig, konfidentiell, hemlig,
 * kvalificerat-hemlig. */
int args_parse_security_class(const args_command *command, const char *flag, const char *text,
                              Valv__V1__SecurityClass *out);

/* A link type: processed-by, stored-in, hosted-in, depends-on, part-of. */
int args_parse_link_type(const args_command *command, const char *text, Valv__V1__LinkType *out);

/* An audit action: create, update, delete, undelete, link, unlink, approve,
 * return or inherit. */
int args_parse_audit_action(const args_command *command, const char *text,
                            Valv__V1__AuditAction *out);

/* A point in time given to flag: RFC 3339 ("2026-03-01T14:30:00Z",
 * "2026-03-01T14:30:00.5+01:00"; 't', 'z' and a space for 'T' also taken)
 * or a date, "2026-03-01", meaning its midnight UTC. Years 0001-9999.
 * Sets out->seconds and out->nanos. Returns ARGS_EXIT_OK or a usage error. */
int args_parse_time(const args_command *command, const char *flag, const char *text,
                    Google__Protobuf__Timestamp *out);

/* The classification dimensions, in the order of the short form K R T S. */
typedef enum {
    ARGS_CONFIDENTIALITY, /* K: konfidentialitet */
    ARGS_INTEGRITY,       /* R: riktighet */
    ARGS_AVAILABILITY,    /* T: tillgänglighet */
    ARGS_TRACEABILITY,    /* S: spårbarhet */
    ARGS_DIMENSIONS       /* how many there are */
} args_dimension;

/* The field name of a dimension in Classification: "confidentiality". */
const char *args_dimension_field(args_dimension dimension);

/* Parses the short form of one level, a dimension letter K, R, T or S (any
 * case) and a level number 0-4: "K3". Returns ARGS_EXIT_OK or a usage
 * error. */
int args_parse_short_level(const args_command *command, const char *text,
                           args_dimension *dimension_out, Valv__V1__Level *level_out);

/* Splits "KEY=VALUE" in place (the '=' becomes '\0'). The key must be
 * non-empty; the value may be. Returns ARGS_EXIT_OK or a usage error. */
int args_split_key_value(const args_command *command, const char *flag, char *text, char **key,
                         char **value);

/* A growable list of borrowed strings, for repeated flags. */
typedef struct {
    char **items;
    size_t n;
    size_t cap;
} args_list;

/* Appends item (borrowed). Returns ARGS_EXIT_OK, or ARGS_EXIT_FAILED after
 * saying that memory ran out. */
int args_list_add(args_list *list, char *item);
void args_list_free(args_list *list);

/* Frees every item of list (which must be malloc'd), then the list. */
void args_list_free_items(args_list *list);

/* Adds a printf-made update mask path to paths (malloc'd; free them with
 * args_list_free_items) unless it is there already. Returns ARGS_EXIT_OK,
 * or ARGS_EXIT_FAILED after saying that memory ran out. */
int args_mask_add(args_list *paths, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The resource name for what the user typed: "assets/ID" stays as it is,
 * "ID" becomes "assets/ID". Returns a malloc'd string (the caller frees it),
 * or NULL when out of memory. */
char *args_asset_name(const char *name_or_id);

/* Sets *name_out to the malloc'd resource name of operand argv[optind +
 * index]. Returns ARGS_EXIT_OK, or ARGS_EXIT_FAILED after saying that
 * memory ran out. */
int args_asset_operand(const args_parser *p, int index, char **name_out);

/* Checks that exactly one operand, NAME, follows the options and sets
 * *name_out as args_asset_operand does. */
int args_single_asset(const args_parser *p, char **name_out);

#endif
