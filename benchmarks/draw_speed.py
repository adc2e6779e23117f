"""How fast `convcalc draw` and `convcalc report` write their files, as whole processes, and how
long the HTML page takes to lay itself out in a browser.

    python benchmarks/draw_speed.py [--runs 20] [--browser]

Prints the median, interquartile range and minimum of whole-process runs (the commands of a
group round-robin, as benchmarks/shapes_speed.py does):
  - `python -c pass` (the floor),
  - `convcalc draw specs/resnet50.yaml -o x.html`, `.dot`, `.mmd` and `.svg` (SVG runs grandalf's
    layout in Python; the others write text and leave the layout to the page, Graphviz or Mermaid),
  - `convcalc report specs/resnet50.yaml -o x.html`,
  - a generated 1,000-layer chain drawn as HTML and as SVG.
With --browser (needs chromium and playwright), also the page's own layout time, as its status
line reports it, for ResNet-50, Inception v3 (all expanded) and the 1,000-layer chain.
Target (issue 17): `convcalc draw specs/resnet50.yaml -o x.html` under 300 ms, without torch.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from shapes_speed import command, stats, timed  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def chain(layers: int) -> str:
    kinds = ["  - conv: {out: 8, k: 3, p: 1, bias: false}\n", "  - bn\n", "  - relu\n"]
    return f"name: chain{layers}\ninput: [8, 32, 32]\nlayers:\n" + "".join(kinds[i % 3] for i in range(layers))


def browser_layout(paths: dict[str, Path]) -> None:
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        for label, path in paths.items():
            page = b.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(path.as_uri())
            page.wait_for_function("window.convcalcGraphs && window.convcalcGraphs.length > 0", timeout=120_000)
            first = page.inner_text(".status")
            page.click("button[data-action=expand-all]")
            expanded = page.inner_text(".status")
            print(f"  {label:<28} opening: {first}; expand all: {expanded}")
            page.close()
        b.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--browser", action="store_true")
    args = parser.parse_args()
    cc = command()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        long = out / "chain1000.yaml"
        long.write_text(chain(1000))
        resnet = str(ROOT / "specs" / "resnet50.yaml")
        cmds = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "draw resnet50 -o x.html": cc + ["draw", resnet, "-o", str(out / "x.html")],
            "draw resnet50 -o x.dot": cc + ["draw", resnet, "-o", str(out / "x.dot")],
            "draw resnet50 -o x.mmd": cc + ["draw", resnet, "-o", str(out / "x.mmd")],
            "draw resnet50 -o x.svg": cc + ["draw", resnet, "-o", str(out / "x.svg")],
            "report resnet50 -o r.html": cc + ["report", resnet, "-o", str(out / "r.html")],
            "draw chain1000 -o x.html": cc + ["draw", str(long), "-o", str(out / "c.html")],
            "draw chain1000 -o x.svg": cc + ["draw", str(long), "-o", str(out / "c.svg")],
        }
        print(f"{len(cmds)} commands x {args.runs} runs, ms: median [q1-q3] (min); {' '.join(cc)}")
        for label, times in timed(cmds, args.runs).items():
            median, q1, q3, low = stats(times)
            print(f"  {label:<28} {median:7.1f} [{q1:.1f}-{q3:.1f}] ({low:.1f})")
        if args.browser:
            print("layout in the page (chromium, as the page's status line says):")
            import subprocess

            inception = out / "inception.html"
            subprocess.run(cc + ["draw", str(ROOT / "specs" / "inception_v3.yaml"), "-o", str(inception)],
                           check=True, capture_output=True)
            browser_layout({"resnet50": out / "x.html", "inception_v3": inception, "chain1000": out / "c.html"})


if __name__ == "__main__":
    main()
