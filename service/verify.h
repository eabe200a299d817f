/* verify.h - `valvd verify`: check a data directory offline. */
#ifndef VALV_VERIFY_H
#define VALV_VERIFY_H

/* Runs `valvd verify --data-dir DIR` (argv[0] is "verify"). Opens the store
 * read-only (usable on a backup or a copy), walks the audit chain and checks
 * every index against the records. Prints what it found; returns the exit
 * code: 0 intact, 1 damaged, 2 usage error, 3 cannot open. */
int verify_main(int argc, char **argv);

#endif
