"""The compile report as one self-contained HTML page (`dory compile --report r.html`).

`report_html(data)` renders the report's JSON (`NetworkReport.to_json()`, the same figures
`--report r.json` writes) into a page that needs nothing else to display: inline CSS, inline
SVG, no script, no external resource. It shows

- the totals and the compile time per stage;
- the per-layer table: tile sizes and counts, L1 / L2 / L3 bytes, DMA bytes and commands per
  direction, MACs, modelled cycles, whether the tiling was proved optimal, solve time;
- the L2 memory plan: every buffer of the plan as a box, program steps (layer calls marked
  with their layer number) on the x axis, L2 address on the y axis, the peak and the budget as
  horizontal lines;
- each layer's L1 tile: its L1 buffers (each copy) at their offsets within the L1 budget.

Every text from the model (layer and buffer names) is escaped.
"""

from __future__ import annotations

from html import escape

PLAN_W, PLAN_H, MARGIN = 1100, 420, 56
L1_W, L1_H = 640, 26
COLOURS = {"network input": "#6baed6", "network output": "#fd8d3c", "parameters": "#74c476",
           "activation / staging": "#9e9ac8", "other": "#bdbdbd"}
L1_COLOURS = {"in": "#6baed6", "in2": "#9ecae1", "out": "#fd8d3c", "weights": "#74c476", "bias": "#a1d99b",
              "k": "#c7e9c0", "lambda": "#e5f5e0", "im2col": "#bcbddc", "bufferB": "#bcbddc", "bufferC": "#dadaeb"}

CSS = """
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #222; }
h1 { font-size: 1.4em; } h2 { font-size: 1.15em; margin-top: 1.6em; }
table { border-collapse: collapse; font-size: 0.82em; }
th, td { border: 1px solid #ccc; padding: 2px 6px; text-align: right; white-space: nowrap; }
th { background: #f0f0f0; position: sticky; top: 0; }
td.name, th.name { text-align: left; }
td.no { color: #b00; font-weight: bold; }
.summary { font-size: 0.9em; line-height: 1.5; }
.legend span { display: inline-block; padding: 0 8px; margin-right: 6px; font-size: 0.8em; }
svg text { font-family: system-ui, sans-serif; }
.l1 td { vertical-align: middle; }
"""


def buffer_kind(name: str) -> str:
    """Colour class of an L2 plan buffer, from the name the C printer gives it (`input<i>`,
    `output<i>`, `buf<n>` for allocations, `par<n>` for parameters copied from L3)."""
    for prefix, kind in (("input", "network input"), ("output", "network output"), ("par", "parameters"),
                         ("buf", "activation / staging")):
        if name.startswith(prefix):
            return kind
    return "other"


def _n(value: int | float) -> str:
    return f"{value:,}"


def summary_html(data: dict) -> str:
    t, plan = data["totals"], data["l2_plan"]
    stages = data.get("stage_seconds", {})
    lines = [
        f"{t['layers']} layers, {t['tiles']} tiles ({t['multi_tile_layers']} layers with more than one); "
        f"{t['proved_layers']}/{t['layers']} tilings proved optimal, solve {t['solve_seconds']:.3f} s",
        f"L1: at most {_n(t['l1_bytes_max'])} B per layer; L2 plan: peak {_n(plan['peak'])} B, liveness lower bound "
        f"{_n(plan['lower_bound'])} B ({plan['ratio']:.3f}x), budget {_n(plan['budget'])} B ({escape(plan['method'])})",
        f"DMA L2&rarr;L1 {_n(t['l2_to_l1_bytes'])} B / {_n(t['l2_to_l1_commands'])} commands, L1&rarr;L2 "
        f"{_n(t['l1_to_l2_bytes'])} B / {_n(t['l1_to_l2_commands'])} commands; L3&rarr;L2 {_n(t['l3_to_l2_bytes'])} B / "
        f"{_n(t['l3_to_l2_reads'])} reads, L2&rarr;L3 {_n(t['l2_to_l3_bytes'])} B; L3 image {_n(t['l3_image_bytes'])} B",
        f"{_n(t.get('macs', 0))} MACs, {_n(t['cycles'])} modelled cycles",
    ]
    if stages:
        lines.append("compile time: " + ", ".join(f"{escape(k)} {v:.3f} s" for k, v in stages.items())
                     + f" (total {sum(stages.values()):.3f} s)")
    return '<div class="summary">' + "<br>".join(lines) + "</div>"


