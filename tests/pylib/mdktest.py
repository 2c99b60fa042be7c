"""Shared helpers of mdk's Python-driven tests: where the binaries and cached models are, running mdk, and
the rule that a test skipped for a missing dependency fails its suite unless that dependency is optional."""
import collections
import os
import re
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

# Everything a test may skip for, and how to get it. A skip counts as a failure unless its dependency is named
# in MDK_TEST_OPTIONAL (comma-separated; scripts/test.sh --optional sets it): on a machine set up by
# scripts/setup.sh nothing is missing, so a skip there means a test that did not run.
DEPENDENCIES = {
    "models": "models not fetched (scripts/fetch-models.sh)",
    "wrk": "wrk not installed (scripts/deps.sh)",
    "chromium": "chromium not installed (scripts/deps.sh)",
}
OPTIONAL_ENV = "MDK_TEST_OPTIONAL"
_NEEDS = re.compile(r"^needs ([a-z0-9_-]+): ")


def run(*args, timeout=300):
    """Runs mdk with `args`; returns (exit code, stdout, stderr)."""
    p = subprocess.run([MDK, *map(str, args)], capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


SANITIZED = os.environ.get("MDK_SANITIZE") == "1"


def sanitizer_env(env):
    """`env` for a Python (or other uninstrumented) process that loads libmdk: in the sanitizer run libmdk is
    instrumented, and the process needs the sanitizer runtimes preloaded (leaks are the C tests' concern)."""
    if not SANITIZED:
        return env
    libs = [subprocess.run(["gcc", f"-print-file-name={lib}"], capture_output=True, text=True).stdout.strip()
            for lib in ("libasan.so", "libubsan.so")]
    return dict(env, LD_PRELOAD=" ".join(libs), ASAN_OPTIONS="detect_leaks=0:exitcode=86")


def node_model(name):
    return os.path.join(ONNX_NODE, name, "model.onnx")


def _reason(dependency):
    if dependency not in DEPENDENCIES:
        raise ValueError(f"unknown test dependency {dependency!r}: add it to mdktest.DEPENDENCIES")
    return f"needs {dependency}: {DEPENDENCIES[dependency]}"


def require(dependency, available):
    """Skips the calling test (or its whole class, from setUpClass) unless `available`; the skip names
    `dependency`, one of DEPENDENCIES, and fails the suite unless that dependency was declared optional."""
    if not available:
        raise unittest.SkipTest(_reason(dependency))


def skip_unless(dependency, available):
    """require() as a decorator of a test or a class."""
    return unittest.skipUnless(available, _reason(dependency))


def optional_dependencies():
    """The dependencies declared optional in MDK_TEST_OPTIONAL; raises ValueError on a name that is none."""
    names = {n.strip() for n in os.environ.get(OPTIONAL_ENV, "").split(",") if n.strip()}
    unknown = sorted(names - DEPENDENCIES.keys())
    if unknown:
        raise ValueError(f"{OPTIONAL_ENV} names {', '.join(unknown)}, which no test depends on; "
                         f"known: {', '.join(DEPENDENCIES)}")
    return names


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


def _skip_summary(skipped, optional):
    """The summary's note on skips, and whether all of them are allowed: a skip is allowed only when it names
    (through require or skip_unless) a dependency declared optional."""
    allowed, refused = collections.Counter(), collections.Counter()
    for _, reason in skipped:
        m = _NEEDS.match(reason)
        if m and m.group(1) in optional:
            allowed[m.group(1)] += 1
        else:
            refused[m.group(1) if m else "naming no dependency"] += 1

    def counts(c):
        return ", ".join(f"{n} {dep}" for dep, n in sorted(c.items()))
    notes = []
    if allowed:
        notes.append(f"allowed by {OPTIONAL_ENV}: {counts(allowed)}")
    if refused:
        deps = ",".join(sorted(d for d in refused if d in DEPENDENCIES))
        how = f"scripts/test.sh --optional {deps} allows them" if deps else "name the dependency with mdktest.require"
        notes.append(f"NOT ALLOWED: {counts(refused)}; {how}")
    return (f" ({'; '.join(notes)})" if notes else ""), not refused


def main():
    """Runs the calling module's tests and closes with the plain 'N passed, M failed, K skipped' line; exits 1
    on a failure or on a skip whose dependency is not declared optional in MDK_TEST_OPTIONAL."""
    try:
        optional = optional_dependencies()
    except ValueError as e:
        print(f"error: {e}")
        sys.exit(1)
    prog = unittest.main(exit=False, verbosity=2)
    r = prog.result
    failed = len(r.failures) + len(r.errors)
    skipped = len(r.skipped)
    # A test counts as passed when none of it failed or skipped; a class skipped or failed in setUpClass is
    # reported through a placeholder that is no TestCase and was never counted in testsRun.
    not_passed = {getattr(t, "test_case", t).id() for t, _ in r.failures + r.errors + r.skipped
                  if isinstance(getattr(t, "test_case", t), unittest.TestCase)}
    note, skips_allowed = _skip_summary(r.skipped, optional)
    print(f"{r.testsRun - len(not_passed)} passed, {failed} failed, {skipped} skipped{note}")
    sys.exit(0 if not failed and skips_allowed else 1)
