"""The HTML compile report: self-contained, the per-layer table and both pictures; it opens in a
headless browser without console errors (when chromium is installed) and renders non-blank."""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
import zlib
from html.parser import HTMLParser
from pathlib import Path

import pytest
from onnx_graphs import EXAMPLES, require_examples

from dory_xdsl.drivers import cli

MODEL = EXAMPLES / "Nemo" / "Residual_connection_test_1" / "model_int.onnx"


class Page(HTMLParser):
    """Tags, attributes and the structure the checks need."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.stack: list[str] = []
        self.svgs: list[list[dict]] = []  # the rects of each svg
        self.tables: list[int] = []  # body rows of each table

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        self.tags.append((tag, attributes))
        if tag == "svg":
            self.svgs.append([])
        elif tag == "rect" and self.svgs:
            self.svgs[-1].append(attributes)
        elif tag == "table":
            self.tables.append(0)
        elif tag == "tr" and "tbody" in self.stack:
            self.tables[-1] += 1
        if tag not in ("rect", "line", "meta", "br"):
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if tag in self.stack:
            while self.stack.pop() != tag:
                pass


@pytest.fixture(scope="module")
def compiled(tmp_path_factory) -> tuple[Path, dict]:
    require_examples()
    folder = tmp_path_factory.mktemp("html")
    assert cli.main(["compile", str(MODEL), "-o", str(folder / "app"), "--report", str(folder / "r.json"),
                     "--drop-float-tail"]) == 0
    assert (folder / "r.html").is_file()  # written beside the JSON
    return folder / "r.html", json.loads((folder / "r.json").read_text())


def test_the_page_is_self_contained_with_the_table_and_both_pictures(compiled):
    html_path, data = compiled
    text = html_path.read_text()
    page = Page()
    page.feed(text)
    tags = [tag for tag, _ in page.tags]
    assert "script" not in tags and "link" not in tags and "img" not in tags and "iframe" not in tags
    for _, attributes in page.tags:  # nothing to fetch: the only URL is the SVG namespace
        for key, value in attributes.items():
            assert key != "src" and not (key == "href" and value), (key, value)
            if key != "xmlns":
                assert "//" not in (value or ""), (key, value)
    layers = data["layers"]
    assert page.tables[0] == len(layers)  # the per-layer table
    plan_svg, *l1_svgs = page.svgs
    buffers = data["l2_plan"]["buffers"]
    assert buffers and len(plan_svg) == 1 + len(buffers)  # the frame + one box per L2 buffer
    assert len(l1_svgs) == len(layers)
    for svg, layer in zip(l1_svgs, layers):
        copies = sum(len(b["offsets"]) for b in layer["l1_buffers"])
        assert copies and len(svg) == 1 + copies
    for layer in layers:
        assert layer["name"] in text and f"{layer['cycles']:,}" in text and f"{layer['macs']:,}" in text
    assert "yes" in text and str(data["l2_plan"]["peak"]) in text.replace(",", "")


def _png_pixels(path: Path) -> bytes:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    chunks, at = [], 8
    while at < len(data):
        length, kind = struct.unpack(">I4s", data[at:at + 8])
        if kind == b"IDAT":
            chunks.append(data[at + 8:at + 8 + length])
        at += 12 + length
    return zlib.decompress(b"".join(chunks))


def _chromium(html: Path, png: Path) -> str:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("chromium is not installed (apt-get install chromium): the structure test still runs")
    proc = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr",
                           "--v=0", "--window-size=1400,1600", f"--screenshot={png}", html.resolve().as_uri()],
                          capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stderr


def test_chromium_renders_it_without_console_errors(compiled, tmp_path):
    html_path, _ = compiled
    # the check itself can fail: a page with a console error and a missing resource is caught
    broken = tmp_path / "broken.html"
    broken.write_text('<!DOCTYPE html><html><body><img src="missing.png"><script>console.error("boom")</script>'
                      "</body></html>")
    assert ":CONSOLE" in _chromium(broken, tmp_path / "broken.png")
    log = _chromium(html_path, tmp_path / "report.png")
    assert [line for line in log.splitlines() if ":CONSOLE" in line] == []
    pixels = _png_pixels(tmp_path / "report.png")
    assert len(set(pixels)) > 16  # not a blank page
