"""Proves that a Python suite cannot pass by not running: a tiny suite built on mdktest, with a forced skip,
fails unless the skip's dependency is declared optional in MDK_TEST_OPTIONAL, and a real failure fails
whatever is declared."""
import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import mdktest  # noqa: E402

ROOT = os.environ.get("MDK_SOURCE_DIR", os.path.join(HERE, "..", ".."))

SUITE = """import sys
sys.path.insert(0, {pylib!r})
import unittest
import mdktest


class Forced(mdktest.TestCase):
    def test_runs(self):
        pass

    def test_needs_wrk(self):
        mdktest.require("wrk", {wrk_available})

    @mdktest.skip_unless("chromium", {chromium_available})
    def test_needs_chromium(self):
        pass

    def test_fails(self):
        self.assertTrue({passes})


class WholeClass(mdktest.TestCase):
    @classmethod
    def setUpClass(cls):
        mdktest.require("models", {models_available})

    def test_a(self):
        pass

    def test_b(self):
        pass


class UnnamedSkip(mdktest.TestCase):
    def test_plain(self):
        if {plain_skip}:
            self.skipTest("skipped without naming a dependency")


if __name__ == "__main__":
    mdktest.main()
"""


class SkipPolicy(unittest.TestCase):
    def suite(self, optional=None, wrk=True, chromium=True, models=True, passes=True, plain_skip=False):
        """Runs the tiny suite with those dependencies missing or present; returns (exit code, last line)."""
        with tempfile.TemporaryDirectory(prefix="mdk-skip-policy-") as d:
            path = os.path.join(d, "test_tiny.py")
            with open(path, "w") as f:
                f.write(SUITE.format(pylib=HERE, wrk_available=wrk, chromium_available=chromium,
                                     models_available=models, passes=passes, plain_skip=plain_skip))
            env = {k: v for k, v in os.environ.items() if k != mdktest.OPTIONAL_ENV}
            if optional is not None:
                env[mdktest.OPTIONAL_ENV] = optional
            p = subprocess.run([sys.executable, path], capture_output=True, text=True, env=env, timeout=60)
        out = (p.stdout + p.stderr).strip().splitlines()
        summary = next((line for line in reversed(out) if " passed, " in line), p.stdout + p.stderr)
        return p.returncode, summary

    def test_nothing_missing_passes(self):
        rc, line = self.suite()
        self.assertEqual(rc, 0, line)
        self.assertEqual(line, "7 passed, 0 failed, 0 skipped")

    def test_forced_skip_fails_the_suite(self):
        rc, line = self.suite(wrk=False)
        self.assertEqual(rc, 1, line)
        self.assertIn("1 skipped", line)
        self.assertIn("NOT ALLOWED: 1 wrk", line)
        self.assertIn("--optional wrk", line)

    def test_declared_optional_skip_passes(self):
        rc, line = self.suite(optional="wrk", wrk=False)
        self.assertEqual(rc, 0, line)
        self.assertEqual(line, "6 passed, 0 failed, 1 skipped (allowed by MDK_TEST_OPTIONAL: 1 wrk)")

    def test_only_the_declared_dependency_is_allowed(self):
        rc, line = self.suite(optional="wrk", wrk=False, chromium=False)
        self.assertEqual(rc, 1, line)
        self.assertIn("allowed by MDK_TEST_OPTIONAL: 1 wrk", line)
        self.assertIn("NOT ALLOWED: 1 chromium", line)
        rc, line = self.suite(optional="wrk, chromium", wrk=False, chromium=False)
        self.assertEqual(rc, 0, line)

    def test_class_skipped_whole(self):
        """A skip from setUpClass skips the class's tests without running them."""
        rc, line = self.suite(models=False)
        self.assertEqual(rc, 1, line)
        self.assertIn("5 passed, 0 failed, 1 skipped", line)
        rc, line = self.suite(optional="models", models=False)
        self.assertEqual(rc, 0, line)

    def test_failure_fails_even_with_everything_optional(self):
        rc, line = self.suite(optional=",".join(mdktest.DEPENDENCIES), wrk=False, passes=False)
        self.assertEqual(rc, 1, line)
        self.assertIn("5 passed, 1 failed, 1 skipped", line)

    def test_skip_naming_no_dependency_is_never_allowed(self):
        rc, line = self.suite(optional=",".join(mdktest.DEPENDENCIES), plain_skip=True)
        self.assertEqual(rc, 1, line)
        self.assertIn("NOT ALLOWED: 1 naming no dependency", line)

    def test_unknown_optional_name_is_refused(self):
        rc, line = self.suite(optional="wkr")
        self.assertEqual(rc, 1, line)
        self.assertIn("MDK_TEST_OPTIONAL names wkr", line)

    def test_unknown_dependency_in_a_test_is_a_programming_error(self):
        with self.assertRaises(ValueError):
            mdktest.require("wkr", False)

    def test_dependencies_documented(self):
        """Every dependency a test may skip for is named in scripts/test.sh --help and in the README."""
        helptext = subprocess.run([os.path.join(ROOT, "scripts", "test.sh"), "--help"], capture_output=True,
                                  text=True, check=True, timeout=60).stdout
        with open(os.path.join(ROOT, "README.md")) as f:
            readme = f.read()
        for name in mdktest.DEPENDENCIES:
            self.assertIn(name, helptext)
            self.assertIn(name, readme)
        self.assertIn("--optional", helptext)
        self.assertIn("--optional", readme)


if __name__ == "__main__":
    mdktest.main()
