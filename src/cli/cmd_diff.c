/* cmd_diff.c: `mdk diff OLD NEW`: interface changes between two bundles; exit 0 when NEW can replace OLD in
 * place, 1 when the update is breaking. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int cmd_diff(int argc, char **argv)
{
    const char *paths[2] = {NULL, NULL};
    int json = 0;
    for (int i = 1; i < argc; i++) {
        if (cli_is_help(argv[i])) {
            printf("usage: mdk diff OLD NEW [--json]\n\n"
                   "Compares two bundles (directories or .mdk archives): inputs and outputs (names, dtypes, shapes),\n"
                   "preprocessing, postprocessing, labels and the model digest. Each change is marked compatible or\n"
                   "breaking. Exit status: 0 when NEW can replace OLD in place, 1 when the update is breaking, 2 on\n"
                   "usage errors.\n\n"
                   "  --json   print the report as JSON\n");
            return 0;
        }
        if (strcmp(argv[i], "--json") == 0) json = 1;
        else if (argv[i][0] == '-' && argv[i][1]) return cli_usage_error("diff", "unknown option '%s'", argv[i]);
        else if (!paths[0]) paths[0] = argv[i];
        else if (!paths[1]) paths[1] = argv[i];
        else return cli_usage_error("diff", "unexpected argument '%s'", argv[i]);
    }
    if (!paths[1]) return cli_usage_error("diff", "needs OLD and NEW bundles");
    mdk_bundle *b[2] = {NULL, NULL};
    char *report = NULL;
    int breaking = 0, rc = 0;
    mdk_status st = MDK_OK;
    for (int k = 0; k < 2 && st == MDK_OK; k++) st = mdk_bundle_open(paths[k], &b[k]);
    if (st == MDK_OK) st = mdk_bundle_diff(b[0], b[1], &report, &breaking);
    if (st != MDK_OK) {
        rc = cli_lib_error("diff", st);
    } else if (json) {
        fputs(report, stdout);
    } else {
        cJSON *r = cJSON_Parse(report);
        const cJSON *changes = cJSON_GetObjectItemCaseSensitive(r, "changes");
        printf("%s -> %s\n", cJSON_GetObjectItemCaseSensitive(r, "old")->valuestring,
               cJSON_GetObjectItemCaseSensitive(r, "new")->valuestring);
        for (const cJSON *c = changes ? changes->child : NULL; c; c = c->next)
            printf("%-10s %s: %s\n", strcmp(cJSON_GetObjectItemCaseSensitive(c, "impact")->valuestring, "breaking") == 0 ? "BREAKING"
                                                                                                               : "compatible",
                   cJSON_GetObjectItemCaseSensitive(c, "what")->valuestring,
                   cJSON_GetObjectItemCaseSensitive(c, "detail")->valuestring);
        printf("%s\n", cJSON_GetObjectItemCaseSensitive(r, "summary")->valuestring);
        cJSON_Delete(r);
    }
    mdk_free(report);
    mdk_bundle_close(b[0]);
    mdk_bundle_close(b[1]);
    return rc ? rc : breaking;
}
