/* fuzz_v2.c: libFuzzer target for libmdk's Open Inference Protocol v2 codec (mdk/v2.h): the request parser
 * (JSON and the binary tensor extension) and, on what it accepts, the response encoder. The first two bytes
 * choose where the JSON part ends (Inference-Header-Content-Length); 0xffff means the whole body is JSON. */
#include <stdint.h>

#include "mdk/mdk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2) return 0;
    size_t split = (size_t)data[0] << 8 | data[1];
    size_t len = size - 2;
    if (split == 0xffff || split > len) split = len;
    mdk_v2_request *req = NULL;
    if (mdk_v2_request_parse(data + 2, len, split, &req) != MDK_OK) return 0;
    char *out = NULL;
    size_t out_len = 0, json_len = 0;
    size_t n = mdk_v2_request_input_count(req);
    mdk_tensor *outs[8];
    for (size_t i = 0; i < n && i < 8; i++) outs[i] = mdk_v2_request_input(req, i);
    if (mdk_v2_response_encode("m", "1", req, outs, n < 8 ? n : 8, &out, &out_len, &json_len) == MDK_OK) mdk_free(out);
    mdk_v2_request_free(req);
    return 0;
}
