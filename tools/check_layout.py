"""Measure the built book's layout in headless Chromium, page by page.

    python tools/check_layout.py [--build DIR] [--chromium PATH] [--json OUT]

For every HTML page of the book in DIR (default ``_build/html``; build it first with
``make book``) the script loads a copy of the page, with a measuring script added, in headless
Chromium at two window widths, and prints what it finds:

* at 1280 px: every code cell, cell output, table and display equation whose content is wider
  than the content column (it then scrolls sideways or runs past the column);
* at 390 px (a phone): every display equation whose content is wider than the space it is given,
  and whether its box scrolls sideways or cuts it off;
* at 1280 px: every figure (a PNG in a cell output) with its natural and displayed width and the
  size at which its smallest text appears on the page, in CSS pixels. A PNG does not say its font
  sizes, so the script reads them from the chapter's notebook: the smallest of its ``rcParams``
  sizes (matplotlib's default 10 pt if it sets none), its numeric ``fontsize=`` arguments and,
  where it draws cell diagrams, book/diagrams.py's sizes; a figure saved at 100 dpi shows 10 pt
  as 13.9 px at full size. Text smaller than the body text (printed for comparison) is hard to
  read. A figure wider than the column is shrunk to fit it, and all its text with it: the script
  counts those too.

It needs only Chromium (Debian: ``apt-get install chromium``): it runs
``chromium --headless --dump-dom`` and reads the results that the added script writes into the
page. The exit status is 0; the numbers are the result. It is not part of ``make test``.
"""
import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

MEASURE = r"""
<script>
(function () {
  function px(v) { return Math.round(v); }
  function report() {
    var out = {};
    var col = document.querySelector("article.bd-article") || document.querySelector("main");
    var colBox = col.getBoundingClientRect();
    out.column = px(col.clientWidth);
    out.viewport = window.innerWidth;
    out.body_font = parseFloat(getComputedStyle(document.querySelector("article p") ||
                                                document.body).fontSize);
    var wide = [];
    function check(kind, el, inner) {
      var w = inner ? inner.getBoundingClientRect().width : el.scrollWidth;
      var avail = Math.min(el.clientWidth || colBox.width, colBox.width);
      if (w > avail + 1) {
        var text = (el.innerText || "").trim().split("\n")[0].slice(0, 70);
        var ox = getComputedStyle(el).overflowX;
        wide.push({kind: kind, width: px(w), avail: px(avail), text: text,
                   scrolls: ox === "auto" || ox === "scroll"});
      }
    }
    document.querySelectorAll("div.cell_input pre, div.highlight pre").forEach(function (el) {
      if (!el.closest("div.cell_output")) check("code", el);
    });
    document.querySelectorAll("div.cell_output pre").forEach(function (el) { check("output", el); });
    document.querySelectorAll("article table").forEach(function (el) {
      check("table", el.closest("div.pst-scrollable-table-container") || el.parentElement, el);
    });
    document.querySelectorAll("mjx-container[display='true']").forEach(function (el) {
      check("equation", el, el.querySelector("mjx-math"));
    });
    out.wide = wide;
    var figs = [];
    document.querySelectorAll("div.cell_output img").forEach(function (img) {
      if (!img.naturalWidth) return;
      var shown = img.getBoundingClientRect().width;
      figs.push({natural: img.naturalWidth, shown: px(shown),
                 default_font_px: Math.round(13.9 * shown / img.naturalWidth * 10) / 10});
    });
    out.figures = figs;
    if (window.parent !== window) {             // measured inside the 390 px frame
      window.parent.postMessage(JSON.stringify(out), "*");
    } else {
      var pre = document.createElement("pre");
      pre.id = "layout-report";
      pre.textContent = JSON.stringify(out);
      document.body.appendChild(pre);
    }
  }
  window.addEventListener("load", function () {
    var done = function () { setTimeout(report, 50); };
    if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
      MathJax.startup.promise.then(done, done);
    } else { done(); }
  });
})();
</script>
"""

SKIP = {"genindex.html", "search.html"}

# Headless Chromium does not make a window narrower than about 500 px, so the phone width is
# measured in a 390 px frame inside a wider page; the page in the frame sends its report out.
FRAME = """<!DOCTYPE html><html><body style="margin:0">
<iframe src="{src}" width="{width}" height="900" style="border:0"></iframe>
<script>
window.addEventListener("message", function (e) {{
  var pre = document.createElement("pre");
  pre.id = "layout-report";
  pre.textContent = e.data;
  document.body.appendChild(pre);
}});
</script></body></html>"""


def measure(chromium, page, width):
    """Load ``page`` (a copy with MEASURE added) at ``width`` px and return its report."""
    if width < 800:
        frame = page.with_name(page.stem + f"__frame{width}.html")
        frame.write_text(FRAME.format(src=page.name, width=width), encoding="utf-8")
        page, width = frame, 1280
    cmd = [chromium, "--headless", "--no-sandbox", "--disable-gpu",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           "--no-first-run", "--allow-file-access-from-files", "--hide-scrollbars",
           f"--window-size={width},900", "--virtual-time-budget=15000", "--dump-dom",
           page.as_uri()]
    dom = subprocess.run(cmd, capture_output=True, text=True, timeout=120).stdout
    m = re.search(r'<pre id="layout-report">(.*?)</pre>', dom, re.S)
    if not m:
        return None
    text = m.group(1).replace("&quot;", '"').replace("&lt;", "<").replace("&gt;", ">")
    return json.loads(text.replace("&amp;", "&"))


