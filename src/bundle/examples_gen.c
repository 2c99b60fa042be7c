/* examples_gen.c: a bundle's examples (C single/batched/multi-threaded with build files, Python, curl),
 * deployment files (Dockerfile, KServe manifest) and the receiver's test.py, filled in from the templates in
 * src/bundle/templates with this bundle's name, version and interface. */
#include <ctype.h>
#include <string.h>

#include "bundle/bundle_int.h"

extern const char mdki_tpl_single_image_c[], mdki_tpl_batch_image_c[], mdki_tpl_single_tensor_c[],
    mdki_tpl_batch_tensor_c[], mdki_tpl_threads_c[], mdki_tpl_Makefile[], mdki_tpl_CMakeLists_txt[], mdki_tpl_predict_py[],
    mdki_tpl_test_py[], mdki_tpl_Dockerfile[], mdki_tpl_kserve_yaml[], mdki_tpl_curl_sh[];

typedef struct subst {
    const char *key, *value;
} subst;

/* Copies `tpl` into a new bundle file, replacing each @KEY@ of `subs`. */
static mdk_status fill(mdki_files *f, const char *path, const char *tpl, const subst *subs, size_t n)
{
    mdki_buf b;
    mdki_buf_init(&b, 16u << 20);
    mdk_status st = MDK_OK;
    for (const char *p = tpl; *p && st == MDK_OK;) {
        const char *at = strchr(p, '@');
        size_t k = 0;
        for (; at && k < n; k++) {
            size_t kl = strlen(subs[k].key);
            if (strncmp(at + 1, subs[k].key, kl) == 0 && at[1 + kl] == '@') break;
        }
        if (!at) {
            st = mdki_buf_add(&b, p, strlen(p));
            break;
        }
        st = mdki_buf_add(&b, p, (size_t)(at - p));
        if (st != MDK_OK) break;
        if (k < n) {
            st = mdki_buf_add(&b, subs[k].value, strlen(subs[k].value));
            p = at + strlen(subs[k].key) + 2;
        } else {
            st = mdki_buf_addc(&b, '@');
            p = at + 1;
        }
    }
    if (st != MDK_OK) {
        mdki_buf_free(&b);
        return st;
    }
    return mdki_files_add_buf(f, path, &b);
}

mdk_status mdki_gen_examples(const mdk_spec *s, const mdk_model *m, const mdki_sample *first, mdki_files *f)
{
    char dns[256], predict[2400];
    size_t k = 0;
    for (const char *p = s->name; *p && k + 1 < sizeof dns; p++)
        dns[k++] = isalnum((unsigned char)*p) ? (char)tolower((unsigned char)*p) : '-';
    dns[k] = '\0';
    /* the defaults are files the bundle ships: its first test image, or its first test case as a v2 request */
    if (s->pre.present && first->image)
        snprintf(predict, sizeof predict, "# an image through the model's pre- and post-processing (default: the first test image)\n"
                 "curl -sSf -F file=@\"${1:-$HERE/../%s}\" \"$URL/v1/models/%s/predict\"; echo", first->image, s->name);
    else if (s->pre.present)
        snprintf(predict, sizeof predict, "curl -sSf -F file=@\"${1:?usage: sh curl.sh IMAGE}\" \"$URL/v1/models/%s/predict\"; echo",
                 s->name);
    else
        snprintf(predict, sizeof predict, "# a v2 inference request (default: request.json, the first test case): inputs as "
                 "{\"name\", \"shape\", \"datatype\", \"data\"}\n"
                 "curl -sSf -H 'Content-Type: application/json' -d \"@${1:-$HERE/request.json}\" \"$URL/v2/models/%s/infer\"; echo",
                 s->name);
    const subst subs[] = {{"NAME", s->name}, {"VERSION", s->version}, {"NAME_DNS", dns},
                          {"INPUT", mdk_model_input(m, 0)->name}, {"PREDICT", predict}};
    size_t n = sizeof subs / sizeof subs[0];
    int img = s->pre.present;
    mdk_status st = fill(f, "examples/c/single.c", img ? mdki_tpl_single_image_c : mdki_tpl_single_tensor_c, subs, n);
    if (st == MDK_OK) st = fill(f, "examples/c/batch.c", img ? mdki_tpl_batch_image_c : mdki_tpl_batch_tensor_c, subs, n);
    if (st == MDK_OK) st = fill(f, "examples/c/threads.c", mdki_tpl_threads_c, subs, n);
    if (st == MDK_OK) st = fill(f, "examples/c/Makefile", mdki_tpl_Makefile, subs, n);
    if (st == MDK_OK) st = fill(f, "examples/c/CMakeLists.txt", mdki_tpl_CMakeLists_txt, subs, n);
    if (st == MDK_OK) st = fill(f, "examples/python/predict.py", mdki_tpl_predict_py, subs, n);
    if (st == MDK_OK) st = fill(f, "examples/curl.sh", mdki_tpl_curl_sh, subs, n);
    if (st == MDK_OK) st = fill(f, "deploy/Dockerfile", mdki_tpl_Dockerfile, subs, n);
    if (st == MDK_OK) st = fill(f, "deploy/kserve.yaml", mdki_tpl_kserve_yaml, subs, n);
    if (st == MDK_OK) st = fill(f, "test_cases/test.py", mdki_tpl_test_py, subs, n);
    return st;
}
