/* fuzz_graph.c: libFuzzer target for the ONNX model reader behind `mdk inspect`. */
#include <stdint.h>

#include "mdk/mdk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mdk_graph_info *g = NULL;
    if (mdk_graph_info_read_memory(data, size, "fuzz", &g) == MDK_OK) mdk_graph_info_free(g);
    return 0;
}
