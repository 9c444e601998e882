"""SVG import budget: the worst files the limits accept (and some they refuse), measured.

Each case is generated into a temp folder and imported in a fresh process, which prints
its CPU time and peak RSS (whole process, interpreter included); the table compares
them with the budget stated in :mod:`clipdraw_core.io.svg_import`. CPU time, not wall
time, is the number to read on a shared machine.

    python benchmarks/bench_import_budget.py
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

BUDGET_CPU_S = 5.0
BUDGET_RSS_MB = 256.0
HEAD = '<svg xmlns="http://www.w3.org/2000/svg" width="1000" height="1000" viewBox="0 0 1000 1000">'
INKSCAPE_STYLE = (
    "fill:none;stroke:#000000;stroke-width:1.5;stroke-linecap:round;stroke-linejoin:round;"
    "stroke-miterlimit:4;stroke-dasharray:none;stroke-opacity:1;fill-opacity:1"
)


def _arcs(n: int) -> str:
    return " ".join(f"A 400 300 {i % 90} 1 {i % 2} {100 + i % 700} {100 + (i * 7) % 700}" for i in range(n))


CASES: dict[str, str] = {
    "56k arcs in one path (issue 15)": f'<path d="M 500 500 {_arcs(56_000)}" stroke="black" fill="none"/>',
    "19,990 arcs in one path": f'<path d="M 500 500 {_arcs(19_990)}" stroke="black" fill="none"/>',
    "19,990 one-arc paths": "".join(
        f'<path d="M {i % 1000} {i // 20} A 400 300 {i % 90} 1 1 {(i * 7) % 1000} {(i * 3) % 1000}" '
        'stroke="black" fill="none"/>'
        for i in range(19_990)
    ),
    "49k circles (issue 15)": "".join(
        f'<circle cx="{i % 1000}" cy="{(i // 1000) * 10}" r="{3 + i % 400}" stroke="black" fill="none"/>'
        for i in range(49_000)
    ),
    "400k path numbers (lines)": '<path d="M 0 0 '
    + " ".join(f"L {i % 1000} {(i * 7) % 1000}" for i in range(199_990))
    + '" stroke="black"/>',
    "22k Inkscape-style paths": "".join(
        f'<path style="{INKSCAPE_STYLE}" d="M {i % 1000} {i // 50} c 10 20 30 40 50 60 s 10 10 20 20 '
        'q 5 5 10 0 l 3 3"/>'
        for i in range(22_000)
    ),
    "250 KB <style>, no braces": "<style>" + "a" * 250_000 + "</style><path d='M0 0 L9 9' stroke='red'/>",
    "*{900 chars} x 2000 paths": "<style>*{" + ";".join(["stroke:black"] * 75) + "}</style>"
    + "".join(f'<path d="M {i % 1000} 0 L 10 10"/>' for i in range(2_000)),
    "*{13 KB} x 2000 paths (over)": "<style>*{" + ";".join(["stroke:black"] * 1000) + "}</style>"
    + "".join(f'<path d="M {i % 1000} 0 L 10 10"/>' for i in range(2_000)),
}

CHILD = """
import resource, sys, time
from clipdraw_core.errors import ClipDrawError
from clipdraw_core.io.svg_import import load_svg_strokes
start = time.process_time()
try:
    strokes = load_svg_strokes(sys.argv[1], 224, 224)
    result = f"{len(strokes)} strokes, {sum(s.num_segments for s in strokes)} segments"
except ClipDrawError as exc:
    result = "refused: " + str(exc).split(": ", 1)[-1][:48]
cpu = time.process_time() - start
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(f"{cpu:.2f}\\t{rss:.0f}\\t{result}")
"""


def main() -> int:
    print(f"budget: {BUDGET_CPU_S:.0f} s CPU, {BUDGET_RSS_MB:.0f} MB peak RSS per accepted file")
    print(f"{'case':34} {'CPU s':>6} {'RSS MB':>7}  result")
    over = 0
    with tempfile.TemporaryDirectory() as folder:
        for name, body in CASES.items():
            path = Path(folder) / "case.svg"
            path.write_text(HEAD + body + "</svg>")
            out = subprocess.run([sys.executable, "-c", CHILD, str(path)], capture_output=True, text=True)
            if out.returncode != 0:
                print(f"{name:34} failed: {out.stderr.strip().splitlines()[-1:]}")
                over += 1
                continue
            cpu, rss, result = out.stdout.strip().split("\t")
            flag = " OVER BUDGET" if float(cpu) > BUDGET_CPU_S or float(rss) > BUDGET_RSS_MB else ""
            over += bool(flag)
            print(f"{name:34} {float(cpu):6.2f} {float(rss):7.0f}  {result}{flag}")
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
