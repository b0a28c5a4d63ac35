"""The JS and CSS every page loads stay within 150 KB gzipped, and come from Kore itself."""

import gzip
import re
from pathlib import Path

from django.contrib.staticfiles import finders
from django.template.loader import get_template

BUDGET = 150 * 1024


def test_base_template_assets_fit_the_budget() -> None:
    source = Path(get_template("web/base.html").origin.name).read_text(encoding="utf-8")
    names = re.findall(r"{% static '([^']+)' %}", source)
    assert {"web/app.css", "web/app.js", "web/vendor/htmx.min.js"} <= set(names)
    assert "http://" not in source
    assert "https://" not in source  # no CDN
    total = 0
    for name in names:
        found = finders.find(name)
        assert isinstance(found, str), name
        total += len(gzip.compress(Path(found).read_bytes(), compresslevel=9))
    assert total <= BUDGET, total


def test_htmx_is_vendored_with_its_licence() -> None:
    htmx = finders.find("web/vendor/htmx.min.js")
    assert isinstance(htmx, str)
    assert "htmx" in Path(htmx).read_text(encoding="utf-8")[:2000]
    licence = finders.find("web/vendor/htmx.LICENSE.txt")
    assert isinstance(licence, str)
    assert "Zero-Clause BSD" in Path(licence).read_text(encoding="utf-8")
