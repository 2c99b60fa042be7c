"""The public headers are the specification: every MDK_API function carries a comment, and docs/api.md
(rendered by scripts/gen-api-docs.py) is up to date with them."""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "pylib"))
import mdktest  # noqa: E402

ROOT = os.environ.get("MDK_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))


class ApiDocs(mdktest.TestCase):
    def test_every_public_function_is_documented(self):
        inc = os.path.join(ROOT, "include", "mdk")
        for name in os.listdir(inc):
            with open(os.path.join(inc, name)) as f:
                text = "\n".join("" if l.lstrip().startswith("#") else l for l in f.read().splitlines())
            for m in re.finditer(r"MDK_API [^;(]*?(\w+)\(", text):
                before = text[:m.start()].rstrip()
                with self.subTest(function=m.group(1)):
                    self.assertTrue(before.endswith("*/") or re.search(r"MDK_API[^;]*;\s*$", before),
                                    f"{name}: {m.group(1)} has no comment")

    def test_api_md_is_current(self):
        out = self.path("api.md")
        subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "scripts", "gen-api-docs.py"), out], check=True)
        with open(out) as a, open(os.path.join(ROOT, "docs", "api.md")) as b:
            self.assertEqual(a.read(), b.read(), "docs/api.md is stale: run scripts/gen-api-docs.py")


if __name__ == "__main__":
    mdktest.main()
