/* bundle.c: opening a bundle (directory or .mdk archive) with its integrity checked first, and running its
 * test cases through the full pipeline. Archives are untrusted input and are read in memory, never unpacked. */
#include <archive.h>
#include <archive_entry.h>
#include <cjson/cJSON.h>
#include <ftw.h>
#include <math.h>
#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bundle/bundle_int.h"
#include "tensor/tensor_int.h"

struct mdk_bundle {
    char *path;      /* as given */
    char *dir;       /* directory bundles: where the files are; NULL for archives */
    mdki_files files;
    char digest[80];
    mdk_spec *spec;
};

int mdk_path_is_bundle(const char *path)
{
    struct stat sb;
    if (!path || stat(path, &sb) != 0) return 0;
    if (S_ISDIR(sb.st_mode)) {
        char m[4200];
        snprintf(m, sizeof m, "%s/manifest.json", path);
        return stat(m, &sb) == 0;
    }
    size_t n = strlen(path);
    return n > 4 && strcmp(path + n - 4, ".mdk") == 0;
}

/* A copy of the bundle file `rel` (in memory for archives, from disk for directories). */
mdk_status mdki_bundle_load(const mdk_bundle *b, const char *rel, uint64_t cap, char **data, size_t *len)
{
    mdki_file *f = mdki_files_find(&b->files, rel);
    if (!f) return mdki_fail(MDK_ERR_NOT_FOUND, "%s: no file '%s' in the bundle", b->path, rel);
    if (f->size > cap) return mdki_fail(MDK_ERR_TOO_LARGE, "%s: '%s' is larger than %llu bytes", b->path, rel,
                                        (unsigned long long)cap);
    if (!b->dir) {
        *data = mdki_malloc(f->size + 1);
        if (!*data) return MDK_ERR_NO_MEMORY;
        if (f->size) memcpy(*data, f->data, f->size);
        (*data)[f->size] = '\0';
        *len = f->size;
        return MDK_OK;
    }
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", b->dir, rel);
    return mdki_read_file(path, cap, "bundle file", data, len);
}

/* The spec's file reader: paths arrive joined to the spec's directory ("<bundle>/labels.txt"). */
static mdk_status spec_reader(void *ctx, const char *path, uint64_t cap, char **data, size_t *len)
{
    const mdk_bundle *b = ctx;
    const char *base = b->dir ? b->dir : b->path;
    size_t n = strlen(base);
    const char *rel = strncmp(path, base, n) == 0 && path[n] == '/' ? path + n + 1 : path;
    return mdki_bundle_load(b, rel, cap, data, len);
}

void mdk_bundle_close(mdk_bundle *b)
{
    if (!b) return;
    mdki_files_free(&b->files);
    mdk_spec_free(b->spec);
    mdki_free(b->path);
    mdki_free(b->dir);
    mdki_free(b);
}

/* ---- reading the files ---- */

static mdki_files *g_walk_files; /* nftw has no context argument; opening is not reentrant across threads */
static size_t g_walk_root;
static mdk_status g_walk_status;

static int walk_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)ftw;
    const char *rel = path + g_walk_root;
    if (*rel == '/') rel++;
    if (flag == FTW_D || flag == FTW_DP) return 0;
    if (flag == FTW_SL || flag == FTW_SLN) {
        g_walk_status = mdki_fail(MDK_ERR_FORMAT, "'%s' is a symbolic link: bundles hold regular files only", rel);
        return 1;
    }
    if (flag != FTW_F || !S_ISREG(sb->st_mode)) {
        g_walk_status = mdki_fail(MDK_ERR_FORMAT, "'%s' is not a regular file", rel);
        return 1;
    }
    if (strcmp(rel, "manifest.json") == 0) return 0;
    /* hash while reading, without keeping the data */
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        g_walk_status = mdki_fail(MDK_ERR_IO, "cannot read '%s'", rel);
        return 1;
    }
    crypto_hash_sha256_state hs;
    crypto_hash_sha256_init(&hs);
    unsigned char chunk[1 << 16];
    size_t n, total = 0;
    while ((n = fread(chunk, 1, sizeof chunk, fp)) > 0) {
        crypto_hash_sha256_update(&hs, chunk, n);
        total += n;
    }
    int err = ferror(fp);
    fclose(fp);
    if (err) {
        g_walk_status = mdki_fail(MDK_ERR_IO, "cannot read '%s'", rel);
        return 1;
    }
    if ((g_walk_status = mdki_files_add(g_walk_files, rel, NULL, total)) != MDK_OK) return 1;
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_final(&hs, h);
    sodium_bin2hex(g_walk_files->items[g_walk_files->n - 1].sha256, 65, h, sizeof h);
    return 0;
}

