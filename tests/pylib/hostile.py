"""Hostile bundle archives, as uncompressed tar streams: what a receiver's mdk must refuse, each with the words
its one-line error must hold, and two unusual but valid forms it must accept. Shared by the bundle tests
(which compress them with zstd, as .mdk files are) and the fuzzing seeds (which feed the tar stream itself)."""
import hashlib
import io
import json
import os
import subprocess
import tarfile
import tempfile

PATH_LIMIT = 1024  # bytes of a path inside a bundle (MDKI_BUNDLE_MAX_PATH)
DEPTH_LIMIT = 16   # components of a path inside a bundle (MDKI_BUNDLE_MAX_DEPTH)


def manifest(files, name, version):
    """manifest.json for `files` ({relative path: bytes}), with the bundle digest computed as mdk does:
    sha256 over "sha256 size path\\n" for every file in byte order of the paths."""
    entries = sorted((p.encode("utf-8", "surrogateescape"), p, d) for p, d in files.items())
    digest = hashlib.sha256()
    listed = []
    for raw, p, d in entries:
        h = hashlib.sha256(d).hexdigest()
        digest.update(f"{h} {len(d)} ".encode() + raw + b"\n")
        listed.append({"path": p, "size": len(d), "sha256": h})
    return json.dumps({"format": "mdk-bundle", "format_version": 1, "name": name, "version": version,
                       "digest": "sha256:" + digest.hexdigest(), "files": listed}, ensure_ascii=False,
                      indent=2).encode("utf-8", "surrogateescape")


def read_bundle(bundle_dir):
    """The files of a bundle directory, without manifest.json, and its name and version."""
    files = {}
    for root, _, names in os.walk(bundle_dir):
        for n in names:
            full = os.path.join(root, n)
            rel = os.path.relpath(full, bundle_dir)
            if rel != "manifest.json":
                with open(full, "rb") as f:
                    files[rel] = f.read()
    with open(os.path.join(bundle_dir, "manifest.json")) as f:
        m = json.load(f)
    return files, m["name"], m["version"]


def _add(t, name, data=b"x", kind=tarfile.REGTYPE, link="", size=None):
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, link
    info.size = len(data) if kind == tarfile.REGTYPE else 0
    if size is not None:  # a header that declares more than follows
        info.size = size
        t.fileobj.write(info.tobuf(tarfile.GNU_FORMAT, "utf-8", "surrogateescape"))
        t.offset += tarfile.BLOCKSIZE
        return
    t.addfile(info, io.BytesIO(data) if kind == tarfile.REGTYPE else None)


def _tar(build):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT, encoding="utf-8",
                      errors="surrogateescape") as t:
        build(t)
    return buf.getvalue()


def _with_extra(files, name, version, extra):
    """A tar of the bundle `files` plus `extra` ({path: bytes}), with a manifest that lists them correctly:
    only the entry checks can refuse it."""
    allf = dict(files)
    allf.update(extra)
    top = f"{name}-{version}"

    def build(t):
        for p, d in sorted(allf.items()):
            _add(t, f"{top}/{p}", d)
        _add(t, f"{top}/manifest.json", manifest(allf, name, version))
    return _tar(build)


def _sparse_tar():
    """A GNU tar sparse entry, made by GNU tar itself from a file with a hole."""
    with tempfile.TemporaryDirectory() as tmp:
        os.makedirs(os.path.join(tmp, "b"))
        with open(os.path.join(tmp, "b", "holes"), "wb") as f:
            f.seek(1 << 20)
            f.write(b"end")
        return subprocess.run(["tar", "--sparse", "--format=gnu", "-C", tmp, "-cf", "-", "b/holes"],
                              capture_output=True, check=True).stdout


def refused(files, name, version):
    """{archive name: (tar bytes, [words the error must hold])} built around a valid bundle's files."""
    deep = "/".join(["d"] * (DEPTH_LIMIT + 4)) + "/f"
    long_name = "x" * 5000
    return {
        "abs": (_tar(lambda t: _add(t, "/etc/passwd")), ["absolute or empty path"]),
        "dotdot": (_tar(lambda t: _add(t, "b/../../evil")), ["'..' path component"]),
        "link": (_tar(lambda t: _add(t, "b/mdk.yaml", kind=tarfile.SYMTYPE, link="/etc/passwd")), ["symbolic link"]),
        "hard": (_tar(lambda t: (_add(t, "b/a"), _add(t, "b/mdk.yaml", kind=tarfile.LNKTYPE, link="b/a"))),
                 ["hard link"]),
        "dev": (_tar(lambda t: _add(t, "b/dev", kind=tarfile.CHRTYPE)), ["device or special file"]),
        "fifo": (_tar(lambda t: _add(t, "b/fifo", kind=tarfile.FIFOTYPE)), ["device or special file"]),
        "dup": (_tar(lambda t: (_add(t, "b/a"), _add(t, "b/a"))), ["appears twice"]),
        "case": (_tar(lambda t: (_add(t, "b/Model.txt"), _add(t, "b/model.txt"))), ["differ only by case"]),
        "nfd": (_tar(lambda t: (_add(t, "b/caf\u00e9.txt"), _add(t, "b/cafe\u0301.txt"))), ["combining mark U+0301"]),
        "notutf8": (_tar(lambda t: _add(t, "b/\udcff.txt")), ["not valid UTF-8"]),
        "control": (_tar(lambda t: _add(t, "b/a\nb")), ["control character"]),
        "two": (_tar(lambda t: (_add(t, "a/x"), _add(t, "b/y"))), ["outside the bundle's single top directory"]),
        "empty": (_tar(lambda t: None), ["no manifest.json"]),
        "huge": (_tar(lambda t: _add(t, "b/big", size=1 << 40)), ["'b/big' is too large"]),
        "sparse": (_sparse_tar(), ["sparse file"]),
        "long_path": (_with_extra(files, name, version, {long_name: b"long"}),
                      [f"has a path of {len(long_name)} bytes, the limit is {PATH_LIMIT}"]),
        "deep_path": (_with_extra(files, name, version, {deep: b"deep"}),
                      [f"is {DEPTH_LIMIT + 5} directories deep, the limit is {DEPTH_LIMIT}"]),
    }


def accepted(files, name, version):
    """{archive name: tar bytes} of valid bundles in unusual forms: a path just under the limit (listed in a
    correct manifest), and directory entries as plain `tar` writes them."""
    top = f"{name}-{version}"
    near = "n" * (PATH_LIMIT - len("docs/") - 1)
    allf = dict(files)

    def with_dirs(t):
        dirs = sorted({os.path.dirname(p) for p in allf if os.path.dirname(p)})
        info = tarfile.TarInfo(top + "/")
        info.type = tarfile.DIRTYPE
        t.addfile(info)
        for d in dirs:
            info = tarfile.TarInfo(f"{top}/{d}/")
            info.type = tarfile.DIRTYPE
            t.addfile(info)
        for p, d in sorted(allf.items()):
            _add(t, f"{top}/{p}", d)
        _add(t, f"{top}/manifest.json", manifest(allf, name, version))
    return {
        "near_limit": _with_extra(files, name, version, {f"docs/{near}": b"near"}),
        "dir_entries": _tar(with_dirs),
    }
