/* fuzz_v2.c: libFuzzer target for mdk serve's Open Inference Protocol v2 request parser (JSON and the binary
 * tensor extension) and, on what it accepts, the response encoder. The first two bytes choose where the JSON
 * part ends (Inference-Header-Content-Length); 0xffff means the whole body is JSON. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "server/server.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2) return 0;
    size_t split = (size_t)data[0] << 8 | data[1];
    const char *body = (const char *)data + 2;
    size_t len = size - 2;
    if (split == 0xffff || split > len) split = len;
    srv_v2_request req;
    char err[1024];
    if (srv_v2_parse(body, len, split, &req, err, sizeof err) != 0) return 0;
    char *out = NULL;
    size_t out_len = 0, json_len = 0;
    if (srv_v2_encode("m", "1", req.id, req.inputs, req.n_inputs, NULL, &out, &out_len, &json_len) == 0) free(out);
    srv_v2_request_free(&req);
    return 0;
}
