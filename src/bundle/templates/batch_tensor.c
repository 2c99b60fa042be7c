/* batch.c: runs @NAME@ @VERSION@ on every case of an .npz file of inputs keyed CASE/NAME (such as the
 * bundle's test_cases/inputs.npz) and prints each output's shape.  usage: ./batch BUNDLE_DIR INPUTS.npz */
#include <stdio.h>
#include <string.h>

#include <mdk/mdk.h>

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s BUNDLE_DIR INPUTS.npz\n", argv[0]);
        return 2;
    }
    mdk_pipeline *p = NULL;
    mdk_caseset *cs = NULL;
    mdk_status st = mdk_pipeline_open(argv[1], NULL, &p);
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", argv[2]);
    char *slash = strrchr(dir, '/');
    if (slash) *slash = '\0';
    else snprintf(dir, sizeof dir, ".");
    if (st == MDK_OK) st = mdk_caseset_read(dir, mdk_pipeline_model(p), &cs);
    for (size_t i = 0; st == MDK_OK && i < mdk_caseset_count(cs); i++) {
        const mdk_case *c = mdk_caseset_get(cs, i);
        mdk_tensor **out = NULL;
        size_t n_out = 0;
        st = mdk_model_run(mdk_pipeline_model(p), c->inputs, c->n_inputs, &out, &n_out);
        for (size_t k = 0; st == MDK_OK && k < n_out; k++) {
            char shape[128];
            printf("%s %s: %s\n", c->name, mdk_tensor_name(out[k]),
                   mdk_shape_str(mdk_tensor_ndim(out[k]), mdk_tensor_shape(out[k]), shape, sizeof shape));
        }
        mdk_tensors_free(out, n_out);
    }
    if (st != MDK_OK) fprintf(stderr, "batch: %s\n", mdk_errmsg());
    mdk_caseset_free(cs);
    mdk_pipeline_close(p);
    return st == MDK_OK ? 0 : 1;
}
