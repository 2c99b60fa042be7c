"""libmdk as an SDK: `cmake --install` into a temporary prefix, then a consumer program built with
`pkg-config mdk` and with `find_package(mdk)`; the Python binding from PYTHONPATH and from `pip install` of
its folder: interface, results equal to the command line's, errors as exceptions carrying mdk's message."""
import json
import os
import subprocess
import sys
import textwrap

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "pylib"))
import mdktest  # noqa: E402
from mdktest import node_model, run  # noqa: E402

ROOT = os.environ.get("MDK_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("MDK_BUILD_DIR", os.path.join(ROOT, "build"))
LIB = os.environ.get("MDK_LIBRARY", os.path.join(BUILD, "libmdk.so.0"))
APP = r"""
#include <stdio.h>
#include <mdk/mdk.h>
int main(int argc, char **argv) {
    mdk_model *m;
    if (MDK_VERSION_NUMBER != 100 || mdk_model_open(argv[1], NULL, &m) != MDK_OK) {
        fprintf(stderr, "%s\n", mdk_errmsg());
        return 1;
    }
    printf("%s %s %zu\n", mdk_version(), mdk_model_input(m, 0)->name, mdk_model_input_count(m));
    mdk_model_close(m);
    return 0;
}
"""


def binding_env(**extra):
    return dict(os.environ, PYTHONPATH=os.path.join(ROOT, "bindings", "python"), MDK_LIBRARY=LIB, **extra)


def py(code, env=None):
    return subprocess.run(["/usr/bin/python3", "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          env=env or binding_env())


class SDK(mdktest.TestCase):
    def install(self):
        prefix = self.path("prefix")
        r = subprocess.run(["cmake", "--install", BUILD, "--prefix", prefix], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        return prefix

    def test_install_and_consumers(self):
        prefix = self.install()
        for f in ("include/mdk/mdk.h", "lib/libmdk.so.0", "lib/libmdk.a", "bin/mdk", "lib/pkgconfig/mdk.pc",
                  "lib/cmake/mdk/mdkConfig.cmake"):
            self.assertTrue(os.path.exists(os.path.join(prefix, f)), f)
        self.assertEqual(os.path.realpath(os.path.join(prefix, "lib/libmdk.so.0")),
                         os.path.join(os.path.realpath(prefix), "lib", "libmdk.so.0.1.0"))  # soname = major version
        r = subprocess.run([os.path.join(prefix, "bin/mdk"), "--version"], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(self.path("app.c"), "w") as f:
            f.write(APP)
        env = dict(os.environ, PKG_CONFIG_PATH=os.path.join(prefix, "lib/pkgconfig"))
        flags = subprocess.run(["pkg-config", "--cflags", "--libs", "mdk"], capture_output=True, text=True, env=env,
                               check=True).stdout.split()
        r = subprocess.run(["cc", "-Werror", self.path("app.c"), *flags, "-o", self.path("app")], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        out = subprocess.run([self.path("app"), node_model("test_add")], capture_output=True, text=True)
        self.assertEqual(out.stdout, "0.1.0 x 2\n", out.stderr)
        proj = self.path("proj")
        os.mkdir(proj)
        os.rename(self.path("app.c"), os.path.join(proj, "app.c"))
        with open(os.path.join(proj, "CMakeLists.txt"), "w") as f:
            f.write("cmake_minimum_required(VERSION 3.16)\nproject(app C)\nfind_package(mdk 0.1 REQUIRED)\n"
                    "add_executable(app app.c)\ntarget_link_libraries(app PRIVATE mdk::mdk)\n")
        for step in (["cmake", "-S", proj, "-B", proj + "/b", f"-DCMAKE_PREFIX_PATH={prefix}"], ["cmake", "--build", proj + "/b"]):
            r = subprocess.run(step, capture_output=True, text=True)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        out = subprocess.run([proj + "/b/app", node_model("test_add")], capture_output=True, text=True)
        self.assertEqual(out.stdout, "0.1.0 x 2\n", out.stderr)

    def test_binding_matches_cli(self):
        tv = os.path.join(mdktest.MODELS, "torchvision")
        x = np.load(os.path.join(tv, "resnet18", "inputs.npy"))
        rc, _, err = run("run", os.path.join(tv, "resnet18.onnx"), "--input", "input=" + os.path.join(tv, "resnet18", "inputs.npy"),
                         "--output-dir", self.path("cli"))
        self.assertEqual(rc, 0, err)
        r = py(f"""
            import mdk, numpy as np
            m = mdk.Model({os.path.join(tv, "resnet18.onnx")!r})
            print([(i.name, i.dtype, i.shape) for i in m.inputs], [(o.name, o.dtype, o.shape) for o in m.outputs])
            np.save({self.path("py.npy")!r}, m.predict({{"input": np.load({os.path.join(tv, "resnet18", "inputs.npy")!r})}})["logits"])
        """)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("[('input', 'float32', ['batch', 3, 224, 224])] [('logits', 'float32', ['batch', 1000])]", r.stdout)
        np.testing.assert_array_equal(np.load(self.path("py.npy")), np.load(self.path("cli/logits.npy")))
        self.assertEqual(x.shape, (2, 3, 224, 224))

    def test_binding_dtypes_and_errors(self):
        r = py(f"""
            import mdk, numpy as np
            m = mdk.Model({node_model("test_cast_FLOAT_to_STRING")!r})
            out = m.predict(np.array([[1.5, 2, 3, 4]] * 3, np.float32))["output"]
            print(out.dtype, out.shape, out[0, 0])
            add = mdk.Model({node_model("test_add")!r})
            try:
                add.predict({{"x": np.zeros((3, 4, 5), np.float64), "y": np.zeros((3, 4, 5), np.float32)}})
            except mdk.Error as e:
                print("error", e.status, e)
            try:
                mdk.Model("/nonexistent/model.onnx")
            except mdk.Error as e:
                print("error", e.status, e)
            y = add.predict({{"x": np.ones((3, 4, 5), np.float32), "y": np.full((3, 4, 5), 2, np.float32)}})["sum"]
            print(float(y.sum()), mdk.version(), mdk.ort_version())
            rng = mdk.Model({node_model("test_range_float_type_positive_delta")!r})  # three 0-d inputs
            r = rng.predict({{"start": np.float32(1), "limit": np.array(5, np.float32), "delta": np.full((), 2, np.float32)}})
            print(r["output"].tolist())
        """)
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = r.stdout.splitlines()
        self.assertEqual(lines[0], "object (3, 4) 1.5")
        self.assertEqual(lines[1], "error 7 input 'x': expected dtype float32, got float64")
        self.assertTrue(lines[2].startswith("error 2 model '/nonexistent/model.onnx'"), lines[2])
        self.assertEqual(lines[3], "180.0 0.1.0 1.30.0")
        self.assertEqual(lines[4], "[1.0, 3.0]")

    def test_python_examples(self):
        """bindings/python/examples on a bundle packed from the classification example of docs/examples."""
        import cv2
        from skimage import data as skdata
        src = self.path("src")
        os.makedirs(src)
        os.symlink(os.path.join(mdktest.MODELS, "torchvision", "mobilenet_v2.onnx"), os.path.join(src, "model.onnx"))
        for n in ("chelsea", "coffee", "astronaut"):
            cv2.imwrite(os.path.join(src, n + ".jpg"), cv2.cvtColor(getattr(skdata, n)(), cv2.COLOR_RGB2BGR))
        with open(os.path.join(src, "labels.txt"), "w") as f:
            f.write("\n".join(f"class {i}" for i in range(1000)) + "\n")
        with open(os.path.join(ROOT, "docs", "examples", "imagenet-classification", "mdk.yaml")) as f:
            spec = f.read()
        with open(os.path.join(src, "mdk.yaml"), "w") as f:
            f.write(spec + "test_cases:\n  images: [chelsea.jpg, coffee.jpg, astronaut.jpg]\n")
        rc, out, err = run("pack", os.path.join(src, "mdk.yaml"), "-o", self.path("out"))
        self.assertEqual(rc, 0, err)
        bundle = out.split()[0]
        ex = os.path.join(ROOT, "bindings", "python", "examples")
        photo = os.path.join(src, "chelsea.jpg")
        for script, args, check in (
                ("single.py", [photo], lambda o: json.loads(o)["results"][0]["top"][0]["label"].startswith("class ")),
                ("batch.py", [photo, os.path.join(src, "coffee.jpg")], lambda o: "(3, 1000)" in o),
                ("threads.py", ["4"], lambda o: "4 threads, 40 inferences: 0 mismatches" in o)):
            with self.subTest(example=script):
                r = subprocess.run(["/usr/bin/python3", os.path.join(ex, script), bundle, *args], capture_output=True,
                                   text=True, env=binding_env())
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertTrue(check(r.stdout), r.stdout)

    def test_pip_install_of_the_folder(self):
        import shutil
        target, src = self.path("site"), self.path("binding")
        shutil.copytree(os.path.join(ROOT, "bindings", "python"), src)  # pip builds in the folder: keep the tree clean
        r = subprocess.run(["/usr/bin/python3", "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                            "--no-index", "--target", target, src], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        r = py("import mdk; print(mdk.__file__, mdk.version())", env=dict(os.environ, PYTHONPATH=target, MDK_LIBRARY=LIB))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(r.stdout.startswith(target), r.stdout)
        r = py("import mdk", env=dict(os.environ, PYTHONPATH=target, MDK_LIBRARY="/nonexistent/libmdk.so"))
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("libmdk not found", r.stderr)


if __name__ == "__main__":
    mdktest.main()