static mdk_status read_dir(mdk_bundle *b, char **manifest, size_t *mlen)
{
    static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    if (!(b->dir = mdki_strdup(b->path))) return MDK_ERR_NO_MEMORY;
    size_t n = strlen(b->dir);
    while (n > 1 && b->dir[n - 1] == '/') b->dir[--n] = '\0';
    char mpath[4200];
    snprintf(mpath, sizeof mpath, "%s/manifest.json", b->dir);
    mdk_status st = mdki_read_file(mpath, 16u << 20, "manifest", manifest, mlen);
    if (st != MDK_OK) return st;
    pthread_mutex_lock(&lock);
    g_walk_files = &b->files;
    g_walk_root = strlen(b->dir);
    g_walk_status = MDK_OK;
    nftw(b->dir, walk_entry, 16, FTW_PHYS);
    st = g_walk_status;
    pthread_mutex_unlock(&lock);
    return st;
}

static int safe_rel(const char *p)
{
    if (!*p || p[0] == '/') return 0;
    for (const char *s = p; *s;) {
        const char *e = strchr(s, '/');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        if (n == 0 || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.')) return 0;
        s += n + (e ? 1 : 0);
        if (e && !*s) return 0;
    }
    return 1;
}

static mdk_status parse_archive(mdk_bundle *b, const char *raw, size_t len, char **manifest, size_t *mlen)
{
    mdk_status st = MDK_OK;
    struct archive *a = archive_read_new();
    if (!a) return mdki_fail(MDK_ERR_NO_MEMORY, "out of memory");
    archive_read_support_filter_zstd(a);
    archive_read_support_format_tar(a);
    char prefix[1100] = "";
    uint64_t total = 0;
    if (archive_read_open_memory(a, raw, len) != ARCHIVE_OK)
        st = mdki_fail(MDK_ERR_FORMAT, "%s: not an mdk bundle archive (tar + zstd): %s", b->path,
                       archive_error_string(a) ? archive_error_string(a) : "unreadable");
    while (st == MDK_OK) {
        struct archive_entry *e;
        int r = archive_read_next_header(a, &e);
        if (r == ARCHIVE_EOF) break;
        if (r != ARCHIVE_OK) {
            st = mdki_fail(MDK_ERR_FORMAT, "%s: corrupt archive: %s", b->path,
                           archive_error_string(a) ? archive_error_string(a) : "unreadable entry");
            break;
        }
        const char *name = archive_entry_pathname(e);
        mode_t type = archive_entry_filetype(e);
        if (!name || !safe_rel(name) ) {
            st = mdki_fail(MDK_ERR_FORMAT, "%s: entry '%s' has an absolute path or '..': refused", b->path, name ? name : "");
            break;
        }
        if (type == AE_IFDIR) continue;
        if (type != AE_IFREG || archive_entry_hardlink(e)) {
            st = mdki_fail(MDK_ERR_FORMAT, "%s: entry '%s' is a %s: bundles hold regular files only", b->path, name,
                           type == AE_IFLNK ? "symbolic link" : archive_entry_hardlink(e) ? "hard link" : "device or special file");
            break;
        }
        const char *slash = strchr(name, '/');
        size_t plen = slash ? (size_t)(slash - name) : 0;
        if (!slash || (prefix[0] && (strlen(prefix) != plen || strncmp(prefix, name, plen) != 0))) {
            st = mdki_fail(MDK_ERR_FORMAT, "%s: entry '%s' is outside the bundle's single top directory", b->path, name);
            break;
        }
        if (!prefix[0]) snprintf(prefix, sizeof prefix, "%.*s", (int)plen, name);
        la_int64_t size = archive_entry_size(e);
        if (size < 0 || (uint64_t)size > MDKI_BUNDLE_MAX_FILE_BYTES || (total += (uint64_t)size) > MDKI_BUNDLE_MAX_BYTES) {
            st = mdki_fail(MDK_ERR_TOO_LARGE, "%s: entry '%s' is too large", b->path, name);
            break;
        }
        char *data = mdki_malloc((size_t)size + 1);
        if (!data) {
            st = MDK_ERR_NO_MEMORY;
            break;
        }
        la_ssize_t got = size ? archive_read_data(a, data, (size_t)size) : 0;
        if (got != size) {
            mdki_free(data);
            st = mdki_fail(MDK_ERR_FORMAT, "%s: entry '%s' is truncated", b->path, name);
            break;
        }
        data[size] = '\0';
        if (strcmp(slash + 1, "manifest.json") == 0) {
            if (*manifest) {
                mdki_free(data);
                st = mdki_fail(MDK_ERR_FORMAT, "%s: manifest.json appears twice", b->path);
                break;
            }
            *manifest = data;
            *mlen = (size_t)size;
            continue;
        }
        st = mdki_files_add(&b->files, slash + 1, data, (size_t)size);
        if (st != MDK_OK) mdki_fail_prefix(st, "%s", b->path);
    }
    archive_read_free(a);
    if (st == MDK_OK && !*manifest) st = mdki_fail(MDK_ERR_FORMAT, "%s: the archive holds no manifest.json", b->path);
    return st;
}

static mdk_status read_archive(mdk_bundle *b, char **manifest, size_t *mlen)
{
    char *raw;
    size_t len;
    mdk_status st = mdki_read_file(b->path, MDKI_BUNDLE_MAX_BYTES, "bundle archive", &raw, &len);
    if (st != MDK_OK) return st;
    st = parse_archive(b, raw, len, manifest, mlen);
    mdki_free(raw);
    return st;
}

/* ---- the manifest against what is there ---- */

static mdk_status check_manifest(mdk_bundle *b, const char *mdata, size_t mlen)
{
    cJSON *m = cJSON_ParseWithLength(mdata, mlen);
    mdk_status st = MDK_OK;
    const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(m, "format");
    const cJSON *ver = cJSON_GetObjectItemCaseSensitive(m, "format_version");
    const cJSON *files = cJSON_GetObjectItemCaseSensitive(m, "files");
    const cJSON *digest = cJSON_GetObjectItemCaseSensitive(m, "digest");
    if (!m || !cJSON_IsString(fmt) || strcmp(fmt->valuestring, "mdk-bundle") != 0 || !cJSON_IsArray(files) ||
        !cJSON_IsString(digest))
        st = mdki_fail(MDK_ERR_FORMAT, "%s: manifest.json is not an mdk bundle manifest", b->path);
    else if (!cJSON_IsNumber(ver) || ver->valuedouble != MDKI_BUNDLE_FORMAT_VERSION)
        st = mdki_fail(MDK_ERR_UNSUPPORTED, "%s: bundle format version %g, this mdk reads version %d", b->path,
                       cJSON_IsNumber(ver) ? ver->valuedouble : 0, MDKI_BUNDLE_FORMAT_VERSION);
    size_t listed = 0;
    for (const cJSON *e = files ? files->child : NULL; st == MDK_OK && e; e = e->next, listed++) {
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(e, "path"), *sz = cJSON_GetObjectItemCaseSensitive(e, "size"),
                    *h = cJSON_GetObjectItemCaseSensitive(e, "sha256");
        if (!cJSON_IsString(p) || !cJSON_IsNumber(sz) || !cJSON_IsString(h)) {
            st = mdki_fail(MDK_ERR_FORMAT, "%s: manifest.json has a malformed file entry", b->path);
            break;
        }
        mdki_file *f = mdki_files_find(&b->files, p->valuestring);
        if (!f) st = mdki_fail(MDK_ERR_FORMAT, "%s: file '%s' is missing (manifest.json lists it)", b->path, p->valuestring);
        else if ((double)f->size != sz->valuedouble || strcmp(f->sha256, h->valuestring) != 0)
            st = mdki_fail(MDK_ERR_FORMAT, "%s: file '%s' was changed (its size or sha256 differs from manifest.json)",
                           b->path, p->valuestring);
    }
    if (st == MDK_OK && listed != b->files.n)
        for (size_t i = 0; i < b->files.n && st == MDK_OK; i++) {
            int found = 0;
            for (const cJSON *e = files->child; e && !found; e = e->next)
                found = strcmp(cJSON_GetObjectItemCaseSensitive(e, "path")->valuestring, b->files.items[i].path) == 0;
            if (!found)
                st = mdki_fail(MDK_ERR_FORMAT, "%s: extra file '%s' is not listed in manifest.json", b->path,
                               b->files.items[i].path);
        }
    if (st == MDK_OK) {
        char d[65];
        mdki_files_sort(&b->files);
        mdki_files_digest(&b->files, d);
        snprintf(b->digest, sizeof b->digest, "sha256:%s", d);
        if (strcmp(b->digest, digest->valuestring) != 0)
            st = mdki_fail(MDK_ERR_FORMAT, "%s: manifest.json's digest does not match its file list", b->path);
    }
    cJSON_Delete(m);
    return st;
}

static mdk_status finish_open(mdk_bundle *b, char *manifest, size_t mlen, mdk_status st, mdk_bundle **out);

/* Parses the bundle's mdk.yaml (its labels read from the bundle too). */
static mdk_status read_spec(const mdk_bundle *b, mdk_spec **out)
{
    char *data = NULL, spath[4200];
    size_t len;
    mdk_status st = mdki_bundle_load(b, "mdk.yaml", 1u << 20, &data, &len);
    snprintf(spath, sizeof spath, "%s/mdk.yaml", b->dir ? b->dir : b->path);
    if (st == MDK_OK) st = mdki_spec_parse(data, len, spath, spec_reader, (void *)b, out);
    mdki_free(data);
    return st;
}

mdk_status mdki_bundle_open_memory(const void *data, size_t len, const char *name, mdk_bundle **out)
{
    mdk_bundle *b = mdki_calloc(1, sizeof *b);
    if (!b || !(b->path = mdki_strdup(name))) {
        mdki_free(b);
        return MDK_ERR_NO_MEMORY;
    }
    char *manifest = NULL;
    size_t mlen = 0;
    mdk_status st = parse_archive(b, data, len, &manifest, &mlen);
    return finish_open(b, manifest, mlen, st, out);
}

mdk_status mdk_bundle_open(const char *path, mdk_bundle **out)
{
    if (!path || !out) return mdki_fail(MDK_ERR_INVALID_ARGUMENT, "mdk_bundle_open: NULL argument");
    struct stat sb;
    if (stat(path, &sb) != 0) return mdki_fail(MDK_ERR_NOT_FOUND, "bundle '%s' does not exist", path);
    mdk_bundle *b = mdki_calloc(1, sizeof *b);
    if (!b || !(b->path = mdki_strdup(path))) {
        mdki_free(b);
        return MDK_ERR_NO_MEMORY;
    }
    char *manifest = NULL;
    size_t mlen = 0;
    mdk_status st = S_ISDIR(sb.st_mode) ? read_dir(b, &manifest, &mlen) : read_archive(b, &manifest, &mlen);
    return finish_open(b, manifest, mlen, st, out);
}

/* Checks the manifest against the files and reads the spec; takes `manifest` and `b`. */
static mdk_status finish_open(mdk_bundle *b, char *manifest, size_t mlen, mdk_status st, mdk_bundle **out)
{
    if (st == MDK_OK) st = check_manifest(b, manifest, mlen);
    if (st == MDK_OK) st = read_spec(b, &b->spec);
    mdki_free(manifest);
    if (st != MDK_OK) {
        mdk_bundle_close(b);
        return st;
    }
    *out = b;
    return MDK_OK;
}

const mdk_spec *mdk_bundle_spec(const mdk_bundle *b) { return b->spec; }
const char *mdk_bundle_digest(const mdk_bundle *b) { return b->digest; }
size_t mdk_bundle_file_count(const mdk_bundle *b) { return b->files.n + 1; /* with manifest.json */ }

const char *mdk_bundle_file_name(const mdk_bundle *b, size_t i)
{
    if (!b || i > b->files.n) return NULL;
    return i == b->files.n ? "manifest.json" : b->files.items[i].path;
}

mdk_status mdk_bundle_read_file(const mdk_bundle *b, const char *rel, uint64_t cap, char **data, size_t *len)
{
    if (!b || !rel || !data || !len) return mdki_fail(MDK_ERR_INVALID_ARGUMENT, "mdk_bundle_read_file: NULL argument");
    mdk_status st = mdki_bundle_load(b, rel, cap, data, len);
    if (st != MDK_OK || !b->dir) return st;
    /* a directory can change after it was opened: the file must still be the one the manifest lists */
    char hex[65];
    mdki_sha256_hex(*data, *len, hex);
    if (strcmp(hex, mdki_files_find(&b->files, rel)->sha256) != 0) {
        mdki_free(*data);
        *data = NULL;
        return mdki_fail(MDK_ERR_FORMAT, "%s: '%s' changed since the bundle was opened (sha256 differs from manifest.json)",
                         b->path, rel);
    }
    return MDK_OK;
}

mdk_status mdk_bundle_pipeline(const mdk_bundle *b, const mdk_options *opts, mdk_pipeline **out)
{
    if (!b || !out) return mdki_fail(MDK_ERR_INVALID_ARGUMENT, "mdk_bundle_pipeline: NULL argument");
    mdk_spec *spec = NULL;
    mdk_model *model = NULL;
    mdk_options o;
    mdk_status st = mdki_options_copy(opts, &o);
    if (st == MDK_OK) mdk_spec_apply_options(b->spec, &o);
    if (st == MDK_OK) st = read_spec(b, &spec);
    if (st == MDK_OK) {
        const mdki_file *f = mdki_files_find(&b->files, "model/model.onnx");
        char what[4300];
        snprintf(what, sizeof what, "%s: model/model.onnx", b->path);
        if (!f) st = mdki_fail(MDK_ERR_NOT_FOUND, "%s: the bundle has no model/model.onnx", b->path);
        else if (b->dir) st = mdk_model_open(spec->model, &o, &model);
        else st = mdk_model_open_memory(f->data, f->size, what, &o, &model);
    }
    if (st != MDK_OK) {
        mdk_spec_free(spec);
        return st;
    }
    return mdki_pipeline_new(spec, model, out);
}

/* ---- test cases ---- */

typedef struct case_io {
    mdk_tensor **items;
    size_t n;
} case_io;

static mdk_status load_npz(const mdk_bundle *b, const char *rel, case_io *out)
{
    char *data;
    size_t len;
    mdk_status st = mdki_bundle_load(b, rel, MDKI_BUNDLE_MAX_FILE_BYTES, &data, &len);
    if (st != MDK_OK) return st;
    char what[4300];
    snprintf(what, sizeof what, "%s: %s", b->path, rel);
    st = mdki_npz_decode(data, len, what, &out->items, &out->n);
    mdki_free(data);
    return st;
}

/* Entries of `io` belonging to case `name` ("name/x"), with the case prefix dropped, as borrowed pointers
 * renamed in place. */
static size_t case_members(case_io *io, const char *name, mdk_tensor **out, size_t max)
{
    size_t n = 0, len = strlen(name);
    for (size_t i = 0; i < io->n && n < max; i++) {
        const char *nm = mdk_tensor_name(io->items[i]);
        if (strncmp(nm, name, len) == 0 && nm[len] == '/') {
            char rest[1100];
            snprintf(rest, sizeof rest, "%s", nm + len + 1);
            if (mdk_tensor_set_name(io->items[i], rest) != MDK_OK) return n;
            out[n++] = io->items[i];
        } else if (!strchr(nm, '/') && strcmp(name, "inputs.npz") == 0) {
            out[n++] = io->items[i];
        }
    }
    return n;
}

static int compare_all(mdk_tensor **got, size_t n_got, mdk_tensor **want, size_t n_want, double rtol, double atol,
                       char *why, size_t size)
{
    for (size_t i = 0; i < n_want; i++) {
        const mdk_tensor *g = NULL;
        for (size_t k = 0; k < n_got && !g; k++)
            if (strcmp(mdk_tensor_name(got[k]), mdk_tensor_name(want[i])) == 0) g = got[k];
        if (!g) {
            snprintf(why, size, "no output '%s'", mdk_tensor_name(want[i]));
            return 0;
        }
        mdk_compare c;
        if (mdk_tensor_compare(g, want[i], rtol, atol, &c) != MDK_OK || !c.pass) {
            snprintf(why, size, "'%s': %zu elements out of tolerance, max abs err %.3g, worst at index %zu (got %.9g, expected %.9g)%s",
                     mdk_tensor_name(want[i]), c.mismatches, c.max_abs_err, c.worst_index, c.worst_actual, c.worst_expected,
                     !c.shape_match ? " (shapes differ)" : !c.dtype_match ? " (dtypes differ)" : "");
            return 0;
        }
    }
    return 1;
}

mdk_status mdk_bundle_run_cases(const mdk_bundle *b, const mdk_options *opts, mdk_case_callback cb, void *ctx,
                                size_t *passed, size_t *failed)
{
    if (!b) return mdki_fail(MDK_ERR_INVALID_ARGUMENT, "mdk_bundle_run_cases: NULL bundle");
    mdk_pipeline *p = NULL;
    case_io ins = {0}, exps = {0};
    char *cj = NULL;
    size_t cjlen, ok = 0, bad = 0;
    cJSON *cases = NULL;
    mdk_status st = mdk_bundle_pipeline(b, opts, &p);
    if (st == MDK_OK) st = load_npz(b, "test_cases/inputs.npz", &ins);
    if (st == MDK_OK) st = load_npz(b, "test_cases/expected_outputs.npz", &exps);
    if (st == MDK_OK) st = mdki_bundle_load(b, "test_cases/cases.json", 16u << 20, &cj, &cjlen);
    if (st == MDK_OK && !(cases = cJSON_ParseWithLength(cj, cjlen)))
        st = mdki_fail(MDK_ERR_FORMAT, "%s: test_cases/cases.json is not JSON", b->path);
    double rtol = b->spec->rtol, atol = b->spec->atol;
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(cases, "cases");
    /* case names: from cases.json, or the CASE prefixes of inputs.npz */
    char names[1024][64];
    const char *images[1024] = {0};
    size_t n_cases = 0;
    for (const cJSON *e = list ? list->child : NULL; st == MDK_OK && e && n_cases < 1024; e = e->next) {
        const cJSON *nm = cJSON_GetObjectItemCaseSensitive(e, "name"), *im = cJSON_GetObjectItemCaseSensitive(e, "image");
        if (!cJSON_IsString(nm)) continue;
        snprintf(names[n_cases], sizeof names[0], "%s", nm->valuestring);
        images[n_cases++] = cJSON_IsString(im) ? im->valuestring : NULL;
    }
    for (size_t i = 0; st == MDK_OK && i < ins.n && n_cases < 1024; i++) {
        const char *nm = mdk_tensor_name(ins.items[i]), *sl = strchr(nm, '/');
        char c[64];
        snprintf(c, sizeof c, "%.*s", sl ? (int)(sl - nm) : 10, sl ? nm : "inputs.npz");
        int seen = 0;
        for (size_t k = 0; k < n_cases && !seen; k++) seen = strcmp(names[k], c) == 0;
        if (!seen) snprintf(names[n_cases++], sizeof names[0], "%s", c);
    }
    mdk_model *m = p ? mdk_pipeline_model(p) : NULL;
    for (size_t k = 0; st == MDK_OK && k < n_cases; k++) {
        mdk_tensor *in[256], *want[256], **outs = NULL;
        size_t n_in = case_members(&ins, names[k], in, 256), n_want = case_members(&exps, names[k], want, 256), n_outs = 0;
        char why[1024] = "";
        int pass = 1;
        mdk_status rs = MDK_OK;
        if (images[k]) { /* the full pipeline: the image itself through preprocessing first */
            char rel[1200], *img_data = NULL;
            size_t img_len;
            mdk_image *img = NULL;
            mdk_tensor *x = NULL;
            snprintf(rel, sizeof rel, "test_cases/%s", images[k]);
            rs = mdki_bundle_load(b, rel, MDK_IMAGE_MAX_FILE_BYTES, &img_data, &img_len);
            if (rs == MDK_OK) rs = mdk_image_decode(img_data, img_len, rel, NULL, &img);
            if (rs == MDK_OK) rs = mdk_preprocess(mdk_pipeline_spec(p), &img, 1, &x, NULL);
            if (rs == MDK_OK && n_in) rs = mdk_tensor_set_name(x, mdk_tensor_name(in[0]));
            if (rs == MDK_OK && n_in && !compare_all(&x, 1, in, 1, rtol, atol, why, sizeof why)) {
                pass = 0;
                char tmp[1024];
                snprintf(tmp, sizeof tmp, "preprocessing differs from the stored input: %s", why);
                snprintf(why, sizeof why, "%s", tmp);
            }
            if (rs == MDK_OK && pass) {
                mdk_tensor *feed[256];
                feed[0] = x;
                for (size_t i = 1; i < n_in; i++) feed[i] = in[i];
                rs = mdk_model_run(m, feed, n_in ? n_in : 1, &outs, &n_outs);
            }
            mdk_tensor_free(x);
            mdk_image_free(img);
            mdki_free(img_data);
        } else {
            rs = mdk_model_run(m, in, n_in, &outs, &n_outs);
        }
        if (rs != MDK_OK) {
            pass = 0;
            snprintf(why, sizeof why, "%s", mdk_errmsg());
        } else if (pass && !n_want) {
            pass = 0;
            snprintf(why, sizeof why, "no expected outputs for this case");
        } else if (pass) {
            pass = compare_all(outs, n_outs, want, n_want, rtol, atol, why, sizeof why);
        }
        mdk_tensors_free(outs, n_outs);
        pass ? ok++ : bad++;
        if (cb) cb(ctx, names[k], pass, why);
    }
    if (st == MDK_OK && n_cases == 0) st = mdki_fail(MDK_ERR_FORMAT, "%s: the bundle has no test cases", b->path);
    cJSON_Delete(cases);
    mdki_free(cj);
    mdk_tensors_free(ins.items, ins.n);
    mdk_tensors_free(exps.items, exps.n);
    mdk_pipeline_close(p);
    if (passed) *passed = ok;
    if (failed) *failed = bad;
    return st;
}
