/* pb_alloc.c: protobuf-c's allocator hooked to the library's allocation wrapper. */
#include "onnx/onnx_int.h"

static void *pb_alloc(void *ctx, size_t n)
{
    (void)ctx;
    return mdki_malloc(n);
}

static void pb_free(void *ctx, void *p)
{
    (void)ctx;
    mdki_free(p);
}

ProtobufCAllocator mdki_pb_allocator = {pb_alloc, pb_free, NULL};