def smallest_points(page: Path, build: Path) -> float:
    """The smallest text size, in points, that the page's notebook asks matplotlib for: its
    ``rcParams`` sizes (matplotlib's default 10 pt where it sets none), every numeric
    ``fontsize=``, and book/diagrams.py's smallest size where the chapter draws a diagram."""
    source = ROOT / page.relative_to(build).with_suffix(".ipynb")
    if not source.exists():
        return 10.0
    code = "\n".join("".join(c["source"]) for c in json.loads(source.read_text())["cells"]
                     if c["cell_type"] == "code")
    sizes = [float(v) for v in re.findall(r'"(?:font\.size|[a-z]+\.(?:label|title)?(?:font)?size)": ([0-9.]+)', code)]
    sizes = sizes or [10.0]
    sizes += [float(v) for v in re.findall(r"fontsize=([0-9.]+)", code)]
    if "from diagrams import" in code:
        diagrams = (ROOT / "book" / "diagrams.py").read_text()
        sizes += [float(v) for v in re.findall(r"^(?:FONT|SMALL) = ([0-9.]+)", diagrams, re.M)]
    return min(sizes)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default="_build/html")
    ap.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    ap.add_argument("--json", help="also write every page's measurements to this file")
    ap.add_argument("pages", nargs="*", help="only these pages (e.g. book/ch06_experiments1997)")
    args = ap.parse_args()
    build = Path(args.build).resolve()
    if not (build / "index.html").exists():
        sys.exit(f"{build}/index.html not found: build the book first (make book)")
    pages = sorted(p for p in build.rglob("*.html")
                   if p.name not in SKIP and "_static" not in p.parts and "_sources" not in p.parts)
    if args.pages:
        pages = [p for p in pages if any(str(p.relative_to(build)).startswith(s) for s in args.pages)]
    results = {}
    totals = {"wide_1280": 0, "equations_wide_390": 0, "equations_cut_390": 0, "small_figures": 0,
              "shrunk_figures": 0, "figures": 0}
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "html"
        shutil.copytree(build, copy)
        for page in pages:
            rel = page.relative_to(build)
            target = copy / rel
            html = target.read_text(encoding="utf-8")
            target.write_text(html.replace("</body>", MEASURE + "</body>"), encoding="utf-8")
            wide, narrow = (next((r for r in (measure(args.chromium, target, width)
                                              for _ in range(3)) if r), None)
                            for width in (1280, 390))   # a loaded machine can miss; retry
            results[str(rel)] = {"1280": wide, "390": narrow}
            if wide is None or narrow is None:
                print(f"{rel}: no measurement (the page did not finish loading)")
                continue
            eqs = [w for w in narrow["wide"] if w["kind"] == "equation"]
            cut = [w for w in eqs if not w["scrolls"]]
            points = smallest_points(page, build)
            for f in wide["figures"]:                   # 13.9 px is 10 pt at 100 dpi, full size
                f["smallest_font_px"] = round(f["default_font_px"] * points / 10, 1)
            small = [f for f in wide["figures"] if f["smallest_font_px"] < wide["body_font"]]
            totals["wide_1280"] += len(wide["wide"])
            totals["equations_cut_390"] += len(cut)
            totals["equations_wide_390"] += len(eqs)
            totals["small_figures"] += len(small)
            totals["figures"] += len(wide["figures"])
            totals["shrunk_figures"] += sum(f["shown"] < 0.95 * f["natural"] for f in wide["figures"])
            print(f"{rel}: column {wide['column']} px at 1280; {len(wide['wide'])} too wide; "
                  f"at 390 {len(eqs)} equations too wide, {len(cut)} of them cut off; {len(wide['figures'])} figures, "
                  f"{len(small)} with text below the body's {wide['body_font']:g} px "
                  f"(smallest size asked for: {points:g} pt)")
            for w in wide["wide"]:
                print(f"    1280 {w['kind']:8s} {w['width']:5d} > {w['avail']:4d} px  {w['text']}")
            for w in eqs:
                how = "scrolls" if w["scrolls"] else "CUT OFF"
                print(f"     390 {w['kind']:8s} {w['width']:5d} > {w['avail']:4d} px  {how}")
            for f in wide["figures"]:
                flag = "  small" if f in small else ""
                print(f"    figure {f['natural']:5d} px shown at {f['shown']:4d} px: {points:g} pt "
                      f"text is {f['smallest_font_px']:4.1f} px{flag}")
    print(f"\ntotal: {totals['wide_1280']} elements wider than the column at 1280 px, "
          f"{totals['equations_wide_390']} display equations wider than the column at 390 px "
          f"({totals['equations_cut_390']} of them cut off, the others scroll sideways), "
          f"{totals['small_figures']} of {totals['figures']} figures whose smallest text would be "
          f"below the body text size, {totals['shrunk_figures']} figures shrunk by more than 5% to fit the column")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