COLUMNS = ("#", "layer", "kind", "kernel", "tile h,w,c", "tiles", "L1 B", "L1 budget", "L2 own B", "L2 live B",
           "L3&rarr;L2 B", "reads", "L2&rarr;L3 B", "L2&rarr;L1 B", "cmds", "L1&rarr;L2 B", "cmds", "MACs",
           "cycles", "optimal", "solve ms")


def table_html(data: dict) -> str:
    head = "".join(f'<th class="name">{c}</th>' if c in ("layer", "kind", "kernel") else f"<th>{c}</th>"
                   for c in COLUMNS)
    rows = []
    for x in data["layers"]:
        d = x["dma"]
        cells = [x["index"], ("name", x["name"]), ("name", x["kind"]), ("name", x["kernel"]),
                 ",".join(map(str, x["tile"])), x["tiles"], x["l1_bytes"], x["l1_budget"], x["l2_bytes"],
                 x["l2_live"], x["l3_bytes"], x["l3_reads"], x["l3_write_bytes"], d["l2_to_l1_bytes"],
                 d["l2_to_l1_commands"], d["l1_to_l2_bytes"], d["l1_to_l2_commands"], x.get("macs", 0), x["cycles"],
                 ("yes" if x["proved"] else ("no", "no")), f"{1000 * x['solve_seconds']:.1f}"]
        tds = []
        for cell in cells:
            if isinstance(cell, tuple):
                tds.append(f'<td class="{cell[0]}">{escape(str(cell[1]))}</td>')
            elif isinstance(cell, int):
                tds.append(f"<td>{_n(cell)}</td>")
            else:
                tds.append(f"<td>{escape(cell)}</td>")
        rows.append("<tr>" + "".join(tds) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def l2_plan_svg(data: dict) -> str:
    """Buffers as boxes: program step on x, L2 address on y (0 at the bottom)."""
    plan = data["l2_plan"]
    buffers, points = plan.get("buffers", []), plan.get("points", [])
    steps = max(len(points), max((b["last"] + 1 for b in buffers), default=1), 1)
    top = max(plan["budget"], plan["peak"], 1)
    w, h = PLAN_W - 2 * MARGIN, PLAN_H - 2 * MARGIN
    x = lambda step: MARGIN + w * step / steps  # noqa: E731
    y = lambda address: PLAN_H - MARGIN - h * address / top  # noqa: E731
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{PLAN_W}" height="{PLAN_H}" '
             f'viewBox="0 0 {PLAN_W} {PLAN_H}" role="img" aria-label="L2 memory plan">',
             f'<rect x="{MARGIN}" y="{MARGIN}" width="{w}" height="{h}" fill="#fafafa" stroke="#999"/>']
    for b in buffers:
        x0, x1 = x(b["first"]), x(b["last"] + 1)
        y0, y1 = y(b["offset"] + b["size"]), y(b["offset"])
        label = (f'{b["name"]}: {b["size"]:,} B at {b["offset"]:,}, steps {b["first"]}-{b["last"]}')
        parts.append(f'<rect x="{x0:.1f}" y="{y0:.1f}" width="{max(x1 - x0, 0.5):.1f}" height="{max(y1 - y0, 0.5):.1f}" '
                     f'fill="{COLOURS[buffer_kind(b["name"])]}" stroke="#444" stroke-width="0.4">'
                     f"<title>{escape(label)}</title></rect>")
    for value, colour, what in ((plan["peak"], "#d62728", "peak"), (plan["budget"], "#222", "budget")):
        parts.append(f'<line x1="{MARGIN}" x2="{MARGIN + w}" y1="{y(value):.1f}" y2="{y(value):.1f}" stroke="{colour}" '
                     f'stroke-dasharray="5,3"/><text x="{MARGIN + w + 4}" y="{y(value) + 4:.1f}" font-size="11" '
                     f'fill="{colour}">{what}</text>')
    for layer in data["layers"]:
        step = layer.get("l2_step")
        if step is None:
            continue
        cx = (x(step) + x(step + 1)) / 2
        parts.append(f'<text x="{cx:.1f}" y="{PLAN_H - MARGIN + 14}" font-size="10" text-anchor="middle">'
                     f'{layer["index"]}<title>{escape(layer["name"])}</title></text>')
    for k in range(5):
        address = top * k // 4
        parts.append(f'<text x="{MARGIN - 4}" y="{y(address) + 4:.1f}" font-size="10" text-anchor="end">'
                     f"{address // 1000:,} kB</text>")
    parts.append(f'<text x="{MARGIN + w / 2}" y="{PLAN_H - 12}" font-size="12" text-anchor="middle">'
                 "program step (layer calls numbered)</text>")
    parts.append(f'<text x="14" y="{MARGIN + h / 2}" font-size="12" text-anchor="middle" '
                 f'transform="rotate(-90 14 {MARGIN + h / 2})">L2 address</text>')
    parts.append("</svg>")
    legend = "".join(f'<span style="background:{c}">{k}</span>' for k, c in COLOURS.items())
    return "".join(parts) + f'<div class="legend">{legend}</div>'


