/* token.c - `valvd token new`. */
#include "token.h"

#include <stdio.h>
#include <string.h>

#include "principals.h"

enum { EXIT_FAILED = 1, EXIT_USAGE = 2 };

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: valvd token new\n"
            "Make a bearer token for a principal.\n"
            "\n"
            "Prints the token on the first line and, on the second, the identity to add\n"
            "to the principal's \"identities\" in the principals file. The file keeps only\n"
            "the token's SHA-256, so the token is shown this once: give it to the client\n"
            "(sent as 'authorization: Bearer TOKEN'), then send valvd SIGHUP to reload.\n"
            "\n"
            "Example:\n"
            "  valvd token new\n"
            "  Kq3...(43 characters)\n"
            "  {\"token\": \"sha256:5f1c...(64 hex digits)\"}\n");
}

int token_main(int argc, char **argv)
{
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        usage(stdout);
        return 0;
    }
    if (argc != 2 || strcmp(argv[1], "new") != 0) {
        fprintf(stderr, "valvd token: %s\n",
                argc < 2 ? "missing command: 'new'" : "unknown arguments; the command is 'new'");
        usage(stderr);
        return EXIT_USAGE;
    }

    char token[PRINCIPALS_TOKEN_SIZE];
    char hash_text[PRINCIPALS_TOKEN_HASH_TEXT_SIZE];
    valv_error err;
    valv_error_clear(&err);
    if (principals_token_new(token, hash_text, &err) != VALV_OK) {
        fprintf(stderr, "valvd token: %s\n", err.message);
        return EXIT_FAILED;
    }
    printf("%s\n{\"token\": \"%s\"}\n", token, hash_text);
    if (fflush(stdout) != 0) {
        perror("valvd token: stdout");
        return EXIT_FAILED;
    }
    fprintf(stderr, "valvd token: the first line is the token, shown only now; add the second\n"
                    "line to the principal's \"identities\" and reload valvd (SIGHUP).\n");
    return 0;
}
