"""mdk serve's /docs in Debian's headless Chromium, driven over the DevTools protocol: Swagger UI loads from
the server itself (no other host is contacted), renders the served operations, and "Try it out" on the
readiness check and on an image upload to the model gets 200 and the classification from the server."""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

import websocket

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "pylib"))
import mdktest  # noqa: E402
from mdkserver import Server, pack_classifier  # noqa: E402

CHROMIUM = shutil.which("chromium")
SPEC = """name: mobilenet_v2
version: 2.0.0
model: model.onnx
preprocess:
  steps:
    - resize: {width: 224, height: 224}
    - scale: 1/255
  layout: NCHW
postprocess: {type: classification, top_k: 2}
test_cases: {images: [cat.jpg]}
"""


class Browser:
    """One headless Chromium page, commanded over the DevTools websocket."""

    def __init__(self, profile):
        self.proc = subprocess.Popen([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--remote-debugging-port=0",
                                      f"--user-data-dir={profile}", "--no-first-run", "--disable-background-networking",
                                      "--disable-component-update", "--disable-sync", "about:blank"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True)
        port = None
        for _ in range(200):
            line = self.proc.stderr.readline()
            m = re.search(r"DevTools listening on ws://127\.0\.0\.1:(\d+)/", line)
            if m:
                port = int(m.group(1))
                break
        if not port:
            os.killpg(self.proc.pid, signal.SIGKILL)
            raise RuntimeError("chromium did not start its DevTools endpoint")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=30) as r:
            page = [t for t in json.load(r) if t["type"] == "page"][0]
        # no Origin header: Chromium refuses DevTools connections from web origins it was not told to allow
        self.ws = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=60, suppress_origin=True)
        self.next_id = 0
        self.events = []

    def call(self, method, **params):
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == self.next_id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            self.events.append(msg)

    def js(self, expr):
        r = self.call("Runtime.evaluate", expression=expr, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in r:
            raise RuntimeError(f"{expr}: {r['exceptionDetails']}")
        return r["result"].get("value")

    def wait(self, expr, timeout=60):
        end = time.time() + timeout
        while time.time() < end:
            v = self.js(expr)
            if v:
                return v
            time.sleep(0.2)
        raise AssertionError(f"timed out waiting for {expr}")

    def close(self):
        self.ws.close()
        os.killpg(self.proc.pid, signal.SIGKILL)  # the browser and its renderer processes
        self.proc.wait()
        self.proc.stderr.close()


@mdktest.skip_unless("chromium", CHROMIUM)
class DocsInBrowser(mdktest.TestCase):
    def test_swagger_ui_renders_and_tries_requests(self):
        src = pack_classifier(self.tmp, SPEC, self.path("out"))
        with Server(self.path("out"), "--poll", "0", "--access-log", self.path("access.log")) as s, \
                tempfile.TemporaryDirectory(prefix="mdk-chromium-", ignore_cleanup_errors=True) as profile:
            b = Browser(profile)
            try:
                b.call("Network.enable")
                b.call("Page.navigate", url=s.url + "/docs")
                n = b.wait("document.querySelectorAll('.opblock').length")
                paths = b.js("[...document.querySelectorAll('.opblock-summary-path')].map(e => e.textContent)")
                self.assertGreaterEqual(n, 8)
                for p in ("/v2/health/ready", "/v2/models/mobilenet_v2/infer", "/v1/models/mobilenet_v2/predict", "/metrics"):
                    self.assertTrue(any(p in x for x in paths), (p, paths))
                self.assertIn("mdk serve", b.js("document.querySelector('.info .title').textContent"))
                # every request the page made went to the server itself
                urls = [e["params"]["request"]["url"] for e in b.events if e.get("method") == "Network.requestWillBeSent"]
                hosts = {u.split("/")[2] for u in urls if u.startswith(("http:", "https:", "ws:"))}
                self.assertEqual(hosts, {f"127.0.0.1:{s.port}"})
                for path in ("/v2/health/ready", "/v1/models/mobilenet_v2/predict"):
                    block = f"[...document.querySelectorAll('.opblock')].find(o => o.querySelector('.opblock-summary-path')" \
                            f".textContent.trim() == '{path}')"
                    b.js(f"{block}.querySelector('.opblock-summary-control').click()")
                    # the page enables "Try it out" for every operation; otherwise the button switches it on
                    b.wait(f"{block}.querySelector('.execute, .try-out__btn') !== null")
                    if not b.js(f"{block}.querySelector('.execute') !== null"):
                        b.js(f"{block}.querySelector('.try-out__btn').click()")
                        b.wait(f"{block}.querySelector('.execute') !== null")
                    if "predict" in path:  # choose the photo in the form's file field, as a person would
                        b.wait(f"{block}.querySelector('input[type=file]') !== null")
                        root = b.call("DOM.getDocument")["root"]["nodeId"]
                        node = b.call("DOM.querySelector", nodeId=root, selector="input[type=file]")["nodeId"]
                        b.call("DOM.setFileInputFiles", nodeId=node, files=[os.path.join(src, "cat.jpg")])
                    b.js(f"{block}.querySelector('.execute').click()")
                    status = b.wait(f"(() => {{ const c = {block}.querySelector('.live-responses-table tr.response .response-col_status');"
                                    f" return c ? c.textContent.trim() : ''; }})()", timeout=120)
                    self.assertEqual(status, "200", path)
                body = b.js(f"{block}.querySelector('.live-responses-table .response-col_description pre').textContent")
                self.assertEqual(json.loads(body)["task"], "classification")
            finally:
                b.close()
            with open(self.path("access.log")) as f:
                log = [json.loads(line) for line in f]
            self.assertTrue(any(e["endpoint"] == "predict" and e["status"] == 200 for e in log))


if __name__ == "__main__":
    mdktest.main()
