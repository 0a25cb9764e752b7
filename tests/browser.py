"""Drive a real headless Chromium through the DevTools protocol over a pipe: open a page, run JavaScript in it,
take screenshots. Standard library only; needs Debian's `chromium`.

Also a command that screenshots a Snakemake report after clicking through its menus, e.g.
    python tests/browser.py results/report.html shot.png Runs lsgan "view:samples and scores"
("view:LABEL" clicks the eye button of the result labelled LABEL)."""

import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# No network on these machines (and none wanted in tests): without the background-networking flags Chromium
# keeps opening connections that are refused.
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--remote-debugging-pipe",
]


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


class BrowserError(RuntimeError):
    pass


class Browser:
    """One page in a fresh profile. Messages are NUL-terminated JSON on the browser's fds 3 (in) and 4 (out)."""

    def __init__(self, width: int = 1400, height: int = 900, timeout: float = 30):
        executable = chromium_path()
        if executable is None:
            raise BrowserError("chromium not found (apt-get install chromium)")
        self.timeout = timeout
        self.profile = tempfile.mkdtemp(prefix="chromium-profile-")
        to_browser_read, self._to_browser = os.pipe()
        self._from_browser, from_browser_write = os.pipe()

        def put_pipes_on_3_and_4():
            # Duplicates first, so that neither dup2 can close the other pipe's end.
            read_end, write_end = os.dup(to_browser_read), os.dup(from_browser_write)
            os.dup2(read_end, 3)
            os.dup2(write_end, 4)

        self.process = subprocess.Popen(
            [executable, *FLAGS, f"--user-data-dir={self.profile}", f"--window-size={width},{height}", "about:blank"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            pass_fds=(3, 4),
            preexec_fn=put_pipes_on_3_and_4,
        )
        os.close(to_browser_read)
        os.close(from_browser_write)
        self._buffer = b""
        self._next_id = 0
        try:
            target = self.call("Target.createTarget", url="about:blank")["targetId"]
            self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
            self.call("Page.enable", session=True)
            self.call("Runtime.enable", session=True)
        except BaseException:
            self.close()
            raise

    def call(self, method: str, session: bool = False, **params):
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = self.session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        while True:
            reply = self._receive()
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise BrowserError(f"{method}: {reply['error']}")
                return reply["result"]

    def _receive(self) -> dict:
        deadline = time.monotonic() + self.timeout
        while b"\0" not in self._buffer:
            if time.monotonic() > deadline:
                raise BrowserError(f"no answer from chromium in {self.timeout} s")
            chunk = os.read(self._from_browser, 1 << 20)
            if not chunk:
                raise BrowserError(f"chromium exited (status {self.process.poll()})")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def open(self, url: str, settle_s: float = 1.0) -> None:
        self.call("Page.navigate", session=True, url=url)
        self.wait_for("document.readyState === 'complete'")
        time.sleep(settle_s)

    def evaluate(self, expression: str):
        result = self.call("Runtime.evaluate", session=True, expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise BrowserError(f"{expression!r} threw: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, condition: str, timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        while not self.evaluate(f"Boolean({condition})"):
            if time.monotonic() > deadline:
                raise BrowserError(f"timed out waiting for {condition}")
            time.sleep(0.1)

    def click(self, element: str, what: str) -> None:
        """Clicks the element the JavaScript expression `element` finds (null: raises, naming `what`)."""
        if not self.evaluate(f"(() => {{ const el = {element}; if (el) el.click(); return Boolean(el); }})()"):
            raise BrowserError(f"nothing to click: {what}")
        time.sleep(0.4)  # React re-renders after the click

    def click_text(self, text: str) -> None:
        """Clicks the first visible innermost element whose text is exactly `text`."""
        self.click(
            "[...document.querySelectorAll('body *')].find(el => el.childElementCount === 0 && el.offsetParent"
            f" && el.textContent.trim() === {json.dumps(text)})",
            f"no visible element reads {text!r}",
        )

    def view_result(self, label: str) -> None:
        """In a Snakemake report: clicks the eye button of the listed result with a label cell reading `label`."""
        row = (
            "[...document.querySelectorAll('tr')].find(tr => tr.offsetParent &&"
            f" [...tr.querySelectorAll('td')].some(td => td.textContent.trim() === {json.dumps(label)}))"
        )
        self.click(f"{row}?.querySelector('a[iconname=eye]')", f"no result labelled {label!r}")

    def screenshot(self, path: str | Path) -> None:
        data = self.call("Page.captureScreenshot", session=True, format="png")["data"]
        Path(path).write_bytes(base64.b64decode(data))

    def close(self) -> None:
        try:
            self.process.terminate()
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        finally:
            os.close(self._to_browser)
            os.close(self._from_browser)
            shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


if __name__ == "__main__":
    report, shot, *steps = sys.argv[1:]
    with Browser() as browser:
        browser.open(Path(report).resolve().as_uri())
        for step in steps:
            if step.startswith("view:"):
                browser.view_result(step.removeprefix("view:"))
            else:
                browser.click_text(step)
        browser.screenshot(shot)
