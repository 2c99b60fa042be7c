"""The front ends (the mdk command and mdk serve) are written on libmdk's public API only: their compile commands
put include/ and their own folders on the include path and nothing of src/, so an internal header included from
them fails the build. Checked on the build's real compile commands, by compiling probes with them."""
import json
import os
import shlex
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "pylib"))
import mdktest  # noqa: E402

ROOT = os.path.realpath(os.environ.get("MDK_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", "..")))
BUILD = os.environ.get("MDK_BUILD_DIR", os.path.join(ROOT, "build"))
FRONT_ENDS = ("src/cli/", "src/server/")


def front_end_commands():
    with open(os.path.join(BUILD, "compile_commands.json")) as f:
        entries = json.load(f)
    out = []
    for e in entries:
        rel = os.path.relpath(os.path.realpath(e["file"]), ROOT)
        if rel.startswith(FRONT_ENDS):
            out.append((rel, e.get("arguments") or shlex.split(e["command"]), e["directory"]))
    return out


def include_dirs(args):
    dirs = []
    for i, a in enumerate(args):
        for flag in ("-I", "-isystem", "-iquote"):
            if a == flag and i + 1 < len(args):
                dirs.append(args[i + 1])
            elif a.startswith(flag) and len(a) > len(flag):
                dirs.append(a[len(flag):])
    return [os.path.realpath(d) for d in dirs]


class PublicApiOnly(mdktest.TestCase):
    def test_include_paths(self):
        cmds = front_end_commands()
        self.assertGreater(len(cmds), 10, "compile_commands.json lists the front ends' sources")
        allowed = {os.path.join(ROOT, "include"), os.path.join(ROOT, "src", "cli"), os.path.join(ROOT, "src", "server")}
        for rel, args, _ in cmds:
            for d in include_dirs(args):
                with self.subTest(source=rel, include=d):
                    inside_src = d == os.path.join(ROOT, "src") or d.startswith(os.path.join(ROOT, "src") + os.sep)
                    self.assertTrue(not inside_src or d in allowed, f"{rel} sees internal headers in {d}")

    def probe(self, rel, args, directory, text):
        src = self.path("probe.c")
        with open(src, "w") as f:
            f.write(text)
        cmd = []
        skip = False
        for i, a in enumerate(args):
            if skip:
                skip = False
                continue
            if a == "-o":
                skip = True
                cmd += ["-o", self.path("probe.o")]
            elif os.path.realpath(os.path.join(directory, a)) == os.path.realpath(os.path.join(ROOT, rel)):
                cmd.append(src)
            else:
                cmd.append(a)
        return subprocess.run(cmd, cwd=directory, capture_output=True, text=True)

    def test_internal_include_fails_the_build(self):
        for rel, args, directory in front_end_commands():
            if not rel.endswith(("cmd_serve.c", "http.c")):
                continue
            with self.subTest(source=rel):
                ok = self.probe(rel, args, directory, '#include "mdk/mdk.h"\n#include "server.h"\nint probe(void);\n'
                                "int probe(void) { return (int)mdk_dtype_size(MDK_DTYPE_FLOAT32); }\n")
                self.assertEqual(ok.returncode, 0, ok.stderr)
                for header in ("core/core.h", "spec/spec.h", "tensor/tensor_int.h", "bundle/bundle_int.h"):
                    bad = self.probe(rel, args, directory, f'#include "{header}"\n')
                    self.assertNotEqual(bad.returncode, 0, f"{rel} could include {header}")
                    self.assertIn("No such file or directory", bad.stderr)


if __name__ == "__main__":
    mdktest.main()
