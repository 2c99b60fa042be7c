/* bundle.c: opening a bundle (directory or .mdk archive) with its integrity checked first, and running its
 * test cases through the full pipeline. Archives are untrusted input and are read in memory, never unpacked. */
#include <archive.h>
#include <archive_entry.h>
#include <cjson/cJSON.h>
#include <errno.h>
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
        return mdk_path_join(m, sizeof m, path, "manifest.json") == MDK_OK && stat(m, &sb) == 0;
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
    mdk_status st = mdk_path_join(path, sizeof path, b->dir, rel);
    return st == MDK_OK ? mdki_read_file(path, cap, "bundle file", data, len) : st;
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
    const char *rel = path + g_walk_root;
    if (*rel == '/') rel++;
    if (flag == FTW_D || flag == FTW_DP) {
        if (ftw->level < MDKI_BUNDLE_MAX_DEPTH) return 0;
        g_walk_status = mdki_fail(MDK_ERR_TOO_LARGE, "directory '%.60s%s' is nested %d levels deep, the limit is %d",
                                  rel, strlen(rel) > 60 ? "..." : "", ftw->level, MDKI_BUNDLE_MAX_DEPTH - 1);
        return 1;
    }
    if (flag == FTW_DNR) {
        g_walk_status = mdki_fail(MDK_ERR_IO, "cannot read the directory '%s'", rel);
        return 1;
    }
    if (flag == FTW_SL || flag == FTW_SLN) {
        g_walk_status = mdki_fail(MDK_ERR_FORMAT, "'%s' is a symbolic link: bundles hold regular files only", rel);
        return 1;
    }
    if (flag != FTW_F || !S_ISREG(sb->st_mode)) {
        g_walk_status = mdki_fail(MDK_ERR_FORMAT, "'%s' is not a regular file", rel);
        return 1;
    }
    if (strcmp(rel, "manifest.json") == 0) return 0;
    if ((g_walk_status = mdki_bundle_check_path(rel, 0)) != MDK_OK) return 1;
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
    mdk_status st = mdk_path_join(mpath, sizeof mpath, b->dir, "manifest.json");
    if (st == MDK_OK) st = mdki_read_file(mpath, 16u << 20, "manifest", manifest, mlen);
    if (st != MDK_OK) return st;
    pthread_mutex_lock(&lock);
    g_walk_files = &b->files;
    g_walk_root = strlen(b->dir);
    g_walk_status = MDK_OK;
    int walked = nftw(b->dir, walk_entry, 16, FTW_PHYS);
    st = g_walk_status;
    if (walked < 0 && st == MDK_OK) st = mdki_fail(MDK_ERR_IO, "cannot walk the bundle directory: %s", strerror(errno));
    pthread_mutex_unlock(&lock);
    return st;
}

