/* fuzz_spec.c: libFuzzer target for the YAML spec reader (mdk.yaml). Relative files it names (labels) are
 * looked up in a directory that does not exist, so only the parser and validation run. */
#include <stdint.h>

#include "process/process_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mdk_spec *s = NULL;
    if (mdki_spec_parse((const char *)data, size, "/nonexistent-mdk-fuzz/mdk.yaml", NULL, NULL, &s) == MDK_OK) mdk_spec_free(s);
    return 0;
}
