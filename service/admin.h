/* admin.h - handlers of valv.v1.Admin (rows of the method table): the
 * security picture per unit, server information and backups.
 *
 * Backup copies the store into an unlinked temporary file in the data
 * directory on a thread of its own (the copy holds one LMDB read
 * transaction, so it should be short: a local disk, not a slow client),
 * then streams the file from the call's worker thread, one chunk per send.
 * No worker thread waits for the copy or for the client, and writes go on
 * throughout. The file needs as much free space in the data directory as
 * the compacted store; it disappears with the call, however the call ends.
 */
#ifndef VALV_ADMIN_H
#define VALV_ADMIN_H

#include "methods.h"

#define ADMIN_SUMMARY_UNITS_MAX 1000   /* owner_units in one GetSummaryRequest */
#define ADMIN_BACKUPS_MAX 2            /* backups at a time; more are RESOURCE_EXHAUSTED */
#define ADMIN_BACKUP_CHUNK (64 * 1024) /* bytes in one BackupChunk, at most */

void admin_get_summary(call *c, const ProtobufCMessage *request);
void admin_get_server_info(call *c, const ProtobufCMessage *request);
void admin_backup(call *c, const ProtobufCMessage *request);

#endif
