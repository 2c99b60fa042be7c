/* fuzz_tensor.c: libFuzzer target for every tensor reader. The format is chosen at build time
 * (FUZZ_FORMAT: 1 .npy, 2 .pb, 3 JSON, 4 .npz, 5 .pb as SequenceProto, 6 .pb as OptionalProto); whatever
 * decodes is encoded again, so the writers are exercised on odd but valid tensors too. */
#include <stdint.h>
#include <stdlib.h>

#include "tensor/tensor_int.h"

static void reencode(const mdk_tensor *t)
{
    static const mdk_format formats[] = {MDK_FORMAT_NPY, MDK_FORMAT_PB, MDK_FORMAT_JSON};
    for (size_t i = 0; i < 3; i++) {
        void *buf;
        size_t len;
        if (mdk_tensor_write_memory(t, formats[i], &buf, &len) == MDK_OK) free(buf);
    }
    mdk_compare c;
    mdk_tensor_compare(t, t, 1e-3, 1e-7, &c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mdk_tensor *t = NULL;
#if FUZZ_FORMAT == 4
    mdk_tensor **ts = NULL;
    size_t n = 0;
    if (mdki_npz_decode(data, size, "fuzz", &ts, &n) == MDK_OK) {
        for (size_t i = 0; i < n; i++) reencode(ts[i]);
        mdk_tensors_free(ts, n);
    }
    return 0;
#elif FUZZ_FORMAT == 5 || FUZZ_FORMAT == 6
    mdk_value_kind kind = FUZZ_FORMAT == 5 ? MDK_VALUE_SEQUENCE : MDK_VALUE_OPTIONAL;
    if (mdki_pb_decode_value(data, size, kind, "fuzz", &t) == MDK_OK) reencode(t);
#else
    if (mdk_tensor_read_memory(data, size, (mdk_format)FUZZ_FORMAT, MDK_DTYPE_UNDEFINED, "fuzz", &t) == MDK_OK)
        reencode(t);
#endif
    mdk_tensor_free(t);
    return 0;
}
