/* arena.c - see arena.h. */
#include "arena.h"

#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>

#define ARENA_ALIGN alignof(max_align_t)

/* A block from malloc: this header, then the memory handed out. */
struct arena_block {
    arena_block *next;
    alignas(max_align_t) unsigned char data[];
};

static void *allocator_alloc(void *data, size_t size)
{
    return arena_alloc(data, size);
}

static void allocator_free(void *data, void *pointer)
{
    (void)data, (void)pointer; /* all at once, at arena_reset */
}

void arena_init(arena *a, void *buffer, size_t size)
{
    a->base = buffer;
    a->size = buffer != NULL ? size : 0;
    a->used = 0;
    a->blocks = NULL;
    a->allocator = (ProtobufCAllocator){allocator_alloc, allocator_free, a};
}

void *arena_alloc(arena *a, size_t size)
{
    size_t start = (a->used + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    if (start <= a->size && size <= a->size - start) {
        a->used = start + size;
        return a->base + start;
    }
    if (size > SIZE_MAX - sizeof(arena_block))
        return NULL;
    arena_block *b = malloc(sizeof *b + size);
    if (b == NULL)
        return NULL;
    b->next = a->blocks;
    a->blocks = b;
    return b->data;
}

ProtobufCAllocator *arena_allocator(arena *a)
{
    return &a->allocator;
}

void arena_reset(arena *a)
{
    while (a->blocks != NULL) {
        arena_block *next = a->blocks->next;
        free(a->blocks);
        a->blocks = next;
    }
    a->used = 0;
}
