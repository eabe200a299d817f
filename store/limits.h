/* limits.h - every input limit of Valv, in one place.
 *
 * Each is checked on input and listed in README.md ("Limits"); change both
 * together. Lengths in bytes unless they say characters (Unicode code points).
 */
#ifndef VALV_LIMITS_H
#define VALV_LIMITS_H

#define VALV_ASSET_ID_MAX 63            /* ^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$ */
#define VALV_DISPLAY_NAME_MAX_CHARS 200 /* required, 1..200 characters */
#define VALV_DESCRIPTION_MAX 8192       /* bytes */
#define VALV_OWNER_UNIT_MAX 63          /* ^[a-z][a-z0-9-]{0,62}$ */
#define VALV_OWNER_MAX_CHARS 200
#define VALV_ATTRIBUTES_MAX 64          /* entries */
#define VALV_ATTRIBUTE_KEY_MAX 63       /* ^[a-z][a-z0-9_-]{0,62}$ */
#define VALV_ATTRIBUTE_VALUE_MAX 1024   /* bytes */
#define VALV_LABELS_MAX 32
#define VALV_LABEL_MAX 63               /* ^[a-z0-9][a-z0-9_.:-]{0,62}$ */
#define VALV_SOURCE_MAX 63              /* ^[a-z][a-z0-9-]{0,62}$ */
#define VALV_EXTERNAL_ID_MAX 256        /* bytes, no control characters */
#define VALV_RATIONALE_MAX 4096         /* bytes */
#define VALV_DECISION_REF_MAX 200       /* characters */
#define VALV_REASON_MAX 1024            /* delete reason, bytes */
#define VALV_REQUEST_ID_MAX 128         /* bytes, printable ASCII */
#define VALV_COMMENT_MAX 4096           /* review comment, bytes; required */
#define VALV_ETAG_MAX 64                /* an etag sent back, bytes */
#define VALV_ACTOR_MAX 256              /* ListAuditEvents.actor, bytes */

#define VALV_FILTER_MAX 4096            /* bytes of filter text */
#define VALV_FILTER_DEPTH_MAX 32        /* nesting of parentheses / NOT */
#define VALV_ORDER_BY_MAX 256
#define VALV_PAGE_SIZE_DEFAULT 50
#define VALV_PAGE_SIZE_MAX 1000
#define VALV_PAGE_TOKEN_MAX 1024        /* bytes of encoded token */
#define VALV_BATCH_GET_MAX 1000         /* names in one BatchGetAssets */

#define VALV_MESSAGE_MAX (4 * 1024 * 1024) /* largest request message */

#endif
