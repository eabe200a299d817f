/* token.h - `valvd token ...`: make bearer tokens for the principals file. */
#ifndef VALV_TOKEN_H
#define VALV_TOKEN_H

/* Runs `valvd token` with argv[0] == "token": "new" prints a fresh token on
 * the first line of stdout and, on the second, the identity to add to a
 * principal's "identities" in the principals file; "--help" prints usage.
 * Returns the process exit code: 0 done, 1 could not make a token, 2 usage
 * error. */
int token_main(int argc, char **argv);

#endif
