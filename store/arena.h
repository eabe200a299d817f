/* arena.h - a bump allocator for what lives only for one step.
 *
 * Decoding a stored asset the usual way costs a malloc and a free for each
 * of its strings, maps and sub-messages; an asset that is looked at and
 * then dropped (a list candidate, a record read to answer one call) can
 * instead be decoded into an arena and dropped all at once.
 *
 * An arena hands out memory from a buffer its owner gives it (on the
 * stack, or malloc'd); what does not fit comes from malloc, block by
 * block, so an allocation fails only when memory is out. arena_reset
 * gives all of it back. Not thread-safe: one arena, one thread.
 *
 *     unsigned char buffer[ARENA_ASSET_BYTES];
 *     arena mem;
 *     arena_init(&mem, buffer, sizeof buffer);
 *     Valv__V1__Asset *a = valv__v1__asset__unpack(arena_allocator(&mem), len, data);
 *     ...
 *     arena_reset(&mem);   (a is gone)
 */
#ifndef VALV_ARENA_H
#define VALV_ARENA_H

#include <stddef.h>

#include <protobuf-c/protobuf-c.h>

/* A buffer that holds a typical asset decoded (a few hundred bytes
 * stored, one or two KiB decoded) with room to spare; larger ones spill
 * into malloc'd blocks. Small enough for a thread's stack. */
#define ARENA_ASSET_BYTES (8 * 1024)

typedef struct arena_block arena_block;

typedef struct {
    unsigned char *base;      /* the owner's buffer; NULL: every allocation is a block */
    size_t size, used;
    arena_block *blocks;      /* malloc'd for what did not fit; freed by arena_reset */
    ProtobufCAllocator allocator;
} arena;

/* Makes a an empty arena over buffer (size bytes, borrowed: it must outlive
 * a's use; NULL with size 0 for none). */
void arena_init(arena *a, void *buffer, size_t size);

/* size bytes, aligned for any type, valid until arena_reset; NULL only
 * when memory is out. */
void *arena_alloc(arena *a, size_t size);

/* The allocator protobuf-c decodes into a with. Its free does nothing:
 * everything goes at arena_reset. */
ProtobufCAllocator *arena_allocator(arena *a);

/* Gives back everything allocated in a; the buffer is reused from its start. */
void arena_reset(arena *a);

#endif
