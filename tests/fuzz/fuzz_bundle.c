/* fuzz_bundle.c: libFuzzer target for bundle archives: tar + zstd parsing with its entry checks, the
 * manifest, and the spec and labels inside. */
#include <stdint.h>

#include "bundle/bundle_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mdk_bundle *b = NULL;
    if (mdki_bundle_open_memory(data, size, "fuzz.mdk", &b) == MDK_OK) mdk_bundle_close(b);
    return 0;
}