static mdk_status parse_archive(mdk_bundle *b, const char *raw, size_t len, char **manifest, size_t *mlen)
{
    mdk_status st = MDK_OK;
    struct archive *a = archive_read_new();
    if (!a) return mdki_fail(MDK_ERR_NO_MEMORY, "out of memory");
    archive_read_support_filter_zstd(a);
    archive_read_support_format_tar(a);
    char *prefix = NULL; /* the bundle's single top directory, "NAME-VERSION" */
    size_t prefix_len = 0;
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
        if (!name) {
            st = mdki_fail(MDK_ERR_FORMAT, "%s: an entry has no path", b->path);
            break;
        }
        size_t nlen = strlen(name);
        if (type == AE_IFDIR) { /* "NAME-VERSION/" and its subdirectories, as plain tar writes them */
            char *dir = mdki_strndup(name, nlen && name[nlen - 1] == '/' ? nlen - 1 : nlen);
            st = dir ? mdki_bundle_check_path(dir, 1) : MDK_ERR_NO_MEMORY;
            mdki_free(dir);
            if (st != MDK_OK) mdki_fail_prefix(st, "%s", b->path);
            continue;
        }
        if ((st = mdki_bundle_check_path(name, 1)) != MDK_OK) {
            mdki_fail_prefix(st, "%s", b->path);
            break;
        }
        if (type != AE_IFREG || archive_entry_hardlink(e) || archive_entry_sparse_count(e) > 0) {
            st = mdki_fail(MDK_ERR_FORMAT, "%s: entry '%s' is a %s: bundles hold regular files only", b->path, name,
                           type == AE_IFLNK ? "symbolic link" : archive_entry_hardlink(e) ? "hard link"
                           : type == AE_IFREG ? "sparse file" : "device or special file");
            break;
        }
        const char *slash = strchr(name, '/');
        size_t plen = slash ? (size_t)(slash - name) : 0;
        if (!slash || (prefix && (prefix_len != plen || strncmp(prefix, name, plen) != 0))) {
            st = mdki_fail(MDK_ERR_FORMAT, "%s: entry '%s' is outside the bundle's single top directory", b->path, name);
            break;
        }
        if (!prefix) {
            if (!(prefix = mdki_strndup(name, plen))) {
                st = MDK_ERR_NO_MEMORY;
                break;
            }
            prefix_len = plen;
        }
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
    mdki_free(prefix);
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
    mdk_status st = mdk_path_join(spath, sizeof spath, b->dir ? b->dir : b->path, "mdk.yaml");
    if (st == MDK_OK) st = mdki_bundle_load(b, "mdk.yaml", 1u << 20, &data, &len);
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
    mdk_sha256_hex(*data, *len, hex);
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
        snprintf(what, sizeof what, "%.4200s: model/model.onnx", b->path); /* a name in messages only */
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

/* Any path a pipeline can come from: a bundle (directory or .mdk) through mdk_bundle_open, else a spec. */
mdk_status mdk_pipeline_open(const char *path, const mdk_options *opts, mdk_pipeline **out)
{
    if (!path || !out) return mdki_fail(MDK_ERR_INVALID_ARGUMENT, "mdk_pipeline_open: NULL argument");
    if (mdk_path_is_bundle(path)) {
        mdk_bundle *b = NULL;
        mdk_status st = mdk_bundle_open(path, &b);
        if (st == MDK_OK) st = mdk_bundle_pipeline(b, opts, out);
        mdk_bundle_close(b);
        return st;
    }
    mdk_spec *spec = NULL;
    mdk_model *model = NULL;
    const char *ext = mdki_path_ext(path);
    int bare = strcmp(ext, "onnx") == 0 || strcmp(ext, "ort") == 0;
    mdk_status st = bare ? mdki_spec_for_model(path, &spec) : mdk_spec_read(path, &spec);
    if (st == MDK_OK && !spec->model)
        st = mdki_fail(MDK_ERR_NOT_FOUND, "%s names no model (expected 'model: FILE.onnx')", spec->path);
    mdk_options o;
    if (st == MDK_OK) { /* the spec's runtime defaults apply unless the caller set them */
        st = mdki_options_copy(opts, &o);
        if (st == MDK_OK) mdk_spec_apply_options(spec, &o);
        if (st == MDK_OK) st = mdk_model_open(spec->model, &o, &model);
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
    snprintf(what, sizeof what, "%.3000s: %.1024s", b->path, rel); /* a name in messages only */
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
            char *rest = mdki_strdup(nm + len + 1);
            mdk_status st = rest ? mdk_tensor_set_name(io->items[i], rest) : MDK_ERR_NO_MEMORY;
            mdki_free(rest);
            if (st != MDK_OK) return n;
            out[n++] = io->items[i];
        } else if (!strchr(nm, '/') && strcmp(name, "inputs.npz") == 0) {
            out[n++] = io->items[i];
        }
    }
    return n;
}

mdk_status mdk_bundle_first_case(const mdk_bundle *b, mdk_tensor ***inputs, size_t *n)
{
    if (!b || !inputs || !n) return mdki_fail(MDK_ERR_INVALID_ARGUMENT, "mdk_bundle_first_case: NULL argument");
    case_io io = {0};
    mdk_status st = load_npz(b, "test_cases/inputs.npz", &io);
    if (st == MDK_OK && io.n == 0) st = mdki_fail(MDK_ERR_FORMAT, "%s: test_cases/inputs.npz holds no test case", b->path);
    const char *first = io.n ? mdk_tensor_name(io.items[0]) : "", *slash = strrchr(first, '/');
    char *name = st == MDK_OK ? mdki_strndup(slash ? first : "inputs.npz", slash ? (size_t)(slash - first) : 10) : NULL;
    mdk_tensor **members = st == MDK_OK && name ? mdki_calloc(io.n, sizeof *members) : NULL;
    if (st == MDK_OK && !members) st = MDK_ERR_NO_MEMORY;
    size_t count = st == MDK_OK ? case_members(&io, name, members, io.n) : 0;
    for (size_t i = 0; i < io.n; i++) { /* keep the members, free the rest */
        int member = 0;
        for (size_t k = 0; k < count && !member; k++) member = members[k] == io.items[i];
        if (!member) mdk_tensor_free(io.items[i]);
    }
    mdki_free(io.items);
    mdki_free(name);
    if (st != MDK_OK) {
        mdk_tensors_free(members, count);
        return st;
    }
    *inputs = members;
    *n = count;
    return MDK_OK;
}

/* A test case: its name and, for image cases, the image it starts from (borrowed from cases.json). */
typedef struct case_ref {
    char *name;
    const char *image;
} case_ref;