def l1_tile_svg(layer: dict) -> str:
    """One layer's L1 buffers (every copy) at their offsets, the budget as the full width."""
    budget = max(layer["l1_budget"], 1)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{L1_W}" height="{L1_H}" '
             f'viewBox="0 0 {L1_W} {L1_H}" role="img" aria-label="L1 tile of layer {layer["index"]}">',
             f'<rect x="0" y="0" width="{L1_W}" height="{L1_H}" fill="#f4f4f4" stroke="#999"/>']
    for buffer in layer.get("l1_buffers", []):
        for copy, offset in enumerate(buffer["offsets"]):
            x0, width = L1_W * offset / budget, max(L1_W * buffer["size"] / budget, 0.5)
            label = f'{buffer["name"]} copy {copy}: {buffer["size"]:,} B at {offset:,}'
            parts.append(f'<rect x="{x0:.1f}" y="1" width="{width:.1f}" height="{L1_H - 2}" '
                         f'fill="{L1_COLOURS.get(buffer["name"], "#bdbdbd")}" stroke="#444" stroke-width="0.4">'
                         f"<title>{escape(label)}</title></rect>")
            if width > 7 * len(buffer["name"]):
                parts.append(f'<text x="{x0 + width / 2:.1f}" y="{L1_H / 2 + 4}" font-size="10" '
                             f'text-anchor="middle">{escape(buffer["name"])}</text>')
    parts.append("</svg>")
    return "".join(parts)


def l1_tiles_html(data: dict) -> str:
    rows = []
    for x in data["layers"]:
        rows.append(f'<tr><td>{x["index"]}</td><td class="name">{escape(x["name"])}</td>'
                    f'<td>{",".join(map(str, x["tile"]))}</td><td>{_n(x["l1_bytes"])} / {_n(x["l1_budget"])} B</td>'
                    f"<td>{l1_tile_svg(x)}</td></tr>")
    legend = "".join(f'<span style="background:{c}">{k}</span>' for k, c in L1_COLOURS.items())
    return (f'<table class="l1"><thead><tr><th>#</th><th class="name">layer</th><th>tile h,w,c</th>'
            f'<th>L1 used</th><th class="name">L1 buffers (full width = budget)</th></tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table><div class="legend">{legend}</div>')


def report_html(data: dict) -> str:
    """The whole page for the report JSON `data` (see the module docstring)."""
    name = escape(str(data["network"]))
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f"<title>dory compile: {name}</title><style>{CSS}</style></head><body>"
            f"<h1>dory compile: {name}</h1>{summary_html(data)}"
            f"<h2>Layers</h2>{table_html(data)}"
            f"<h2>L2 memory plan</h2>{l2_plan_svg(data)}"
            f"<h2>L1 tile of each layer</h2>{l1_tiles_html(data)}"
            "</body></html>\n")
