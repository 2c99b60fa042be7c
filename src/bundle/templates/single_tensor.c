/* single.c: one inference of @NAME@ @VERSION@ on tensors read from files (.npy, .pb or .json), one per input
 * in order; writes each output as OUTPUT_NAME.npy in the current directory.
 * usage: ./single BUNDLE_DIR INPUT_FILE... */
#include <stdio.h>
#include <stdlib.h>

#include <mdk/mdk.h>

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s BUNDLE_DIR INPUT_FILE...\n", argv[0]);
        return 2;
    }
    mdk_pipeline *p = NULL;
    mdk_tensor *in[64] = {0}, **out = NULL;
    size_t n_in = (size_t)argc - 2, n_out = 0;
    mdk_status st = n_in <= 64 ? mdk_pipeline_open(argv[1], NULL, &p) : MDK_ERR_INVALID_ARGUMENT;
    mdk_model *m = st == MDK_OK ? mdk_pipeline_model(p) : NULL;
    for (size_t i = 0; i < n_in && st == MDK_OK; i++) {
        st = mdk_tensor_read(argv[i + 2], mdk_model_input(m, i)->dtype, &in[i]);
        if (st == MDK_OK) st = mdk_tensor_set_name(in[i], mdk_model_input(m, i)->name);
    }
    if (st == MDK_OK) st = mdk_model_run(m, in, n_in, &out, &n_out);
    for (size_t i = 0; i < n_out && st == MDK_OK; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s.npy", mdk_tensor_name(out[i]));
        st = mdk_tensor_write(out[i], path);
        if (st == MDK_OK) printf("%s\n", path);
    }
    if (st != MDK_OK) fprintf(stderr, "single: %s\n", mdk_errmsg());
    mdk_tensors_free(out, n_out);
    for (size_t i = 0; i < n_in; i++) mdk_tensor_free(in[i]);
    mdk_pipeline_close(p);
    return st == MDK_OK ? 0 : 1;
}
