/* onnx_int.h: access to the protobuf-c code generated from ONNX's own onnx.proto, and the allocator that
 * routes protobuf-c's allocations through the library's allocation wrapper. */
#ifndef MDK_ONNX_INT_H
#define MDK_ONNX_INT_H

#include "core/core.h"
#include "onnx.pb-c.h"
#include "onnx_values.pb-c.h"

extern ProtobufCAllocator mdki_pb_allocator;

#endif
