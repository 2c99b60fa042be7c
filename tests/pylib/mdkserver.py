"""Starting and stopping `mdk serve` for tests and benchmarks: on a free loopback port, stderr kept."""
import os
import signal
import subprocess
import time

import mdktest


class Server:
    def __init__(self, *args, env=None, scheme="http"):
        self.log = open(os.path.join(os.environ.get("TMPDIR", "/tmp"), f"mdk-serve-{os.getpid()}-{id(self)}.log"), "w+")
        self.proc = subprocess.Popen([mdktest.MDK, "serve", "--port", "0", *map(str, args)], stdout=subprocess.PIPE,
                                     stderr=self.log, text=True, env=env)
        line = self.proc.stdout.readline()
        if not line.strip().isdigit():
            self.proc.wait(timeout=30)
            raise RuntimeError(f"mdk serve did not start (exit {self.proc.returncode}): {self.stderr()}")
        self.port = int(line)
        self.url = f"{scheme}://127.0.0.1:{self.port}"

    def stderr(self):
        self.log.flush()
        self.log.seek(0)
        return self.log.read()

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, timeout=60):
        """SIGTERM, then the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        finally:
            self.proc.stdout.close()
            self.log.close()
            os.unlink(self.log.name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def pack_classifier(work, spec, out):
    """Packs torchvision's mobilenet_v2 with `spec` (an mdk.yaml naming model.onnx and cat.jpg) into `out`;
    returns the source folder, which holds the photo."""
    import cv2
    from skimage import data as skdata
    src = os.path.join(work, "src")
    os.makedirs(src)
    os.symlink(os.path.join(mdktest.MODELS, "torchvision", "mobilenet_v2.onnx"), os.path.join(src, "model.onnx"))
    cv2.imwrite(os.path.join(src, "cat.jpg"), cv2.cvtColor(skdata.chelsea(), cv2.COLOR_RGB2BGR))
    with open(os.path.join(src, "mdk.yaml"), "w") as f:
        f.write(spec)
    rc, _, err = mdktest.run("pack", os.path.join(src, "mdk.yaml"), "-o", out)
    if rc != 0:
        raise AssertionError(f"mdk pack: {err}")
    return src


def wait_for(predicate, timeout=30, step=0.05):
    end = time.time() + timeout
    while time.time() < end:
        if predicate():
            return True
        time.sleep(step)
    return False
