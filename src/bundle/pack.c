/* pack.c: mdk pack: a spec and the files it names into a verified bundle directory and a reproducible
 * archive. Everything in the bundle is generated from the spec, the model and measurements. */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <ftw.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bundle/bundle_int.h"
#include "tensor/tensor_int.h"

void mdk_pack_options_init_sized(mdk_pack_options *opts, size_t size)
{
    mdk_pack_options d;
    memset(&d, 0, sizeof d);
    d.out_dir = ".";
    if (!opts || size < sizeof(size_t)) return;
    if (size > sizeof d) size = sizeof d; /* a newer caller: the fields this version knows */
    d.struct_size = size;
    memcpy(opts, &d, size);
}

static mdk_status add_disk(mdki_files *f, const char *bundle_path, const char *disk_path, const char *what)
{
    char *data;
    size_t len;
    mdk_status st = mdki_read_file(disk_path, MDKI_BUNDLE_MAX_FILE_BYTES, what, &data, &len);
    return st == MDK_OK ? mdki_files_add(f, bundle_path, data, len) : st;
}

static mdk_status add_tensors(mdki_files *f, const char *path, mdk_tensor *const *ts, size_t n, const char *tmpdir)
{
    /* npz is written through a file so that the archive code path is the one receivers read */
    char tmp[4200];
    mdk_status st = mdk_path_join(tmp, sizeof tmp, tmpdir, "cases.npz");
    if (st != MDK_OK) return st;
    st = mdk_npz_write(tmp, ts, n, 1);
    if (st == MDK_OK) st = add_disk(f, path, tmp, "test cases");
    unlink(tmp);
    return st;
}

