/* batch.c: several images as one batch through @NAME@ @VERSION@'s pipeline; prints the JSON result with one
 * entry per image.  usage: ./batch BUNDLE_DIR IMAGE... */
#include <stdio.h>
#include <stdlib.h>

#include <mdk/mdk.h>

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s BUNDLE_DIR IMAGE...\n", argv[0]);
        return 2;
    }
    size_t n = (size_t)argc - 2;
    mdk_image **imgs = calloc(n, sizeof *imgs);
    mdk_pipeline *p = NULL;
    char *json = NULL;
    mdk_status st = imgs ? mdk_pipeline_open(argv[1], NULL, &p) : MDK_ERR_NO_MEMORY;
    for (size_t i = 0; i < n && st == MDK_OK; i++) st = mdk_image_read(argv[i + 2], NULL, &imgs[i]);
    if (st == MDK_OK) st = mdk_pipeline_run(p, imgs, n, (const char *const *)&argv[2], NULL, 0, &json, NULL, NULL);
    if (st != MDK_OK) fprintf(stderr, "batch: %s\n", mdk_errmsg());
    else fputs(json, stdout);
    free(json);
    for (size_t i = 0; imgs && i < n; i++) mdk_image_free(imgs[i]);
    free(imgs);
    mdk_pipeline_close(p);
    return st == MDK_OK ? 0 : 1;
}
