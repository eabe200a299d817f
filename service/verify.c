#include "verify.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "store.h"

enum { VERIFY_OK = 0, VERIFY_DAMAGED = 1, VERIFY_USAGE = 2, VERIFY_CANNOT_OPEN = 3 };

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: valvd verify --data-dir DIR\n"
            "Check a Valv data directory without changing it: the audit chain (every event\n"
            "present, unaltered, in order) and every index against the asset records.\n"
            "Works on a stopped server's directory, a copy or a restored backup.\n"
            "Exit status: 0 intact, 1 damaged, 2 usage error, 3 cannot open.\n");
}

/* Prints one check's result; returns true when it passed. */
static bool report(const char *what, int rc, const store_verify_result *r, const valv_error *err)
{
    if (rc != VALV_OK) {
        printf("%-8s ERROR   %s\n", what, err->message);
        return false;
    }
    if (r->ok) {
        printf("%-8s ok      %lld checked, up to revision %lld\n", what, (long long)r->checked,
               (long long)r->last_revision);
        return true;
    }
    if (r->first_bad_revision > 0)
        printf("%-8s DAMAGED at revision %lld: %s\n", what, (long long)r->first_bad_revision,
               r->problem);
    else
        printf("%-8s DAMAGED %s\n", what, r->problem);
    return false;
}

int verify_main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"data-dir", required_argument, NULL, 'd'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *dir = NULL;
    int ch;
    opterr = 0;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (ch) {
        case 'd': dir = optarg; break;
        case 'h': usage(stdout); return VERIFY_OK;
        default:
            fprintf(stderr, "valvd verify: unknown or incomplete option '%s'; run 'valvd verify --help'\n",
                    argv[optind - 1]);
            return VERIFY_USAGE;
        }
    }
    if (dir == NULL || optind < argc) {
        fprintf(stderr, "valvd verify: give the data directory with --data-dir DIR\n");
        return VERIFY_USAGE;
    }

    store *st = NULL;
    valv_error err;
    valv_error_clear(&err);
    store_options opts = {.read_only = true};
    if (store_open(dir, &opts, &st, &err) != VALV_OK) {
        fprintf(stderr, "valvd verify: cannot open %s: %s\n", dir, err.message);
        return VERIFY_CANNOT_OPEN;
    }
    store_verify_result result;
    memset(&result, 0, sizeof result);
    int rc = store_verify_audit(st, &result, &err);
    bool ok = report("audit", rc, &result, &err);
    memset(&result, 0, sizeof result);
    valv_error_clear(&err);
    rc = store_verify_indexes(st, &result, &err);
    ok = report("indexes", rc, &result, &err) && ok;
    store_close(st);
    printf("%s: %s\n", dir, ok ? "intact" : "DAMAGED");
    return ok ? VERIFY_OK : VERIFY_DAMAGED;
}