/* Appends the case `name` (`len` bytes) unless already listed. */
static mdk_status add_case(case_ref **refs, size_t *n, size_t *cap, const char *name, size_t len, const char *image)
{
    for (size_t k = 0; k < *n; k++)
        if (strlen((*refs)[k].name) == len && strncmp((*refs)[k].name, name, len) == 0) return MDK_OK;
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 16;
        case_ref *g = mdki_realloc(*refs, c * sizeof *g);
        if (!g) return MDK_ERR_NO_MEMORY;
        *refs = g, *cap = c;
    }
    if (!((*refs)[*n].name = mdki_strndup(name, len))) return MDK_ERR_NO_MEMORY;
    (*refs)[(*n)++].image = image;
    return MDK_OK;
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
    /* case names: from cases.json, then the CASE prefixes of inputs.npz not listed there */
    case_ref *refs = NULL;
    size_t n_cases = 0, cap = 0;
    for (const cJSON *e = list ? list->child : NULL; st == MDK_OK && e; e = e->next) {
        const cJSON *nm = cJSON_GetObjectItemCaseSensitive(e, "name"), *im = cJSON_GetObjectItemCaseSensitive(e, "image");
        if (cJSON_IsString(nm))
            st = add_case(&refs, &n_cases, &cap, nm->valuestring, strlen(nm->valuestring),
                          cJSON_IsString(im) ? im->valuestring : NULL);
    }
    for (size_t i = 0; st == MDK_OK && i < ins.n; i++) {
        const char *nm = mdk_tensor_name(ins.items[i]), *sl = strchr(nm, '/');
        st = sl ? add_case(&refs, &n_cases, &cap, nm, (size_t)(sl - nm), NULL)
                : add_case(&refs, &n_cases, &cap, "inputs.npz", 10, NULL);
    }
    mdk_model *m = p ? mdk_pipeline_model(p) : NULL;
    size_t n_in_max = ins.n ? ins.n : 1, n_want_max = exps.n ? exps.n : 1;
    mdk_tensor **in = mdki_calloc(n_in_max + 1, sizeof *in), **want = mdki_calloc(n_want_max, sizeof *want);
    if (st == MDK_OK && (!in || !want)) st = MDK_ERR_NO_MEMORY;
    for (size_t k = 0; st == MDK_OK && k < n_cases; k++) {
        mdk_tensor **outs = NULL;
        size_t n_in = case_members(&ins, refs[k].name, in, n_in_max);
        size_t n_want = case_members(&exps, refs[k].name, want, n_want_max), n_outs = 0;
        char why[1024] = "";
        int pass = 1;
        mdk_status rs = MDK_OK;
        if (refs[k].image) { /* the full pipeline: the image itself through preprocessing first */
            char rel[MDKI_BUNDLE_MAX_PATH + 1], *img_data = NULL;
            size_t img_len;
            mdk_image *img = NULL;
            mdk_tensor *x = NULL;
            rs = mdk_path_join(rel, sizeof rel, "test_cases", refs[k].image);
            if (rs == MDK_OK) rs = mdki_bundle_load(b, rel, MDK_IMAGE_MAX_FILE_BYTES, &img_data, &img_len);
            if (rs == MDK_OK) rs = mdk_image_decode(img_data, img_len, rel, NULL, &img);
            if (rs == MDK_OK) rs = mdk_preprocess(mdk_pipeline_spec(p), &img, 1, &x, NULL);
            if (rs == MDK_OK && n_in) rs = mdk_tensor_set_name(x, mdk_tensor_name(in[0]));
            if (rs == MDK_OK && n_in && !mdk_outputs_check(&x, 1, in, 1, rtol, atol, NULL, why, sizeof why)) {
                pass = 0;
                mdki_fail(MDK_ERR_MISMATCH, "preprocessing differs from the stored input: %s", why);
                snprintf(why, sizeof why, "%s", mdk_errmsg());
            }
            if (rs == MDK_OK && pass) {
                mdk_tensor *stored = n_in ? in[0] : NULL;
                in[0] = x; /* the preprocessed image replaces the stored input it was checked against */
                rs = mdk_model_run(m, in, n_in ? n_in : 1, &outs, &n_outs);
                in[0] = stored;
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
            pass = mdk_outputs_check(outs, n_outs, want, n_want, rtol, atol, NULL, why, sizeof why);
        }
        mdk_tensors_free(outs, n_outs);
        pass ? ok++ : bad++;
        if (cb) cb(ctx, refs[k].name, pass, why);
    }
    mdki_free(in);
    mdki_free(want);
    for (size_t k = 0; k < n_cases; k++) mdki_free(refs[k].name);
    mdki_free(refs);
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
