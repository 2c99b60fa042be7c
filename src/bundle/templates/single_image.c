/* single.c: one image through @NAME@ @VERSION@'s whole pipeline (preprocessing, model, postprocessing) with
 * libmdk; prints the JSON result.  usage: ./single BUNDLE_DIR IMAGE */
#include <stdio.h>
#include <stdlib.h>

#include <mdk/mdk.h>

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s BUNDLE_DIR IMAGE\n", argv[0]);
        return 2;
    }
    mdk_pipeline *p = NULL;
    mdk_image *img = NULL;
    char *json = NULL;
    mdk_status st = mdk_pipeline_open(argv[1], NULL, &p); /* checks every file's hash first */
    if (st == MDK_OK) st = mdk_image_read(argv[2], NULL, &img);
    if (st == MDK_OK) st = mdk_pipeline_run(p, &img, 1, (const char *const *)&argv[2], NULL, 0, &json, NULL, NULL);
    if (st != MDK_OK) fprintf(stderr, "single: %s\n", mdk_errmsg());
    else fputs(json, stdout);
    free(json);
    mdk_image_free(img);
    mdk_pipeline_close(p);
    return st == MDK_OK ? 0 : 1;
}