static const char *base_name(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

/* The declared interface must be the model's: names, dtypes, ranks and fixed dims. */
static mdk_status check_interface(const mdk_spec *s, const mdk_model *m)
{
    for (int k = 0; k < 2; k++) {
        const mdki_io_decl *d = k ? s->outputs : s->inputs;
        size_t n = k ? s->n_outputs : s->n_inputs;
        const char *what = k ? "output" : "input";
        for (size_t i = 0; i < n; i++) {
            int idx = k ? mdk_model_output_index(m, d[i].name) : mdk_model_input_index(m, d[i].name);
            if (idx < 0) {
                char names[512] = "";
                size_t used = 0, count = k ? mdk_model_output_count(m) : mdk_model_input_count(m);
                for (size_t j = 0; j < count && used < sizeof names; j++)
                    used += (size_t)snprintf(names + used, sizeof names - used, "%s%s", j ? ", " : "",
                                             (k ? mdk_model_output(m, j) : mdk_model_input(m, j))->name);
                return mdki_fail(MDK_ERR_MISMATCH, "%s: declared %s '%s' is not an %s of the model; its %ss are: %s", s->path,
                                 what, d[i].name, what, what, names);
            }
            const mdk_value_info *v = k ? mdk_model_output(m, (size_t)idx) : mdk_model_input(m, (size_t)idx);
            if (d[i].dtype && d[i].dtype != v->dtype)
                return mdki_fail(MDK_ERR_MISMATCH, "%s: %s '%s' is declared %s but the model has %s", s->path, what,
                                 d[i].name, mdk_dtype_name(d[i].dtype), mdk_dtype_name(v->dtype));
            if (d[i].has_shape && v->has_shape) {
                if (d[i].ndim != v->ndim)
                    return mdki_fail(MDK_ERR_MISMATCH, "%s: %s '%s' is declared with rank %zu but the model has rank %zu",
                                     s->path, what, d[i].name, d[i].ndim, v->ndim);
                for (size_t j = 0; j < v->ndim; j++) {
                    /* the declaration is what the bundle documents: it must say what the model does */
                    if (d[i].dims[j] >= 0 && v->dims[j].value >= 0 && d[i].dims[j] != v->dims[j].value)
                        return mdki_fail(MDK_ERR_MISMATCH, "%s: %s '%s' dim %zu is declared %lld but the model has %lld",
                                         s->path, what, d[i].name, j, (long long)d[i].dims[j], (long long)v->dims[j].value);
                    if (d[i].dims[j] >= 0 && v->dims[j].value < 0)
                        return mdki_fail(MDK_ERR_MISMATCH, "%s: %s '%s' dim %zu is declared %lld but the model's is dynamic "
                                         "('%s'): declare it by name, or fix the size in the model", s->path, what, d[i].name,
                                         j, (long long)d[i].dims[j], v->dims[j].param ? v->dims[j].param : "?");
                    if (d[i].dims[j] < 0 && v->dims[j].value >= 0)
                        return mdki_fail(MDK_ERR_MISMATCH, "%s: %s '%s' dim %zu is declared as the named dim '%s' but the "
                                         "model fixes it at %lld", s->path, what, d[i].name, j,
                                         d[i].dim_names[j] ? d[i].dim_names[j] : "?", (long long)v->dims[j].value);
                }
            }
        }
    }
    return MDK_OK;
}

/* Test cases from images: each image through the pipeline (batch of one); its preprocessed input and the
 * model's outputs become case_NN/<name> entries, its postprocessed result goes into cases.json. */
static mdk_status image_cases(const mdk_spec *s, mdk_model *m, mdki_files *f, mdki_jw *cases, mdk_tensor ***ins,
                              size_t *n_in, mdk_tensor ***exps, size_t *n_exp, char **img_names)
{
    mdk_status st = MDK_OK;
    const char *input = s->pre.input ? s->pre.input : mdk_model_input(m, 0)->name;
    for (size_t i = 0; i < s->n_test_images && st == MDK_OK; i++) {
        char bundle_path[MDKI_BUNDLE_MAX_PATH + 1], case_name[32];
        snprintf(case_name, sizeof case_name, "case_%02zu", i + 1);
        /* NN-NAME, in case order; an image already so named (a bundle's own, packed again) keeps its name */
        char nn[32];
        snprintf(nn, sizeof nn, "%02zu-", i + 1);
        const char *base = base_name(s->test_images[i]);
        st = mdki_format(bundle_path, sizeof bundle_path, "test image path", "test_cases/images/%s%s",
                         strncmp(base, nn, strlen(nn)) == 0 ? "" : nn, base);
        if (st != MDK_OK) break;
        if (!(img_names[i] = mdki_strdup(bundle_path + strlen("test_cases/")))) return MDK_ERR_NO_MEMORY;
        if ((st = add_disk(f, bundle_path, s->test_images[i], "test image")) != MDK_OK) break;
        mdk_image *img = NULL;
        mdk_tensor *x = NULL, **outs = NULL;
        size_t n_outs = 0;
        char *json = NULL;
        mdk_prep_info *info = NULL;
        mdki_file *fe = mdki_files_find(f, bundle_path);
        st = mdk_image_decode(fe->data, fe->size, s->test_images[i], NULL, &img);
        if (st == MDK_OK) st = mdk_preprocess(s, &img, 1, &x, &info);
        if (st == MDK_OK) st = mdk_tensor_set_name(x, input);
        if (st == MDK_OK) st = mdk_model_run(m, &x, 1, &outs, &n_outs);
        if (st == MDK_OK) st = mdk_postprocess(s, outs, n_outs, info, (const char *const *)&img_names[i], &json);
        if (st == MDK_OK) {
            mdki_jw_object(cases);
            mdki_jw_key(cases, "name");
            mdki_jw_string(cases, case_name);
            mdki_jw_key(cases, "image");
            mdki_jw_string(cases, img_names[i]);
            mdki_jw_key(cases, "result");
            mdki_jw_raw(cases, json, strcspn(json, "\n"));
            mdki_jw_end_object(cases);
            st = cases->st;
        }
        /* keep the tensors, renamed CASE/NAME, for the npz files */
        char nm[1100];
        if (st == MDK_OK) st = mdk_path_join(nm, sizeof nm, case_name, input);
        if (st == MDK_OK) st = mdk_tensor_set_name(x, nm);
        if (st == MDK_OK) {
            st = mdki_tensors_push(ins, n_in, x, 100000);
            x = NULL;
        }
        for (size_t k = 0; k < n_outs && st == MDK_OK; k++) {
            if ((st = mdk_path_join(nm, sizeof nm, case_name, mdk_tensor_name(outs[k]))) != MDK_OK) break;
            if ((st = mdk_tensor_set_name(outs[k], nm)) != MDK_OK) break;
            st = mdki_tensors_push(exps, n_exp, outs[k], 100000);
            outs[k] = NULL;
        }
        mdk_tensors_free(outs, n_outs);
        mdk_tensor_free(x);
        mdk_image_free(img);
        mdk_prep_info_free(info);
        mdki_free(json);
        if (st != MDK_OK) mdki_fail_prefix(st, "test image '%s'", s->test_images[i]);
    }
    return st;
}

/* The case a test tensor belongs to: its CASE/ prefix, or "inputs.npz" for plain names (one case), as
 * mdk_bundle_run_cases reads them. */
static size_t case_of(const char *name, const char **prefix)
{
    const char *slash = strrchr(name, '/');
    *prefix = slash ? name : "inputs.npz";
    return slash ? (size_t)(slash - name) : strlen("inputs.npz");
}

/* Whether `name` belongs to one of this pack's `n_images` image cases, case_01 .. case_NN. */
static int image_case(const char *name, size_t n_images)
{
    const char *prefix;
    size_t len = case_of(name, &prefix);
    unsigned k = 0;
    int used = 0;
    return prefix == name && len == 7 && sscanf(name, "case_%2u%n", &k, &used) == 1 && used == 7 && k >= 1 &&
           k <= n_images;
}

/* Moves `src` (n tensors, the array freed) onto the end of `*arr`, leaving out the tensors of this pack's image
 * cases: a bundle's own inputs.npz holds them next to its tensor cases, and packing its canonical mdk.yaml
 * again makes them anew from the images. */
static mdk_status append_all(mdk_tensor ***arr, size_t *n, mdk_tensor **src, size_t count, size_t n_images)
{
    mdk_status st = MDK_OK;
    for (size_t i = 0; i < count; i++) {
        if (st == MDK_OK && !image_case(mdk_tensor_name(src[i]), n_images)) st = mdki_tensors_push(arr, n, src[i], 100000);
        else mdk_tensor_free(src[i]);
    }
    mdki_free(src);
    return st;
}

/* Test cases from tensors: inputs.npz keyed NAME or CASE/NAME; expected outputs given, or generated by running
 * the model on each case. Appended to the image cases' tensors; each case listed in cases.json with the names
 * of its inputs and outputs. */
static mdk_status tensor_cases(const mdk_spec *s, mdk_model *m, mdk_tensor ***ins, size_t *n_in, mdk_tensor ***exps,
                               size_t *n_exp, mdki_jw *cases, size_t *n_cases)
{
    size_t first_in = *n_in, first_exp = *n_exp, n_new = 0;
    mdk_tensor **read = NULL;
    mdk_status st = mdk_npz_read(s->test_inputs, &read, &n_new);
    if (st == MDK_OK) st = append_all(ins, n_in, read, n_new, s->n_test_images);
    if (st == MDK_OK && s->test_expected && (st = mdk_npz_read(s->test_expected, &read, &n_new)) == MDK_OK)
        st = append_all(exps, n_exp, read, n_new, s->n_test_images);
    for (size_t i = first_in; i < *n_in && st == MDK_OK;) { /* one case: the run of entries sharing a prefix */
        const char *nm = mdk_tensor_name((*ins)[i]), *prefix;
        size_t plen = case_of(nm, &prefix), j = i;
        mdk_tensor *feed[256];
        size_t nf = 0;
        for (; j < *n_in && nf < 256; j++) {
            const char *o = mdk_tensor_name((*ins)[j]), *op;
            size_t olen = case_of(o, &op);
            if (olen != plen || strncmp(op, prefix, plen) != 0) break;
            if ((st = mdk_tensor_clone((*ins)[j], &feed[nf])) != MDK_OK) break;
            if ((st = mdk_tensor_set_name(feed[nf], op == o ? o + plen + 1 : o)) != MDK_OK) break;
            nf++;
        }
        mdk_tensor **outs = NULL;
        size_t n_outs = 0;
        if (st == MDK_OK && !s->test_expected) st = mdk_model_run(m, feed, nf, &outs, &n_outs);
        mdki_jw_object(cases);
        mdki_jw_key(cases, "name");
        mdki_jw_stringn(cases, prefix, plen);
        mdki_jw_key(cases, "inputs");
        mdki_jw_array(cases);
        for (size_t k = 0; k < nf; k++) mdki_jw_string(cases, mdk_tensor_name(feed[k]));
        mdki_jw_end_array(cases);
        for (size_t k = 0; k < nf; k++) mdk_tensor_free(feed[k]);
        mdki_jw_key(cases, "outputs");
        mdki_jw_array(cases);
        for (size_t k = 0; k < n_outs; k++) mdki_jw_string(cases, mdk_tensor_name(outs[k]));
        for (size_t k = first_exp; s->test_expected && k < *n_exp; k++) { /* the given expectations of this case */
            const char *e = mdk_tensor_name((*exps)[k]), *ep;
            size_t elen = case_of(e, &ep);
            if (elen == plen && strncmp(ep, prefix, plen) == 0) mdki_jw_string(cases, ep == e ? e + plen + 1 : e);
        }
        mdki_jw_end_array(cases);
        mdki_jw_end_object(cases);
        (*n_cases)++;
        for (size_t k = 0; k < n_outs && st == MDK_OK; k++) {
            char full[1100];
            if ((st = mdki_format(full, sizeof full, "test case tensor name", "%.*s%s%s", (int)(prefix == nm ? plen : 0), nm,
                                  prefix == nm ? "/" : "", mdk_tensor_name(outs[k]))) != MDK_OK)
                break;
            if ((st = mdk_tensor_set_name(outs[k], full)) != MDK_OK) break;
            st = mdki_tensors_push(exps, n_exp, outs[k], 100000);
            outs[k] = NULL;
        }
        mdk_tensors_free(outs, n_outs);
        if (st == MDK_OK) st = cases->st;
        if (st != MDK_OK) mdki_fail_prefix(st, "test case from '%s'", s->test_inputs);
        i = j;
    }
    return st;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

static void rm_tree(const char *dir)
{
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Creates the parent directories of `path` (which is `root`/rel) below `root`. */
static int make_parents(const char *root, char *path)
{
    for (char *p = path + strlen(root) + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        int failed = mkdir(path, 0777) != 0 && errno != EEXIST; /* the umask decides */
        *p = '/';
        if (failed) return -1;
    }
    return 0;
}

static mdk_status write_dir(const mdki_files *f, const char *dir)
{
    for (size_t i = 0; i < f->n; i++) {
        char path[4200];
        mdk_status st = mdk_path_join(path, sizeof path, dir, f->items[i].path);
        if (st != MDK_OK) return st;
        if (make_parents(dir, path) != 0) return mdki_fail(MDK_ERR_IO, "cannot create directories for '%s'", path);
        st = mdki_write_file(path, f->items[i].data ? f->items[i].data : "", f->items[i].size);
        if (st != MDK_OK) return st;
    }
    return MDK_OK;
}

static la_ssize_t to_buf(struct archive *a, void *ctx, const void *p, size_t n)
{
    (void)a;
    return mdki_buf_add(ctx, p, n) == MDK_OK ? (la_ssize_t)n : -1;
}

/* tar (ustar) + zstd with sorted entries, fixed times and owners: the same inputs give the same bytes. */
static mdk_status write_archive(const mdki_files *f, const char *prefix, const char *path)
{
    mdki_buf out;
    mdki_buf_init(&out, MDKI_BUNDLE_MAX_BYTES);
    struct archive *a = archive_write_new();
    struct archive_entry *e = archive_entry_new();
    mdk_status st = a && e ? MDK_OK : MDK_ERR_NO_MEMORY;
    if (st == MDK_OK &&
        (archive_write_set_format_ustar(a) != ARCHIVE_OK || archive_write_add_filter_zstd(a) != ARCHIVE_OK ||
         archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK || archive_write_open(a, &out, NULL, to_buf, NULL) != ARCHIVE_OK))
        st = mdki_fail(MDK_ERR_IO, "archive '%s': %s", path, archive_error_string(a));
    for (size_t i = 0; i < f->n && st == MDK_OK; i++) {
        char name[4200];
        if ((st = mdk_path_join(name, sizeof name, prefix, f->items[i].path)) != MDK_OK) break;
        archive_entry_clear(e);
        archive_entry_set_pathname(e, name);
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_perm(e, 0644);
        archive_entry_set_size(e, (la_int64_t)f->items[i].size);
        archive_entry_set_mtime(e, 0, 0);
        archive_entry_set_uid(e, 0);
        archive_entry_set_gid(e, 0);
        if (archive_write_header(a, e) != ARCHIVE_OK ||
            (f->items[i].size && archive_write_data(a, f->items[i].data, f->items[i].size) != (la_ssize_t)f->items[i].size))
            st = mdki_fail(MDK_ERR_IO, "archive '%s': %s", path, archive_error_string(a));
    }
    if (st == MDK_OK && archive_write_close(a) != ARCHIVE_OK)
        st = mdki_fail(MDK_ERR_IO, "archive '%s': %s", path, archive_error_string(a));
    if (st == MDK_OK) st = mdki_write_file(path, out.data, out.len);
    archive_entry_free(e);
    if (a) archive_write_free(a);
    mdki_buf_free(&out);
    return st;
}

static void sample_free(mdki_sample *x)
{
    for (size_t i = 0; i < x->n; i++) {
        mdk_tensor_free(x->inputs[i]);
        mdki_free(x->files[i]);
    }
    mdki_free(x->inputs);
    mdki_free(x->files);
    memset(x, 0, sizeof *x);
}

/* The first test case (the entries of `ins` sharing the first one's case) as example files: one .npy per
 * input under examples/inputs/, and examples/request.json, the same tensors as an Open Inference Protocol
 * request body. */
static mdk_status make_sample(mdk_tensor *const *ins, size_t n_in, const char *image, mdki_files *f, mdki_sample *x)
{
    memset(x, 0, sizeof *x);
    x->image = image;
    if (!n_in) return MDK_OK;
    const char *first = mdk_tensor_name(ins[0]), *prefix, *p;
    size_t plen = case_of(first, &prefix), count = 0;
    for (size_t i = 0; i < n_in; i++) count += case_of(mdk_tensor_name(ins[i]), &p) == plen && !strncmp(p, prefix, plen);
    x->inputs = mdki_calloc(count, sizeof *x->inputs);
    x->files = mdki_calloc(count, sizeof *x->files);
    mdk_status st = x->inputs && x->files ? MDK_OK : MDK_ERR_NO_MEMORY;
    mdki_buf b;
    mdki_buf_init(&b, MDKI_BUNDLE_MAX_FILE_BYTES);
    mdki_jw w;
    mdki_jw_init(&w, &b, 0);
    mdki_jw_object(&w);
    mdki_jw_key(&w, "inputs");
    mdki_jw_array(&w);
    for (size_t i = 0; i < n_in && st == MDK_OK; i++) {
        const char *nm = mdk_tensor_name(ins[i]);
        if (case_of(nm, &p) != plen || strncmp(p, prefix, plen) != 0) continue;
        const char *input = p == nm ? nm + plen + 1 : nm;
        char file[201], path[256];
        size_t k = 0;
        for (const char *c = input; *c && k < 200; c++) /* a file name from any input name */
            file[k++] = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '-' ||
                                *c == '_' || *c == '.' ? *c : '_';
        file[k] = '\0';
        mdk_tensor *t = NULL;
        st = mdk_tensor_clone(ins[i], &t);
        if (st == MDK_OK) st = mdk_tensor_set_name(t, input);
        if (st == MDK_OK) x->inputs[x->n] = t, t = NULL;
        else mdk_tensor_free(t);
        snprintf(path, sizeof path, "examples/inputs/%zu-%s.npy", x->n + 1, file); /* at most 16 + 20 + 1 + 200 + 4 */
        if (st == MDK_OK && !(x->files[x->n] = mdki_strdup(path))) st = MDK_ERR_NO_MEMORY;
        if (st == MDK_OK) x->n++;
        mdki_buf npy;
        mdki_buf_init(&npy, MDKI_BUNDLE_MAX_FILE_BYTES);
        if (st == MDK_OK) st = mdki_npy_encode(x->inputs[x->n - 1], &npy);
        if (st == MDK_OK) st = mdki_files_add_buf(f, x->files[x->n - 1], &npy);
        mdki_buf_free(&npy);
        if (st != MDK_OK) break;
        mdki_jw_tensor(&w, x->inputs[x->n - 1]);
    }
    if (st == MDK_OK) {
        mdki_jw_end_array(&w);
        mdki_jw_end_object(&w);
        st = mdki_jw_finish(&w);
    }
    if (st == MDK_OK) st = mdki_buf_addc(&b, '\n');
    if (st == MDK_OK) st = mdki_files_add_buf(f, "examples/request.json", &b);
    mdki_buf_free(&b);
    if (st != MDK_OK) sample_free(x);
    return st;
}

mdk_status mdk_pack(const char *spec_path, const mdk_pack_options *opts, char **bundle_dir, char **archive_path)
{
    mdk_pack_options def;
    if (!opts) {
        mdk_pack_options_init(&def);
        opts = &def;
    }
    if (!spec_path) return mdki_fail(MDK_ERR_INVALID_ARGUMENT, "mdk_pack: NULL spec path");
    mdk_spec *s = NULL;
    mdk_model *m = NULL;
    mdki_files f = {0};
    mdki_buf b, cases;
    mdki_buf_init(&b, 256u << 20);
    mdki_buf_init(&cases, 256u << 20);
    mdk_tensor **ins = NULL, **exps = NULL;
    size_t n_in = 0, n_exp = 0;
    char **img_names = NULL, dir[4200] = "", tmp_dir[4300] = "", mdk_path[4300] = "", prefix[600] = "";
    mdk_status st = mdk_spec_read(spec_path, &s);
    if (st == MDK_OK && !s->version)
        st = mdki_fail(MDK_ERR_FORMAT, "%s: a bundle needs a version (semver, such as 1.0.0)", s->path);
    if (st == MDK_OK && !s->model) st = mdki_fail(MDK_ERR_FORMAT, "%s: a bundle needs a model", s->path);
    if (st == MDK_OK && !s->n_test_images && !s->test_inputs)
        st = mdki_fail(MDK_ERR_FORMAT, "%s: a bundle needs test cases: add test_cases.images (through the pipeline) or "
                       "test_cases.inputs (tensors)", s->path);
    if (st == MDK_OK && s->n_test_images && !s->pre.present)
        st = mdki_fail(MDK_ERR_FORMAT, "%s: test_cases.images need a preprocess section", s->path);
    if (st == MDK_OK) st = mdk_model_open(s->model, NULL, &m);
    if (st == MDK_OK) st = check_interface(s, m);
    if (st == MDK_OK) {
        st = mdki_format(prefix, sizeof prefix, "bundle name", "%s-%s", s->name, s->version);
        if (st == MDK_OK) st = mdk_path_join(dir, sizeof dir, opts->out_dir ? opts->out_dir : ".", prefix);
        if (st == MDK_OK) st = mdki_format(mdk_path, sizeof mdk_path, "archive path", "%s.mdk", dir);
        struct stat sb;
        if (st == MDK_OK && !opts->force && (stat(dir, &sb) == 0 || (opts->archive && stat(mdk_path, &sb) == 0)))
            st = mdki_fail(MDK_ERR_IO, "'%s' already exists: remove it or pack with --force", stat(dir, &sb) == 0 ? dir : mdk_path);
        if (st == MDK_OK && (st = mdki_make_temp_dir(dir, tmp_dir, sizeof tmp_dir)) != MDK_OK) tmp_dir[0] = '\0';
    }
    /* the model and its variants, labels */
    if (st == MDK_OK) st = add_disk(&f, "model/model.onnx", s->model, "model");
    if (st == MDK_OK && s->variant_int8) st = add_disk(&f, "model/model.int8.onnx", s->variant_int8, "int8 variant");
    if (st == MDK_OK && s->variant_fp16) st = add_disk(&f, "model/model.fp16.onnx", s->variant_fp16, "fp16 variant");
    if (st == MDK_OK && s->n_labels) {
        for (size_t i = 0; i < s->n_labels && st == MDK_OK; i++) st = mdki_buf_addf(&b, "%s\n", s->labels[i]);
        if (st == MDK_OK) st = mdki_files_add_buf(&f, "labels.txt", &b);
    }
    /* test cases */
    if (st == MDK_OK && s->n_test_images && !(img_names = mdki_calloc(s->n_test_images, sizeof *img_names)))
        st = MDK_ERR_NO_MEMORY;
    mdki_jw cw; /* cases.json */
    mdki_jw_init(&cw, &cases, 1);
    if (st == MDK_OK) {
        mdki_jw_object(&cw);
        mdki_jw_key(&cw, "format_version");
        mdki_jw_int(&cw, 1);
        mdki_jw_key(&cw, "rtol");
        mdki_jw_number(&cw, s->rtol, 9);
        mdki_jw_key(&cw, "atol");
        mdki_jw_number(&cw, s->atol, 9);
        mdki_jw_key(&cw, "cases");
        mdki_jw_array(&cw);
    }
    if (st == MDK_OK && s->n_test_images) st = image_cases(s, m, &f, &cw, &ins, &n_in, &exps, &n_exp, img_names);
    size_t n_tensor_cases = 0;
    if (st == MDK_OK && s->test_inputs) st = tensor_cases(s, m, &ins, &n_in, &exps, &n_exp, &cw, &n_tensor_cases);
    if (st == MDK_OK) {
        mdki_jw_end_array(&cw);
        mdki_jw_end_object(&cw);
        st = mdki_jw_finish(&cw);
    }
    if (st == MDK_OK) st = add_tensors(&f, "test_cases/inputs.npz", ins, n_in, tmp_dir);
    if (st == MDK_OK) st = add_tensors(&f, "test_cases/expected_outputs.npz", exps, n_exp, tmp_dir);
    char summary[256] = "";
    if (st == MDK_OK)
        snprintf(summary, sizeof summary, "%zu case%s (%zu from images), rtol %g, atol %g", s->n_test_images + n_tensor_cases,
                 s->n_test_images + n_tensor_cases == 1 ? "" : "s", s->n_test_images, s->rtol, s->atol);
    if (st == MDK_OK) st = mdki_files_add_buf(&f, "test_cases/cases.json", &cases);
    /* the spec as the bundle sees it */
    if (st == MDK_OK)
        st = mdki_spec_emit(s, "model/model.onnx", s->n_labels ? "labels.txt" : NULL,
                            s->variant_int8 ? "model/model.int8.onnx" : NULL, s->variant_fp16 ? "model/model.fp16.onnx" : NULL,
                            (const char *const *)img_names, &b);
    if (st == MDK_OK) st = mdki_files_add_buf(&f, "mdk.yaml", &b);
    mdki_sample first = {0};
    char first_image[MDKI_BUNDLE_MAX_PATH + 1] = "";
    if (st == MDK_OK && s->n_test_images) snprintf(first_image, sizeof first_image, "test_cases/%s", img_names[0]);
    if (st == MDK_OK) st = make_sample(ins, n_in, first_image[0] ? first_image : NULL, &f, &first);
    if (st == MDK_OK) st = mdki_gen_docs(s, m, s->model, opts->bench_json, summary, &first, &f);
    if (st == MDK_OK) st = mdki_gen_examples(s, m, &first, &f);
    sample_free(&first);
    /* manifest over everything else */
    mdki_files_sort(&f);
    if (st == MDK_OK) st = mdki_manifest_write(&f, s->name, s->version, &b);
    if (st == MDK_OK) st = mdki_files_add_buf(&f, "manifest.json", &b);
    mdki_files_sort(&f);
    if (st == MDK_OK) st = write_dir(&f, tmp_dir);
    if (st == MDK_OK && opts->archive) st = write_archive(&f, prefix, mdk_path);
    if (st == MDK_OK) {
        struct stat sb;
        if (stat(dir, &sb) == 0) rm_tree(dir); /* --force */
        if (rename(tmp_dir, dir) != 0) st = mdki_fail(MDK_ERR_IO, "cannot move the bundle to '%s': %s", dir, strerror(errno));
        else tmp_dir[0] = '\0';
    }
    /* a bundle that fails its own test cases is not delivered */
    if (st == MDK_OK) {
        mdk_bundle *bd = NULL;
        size_t passed = 0, failed = 0;
        st = mdk_bundle_open(dir, &bd);
        if (st == MDK_OK) st = mdk_bundle_run_cases(bd, NULL, NULL, NULL, &passed, &failed);
        if (st == MDK_OK && failed)
            st = mdki_fail(MDK_ERR_RUNTIME, "the packed bundle fails %zu of its %zu test cases", failed, passed + failed);
        mdk_bundle_close(bd);
        if (st != MDK_OK) {
            rm_tree(dir);
            if (opts->archive) unlink(mdk_path);
        }
    }
    if (st == MDK_OK && bundle_dir && !(*bundle_dir = mdki_strdup(dir))) st = MDK_ERR_NO_MEMORY;
    if (st == MDK_OK && archive_path) {
        *archive_path = NULL;
        if (opts->archive && !(*archive_path = mdki_strdup(mdk_path))) st = MDK_ERR_NO_MEMORY;
    }
    if (tmp_dir[0]) rm_tree(tmp_dir);
    for (size_t i = 0; img_names && s && i < s->n_test_images; i++) mdki_free(img_names[i]);
    mdki_free(img_names);
    mdk_tensors_free(ins, n_in);
    mdk_tensors_free(exps, n_exp);
    mdki_files_free(&f);
    mdki_buf_free(&b);
    mdki_buf_free(&cases);
    mdk_model_close(m);
    mdk_spec_free(s);
    return st;
}
