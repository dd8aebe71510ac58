"""Screenshots of the search page in its six interface languages, at desktop width and at 390 px (a phone), and of
the document view, for docs/screenshots/ and the README.

    .venv/bin/python scripts/screenshots.py [--index DIR] [--out docs/screenshots]

Indexes the built-in sample (corpus/) into a temporary directory unless --index names one, serves it with
``parasearch serve`` on a loopback port, and drives Debian's chromium (headless, through playwright) over it:
the same question in each interface language (``?ui=ar`` ... ``?ui=es``), once the results and the answer are
shown. Needs /usr/bin/chromium (``apt-get install chromium``); nothing is fetched from the network.
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
LANGUAGES = ("ar", "zh", "en", "fr", "ru", "es")  # the UN's order
SIZES = {"desktop": (1280, 860), "phone": (390, 844)}
QUESTION = "How should child witnesses give testimony?"
DOCUMENT = "/documents/CTOC/COP/WG.2/2013/5#para-9"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def parasearch(*args: str) -> list[str]:
    return [str(Path(sys.executable).parent / "parasearch"), *args]


def serve(index: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen(parasearch("serve", "--index", str(index), "--host", "127.0.0.1", "--port", str(port)),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 180
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"parasearch serve exited with status {proc.returncode}")
        try:
            if httpx.get(url + "/health", timeout=2).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    proc.terminate()
    raise SystemExit("parasearch serve did not answer /health within 180 s")


def shoot(url: str, out: Path) -> list[Path]:
    from playwright.sync_api import expect, sync_playwright

    written: list[Path] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--headless", "--no-sandbox"])
        for ui in LANGUAGES:
            for size, (width, height) in SIZES.items():
                context = browser.new_context(viewport={"width": width, "height": height}, locale=ui,
                                              device_scale_factor=1)
                page = context.new_page()
                page.goto(f"{url}/?q={QUESTION.replace(' ', '+')}&ui={ui}")
                expect(page.locator("#results li.result").first).to_be_visible(timeout=60_000)
                expect(page.locator("#answer")).not_to_have_attribute("aria-busy", "true", timeout=60_000)
                page.wait_for_timeout(300)  # the last layout settled
                path = out / f"search-{ui}-{size}.png"
                page.screenshot(path=str(path))
                written.append(path)
                context.close()
        context = browser.new_context(viewport=dict(zip(("width", "height"), SIZES["desktop"], strict=True)))
        page = context.new_page()
        page.goto(url + DOCUMENT)
        expect(page.locator("#para-9")).to_be_visible()
        page.wait_for_timeout(300)
        path = out / "document-en-desktop.png"
        page.screenshot(path=str(path))
        written.append(path)
        context.close()
        browser.close()
    return written


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--index", type=Path, help="an index to serve (default: the sample, indexed afresh)")
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = ap.parse_args(argv)
    if not CHROMIUM.exists():
        print(f"needs Debian's chromium at {CHROMIUM} (apt-get install chromium)", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="parasearch-shots-") as tmp:
        index = args.index
        if index is None:
            index = Path(tmp) / "index"
            subprocess.run(parasearch("index", str(ROOT / "corpus"), "--index", str(index)), check=True)
        proc, url = serve(index)
        try:
            for path in shoot(url, args.out):
                print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
