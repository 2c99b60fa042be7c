/* fuzz_image.c: libFuzzer target for the JPEG and PNG decoders, at full size and through the DCT-scaled path,
 * with a pixel cap low enough for the fuzzer's memory limit. */
#include <stdint.h>

#include "mdk/mdk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mdk_decode_options o;
    mdk_decode_options_init(&o);
    o.max_pixels = 4000000;
    mdk_image *img = NULL;
    if (mdk_image_decode(data, size, "fuzz", &o, &img) == MDK_OK) mdk_image_free(img);
    o.min_width = o.min_height = 16;
    if (mdk_image_decode(data, size, "fuzz", &o, &img) == MDK_OK) mdk_image_free(img);
    return 0;
}
