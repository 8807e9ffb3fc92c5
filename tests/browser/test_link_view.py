"""A copied link carries the view: the lens and the zoom (issue 11, "Links carry the view"), and an
older link without them opens on the whole zone in the first lens."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

pytestmark = pytest.mark.browser


def test_a_copied_link_reopens_with_its_lens_and_zoom(open_page: Callable[..., Any]) -> None:
    a = open_page("/", permissions=["clipboard-read", "clipboard-write"])
    a.page.select_option("#lens-select", "free")
    a.wait_for(lambda s: s.get("lens") == "free", what="the free lens")
    a.page.fill("#zoom-start", "65536")
    a.page.fill("#zoom-end", "131072")
    a.page.click("#zoom-form button[type=submit]")
    zoomed = a.wait_for(lambda s: s.get("firstPfn") == 65536, what="the zoom")
    a.page.click("#btn-copy")
    link = a.wait_for(lambda s: s.get("copiedLink"), what="copy link")["copiedLink"]
    assert link.endswith("?lens=free&from=65536&to=131072"), link
    b = open_page("/" + link.split("/", 3)[3])
    got = b.wait_for(lambda s: s.get("lens") == "free" and s.get("firstPfn") == 65536, what="the view")
    assert (got["unit"], got["rows"], got["cols"]) == (zoomed["unit"], zoomed["rows"], zoomed["cols"])
    assert got["cellsHash"] == zoomed["cellsHash"]
    # the same link without the view (an older link) opens whole, in the first lens
    c = open_page("/" + link.split("/", 3)[3].split("?")[0])
    st = c.wait_for(lambda s: s.get("renderedSeq"), what="the plain link")
    assert st["firstPfn"] == 0 and st["lens"] == "migratetype"
    for w in (a, b, c):
        assert not w.page_errors and not w.console_errors, (w.page_errors, w.console_errors)
