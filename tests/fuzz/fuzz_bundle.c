/* fuzz_bundle.c: libFuzzer target for bundle archives. The input is the tar stream itself, before zstd (which
 * libarchive reads as well): mutations reach the entry checks (paths, types, sizes, duplicates), the
 * manifest, and the spec and labels inside, instead of dying in the decompressor. Seeds: a real bundle and
 * the hostile archives of tests/pylib/hostile.py. */
#include <stdint.h>

#include "bundle/bundle_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mdk_bundle *b = NULL;
    if (mdki_bundle_open_memory(data, size, "fuzz.mdk", &b) == MDK_OK) mdk_bundle_close(b);
    return 0;
}
