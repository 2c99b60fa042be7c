"""Shared helpers of mdk's Python-driven tests: where the binaries and cached models are, and running mdk."""
import os
import subprocess
import sys
import tempfile
import unittest

MDK = os.environ.get("MDK_BIN", "build/mdk")
TENSORCONV = os.environ.get("MDK_TENSORCONV", "build/tests/tensorconv")
RESIZETOOL = os.environ.get("MDK_RESIZETOOL", "build/tests/resizetool")
NMSTOOL = os.environ.get("MDK_NMSTOOL", "build/tests/nmstool")
CACHE = os.environ.get("MDK_CACHE") or os.path.join(
    os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "mdk")
MODELS = os.path.join(CACHE, "models")
ONNX_NODE = "/usr/share/libonnx-testdata/data/node"


def run(*args, timeout=300):
    """Runs mdk with `args`; returns (exit code, stdout, stderr)."""
    p = subprocess.run([MDK, *map(str, args)], capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def node_model(name):
    return os.path.join(ONNX_NODE, name, "model.onnx")


class TestCase(unittest.TestCase):
    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory(prefix="mdk-test-")
        self.tmp = self._tmp.name

    def tearDown(self):
        self._tmp.cleanup()

    def path(self, name):
        return os.path.join(self.tmp, name)

    def assertFails(self, args, needles, code=1):
        """mdk must exit with `code` and print exactly one line on stderr containing every needle."""
        rc, out, err = run(*args)
        self.assertEqual(rc, code, f"mdk {' '.join(map(str, args))}: exit {rc}, stderr: {err}")
        lines = err.strip().splitlines()
        self.assertEqual(len(lines), 1, f"expected one error line, got: {err!r}")
        for n in needles if isinstance(needles, (list, tuple)) else [needles]:
            self.assertIn(n, lines[0])
        self.assertNotIn("AddressSanitizer", err)
        return lines[0]


def main():
    """Runs the calling module's tests and closes with the plain 'N passed, M failed' line."""
    prog = unittest.main(exit=False, verbosity=2)
    r = prog.result
    failed = len(r.failures) + len(r.errors)
    skipped = len(r.skipped)
    print(f"{r.testsRun - failed - skipped} passed, {failed} failed, {skipped} skipped")
    sys.exit(1 if failed else 0)
