"""The drawing kit of the report's charts: two widths (wide for a desktop, narrow for a phone),
a matplotlib Figure per width (no pyplot: no global state) laid out once and drawn once per
format, the wide PNG the raster of the same drawing, the SVG inlined in the page with ids and
tooltips on the elements a reader (or a test) needs to find."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Callable

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter
from PIL import Image

from cakupan.report.formatting import format_number, format_percent

PNG_DPI = 100

_SVG = "http://www.w3.org/2000/svg"
ET.register_namespace("", _SVG)
ET.register_namespace("xlink", "http://www.w3.org/1999/xlink")

PERCENT_AXIS = FuncFormatter(lambda value, _: format_percent(value, decimals=0))
NUMBER_AXIS = FuncFormatter(lambda value, _: format_number(value))


@dataclass(frozen=True)
class Variant:
    """A drawing width: its inches and its base font size in points."""

    name: str
    width: float
    font: float

    @property
    def narrow(self) -> bool:
        return self is NARROW


# A phone shows the narrow variant at ~330-700 px: 4.2 in (302 pt) keeps 9 pt text >= 10 px.
WIDE = Variant("wide", 10.0, 10)
NARROW = Variant("narrow", 4.2, 9.5)
VARIANTS = (WIDE, NARROW)


@dataclass(frozen=True)
class Chart:
    """One chart: an inline SVG per variant, and the wide variant as PNG bytes for its file."""

    name: str
    title: str
    svgs: dict[str, str]
    png: bytes

    @property
    def file_name(self) -> str:
        return f"{self.name}.png"


class Drawing:
    """A figure of one variant, with the ids and tooltips its elements get in the SVG."""

    def __init__(self, chart: str, variant: Variant, height: float, **subplots):
        self.chart, self.variant = chart, variant
        self.fig = Figure(figsize=(variant.width, height), dpi=PNG_DPI, layout="constrained")
        self.tooltips: dict[str, str] = {}
        self.subplots = subplots

    def gid(self, kind: str, key: object = None) -> str:
        suffix = f"-{_id_safe(key)}" if key is not None else ""
        return f"{self.chart}-{self.variant.name}-{kind}{suffix}"

    def name_bars(self, bars, keys) -> None:
        for bar, key in zip(bars, keys):
            bar.set_gid(self.gid("bar", key))

    def legend(self, **options):
        """Above the plots, outside them: a legend there never covers a bar."""
        columns = 1 if self.variant.narrow else 3
        legend = self.fig.legend(loc="outside upper left", ncols=columns, frameon=False,
                                 fontsize=self.variant.font - 0.5, **options)
        legend.set_gid(self.gid("legend"))
        return legend

    def label_ticks(self, ax, positions, labels, keys, tooltips=None) -> None:
        ax.set_yticks(list(positions), labels, fontsize=self.variant.font - 0.5)
        for tick, key, tooltip in zip(ax.get_yticklabels(), keys, tooltips or [None] * len(keys)):
            tick.set_parse_math(False)  # names are data: a "$" is a dollar, not mathtext
            tick.set_gid(self.gid("label", key))
            if tooltip:
                self.tooltips[self.gid("label", key)] = tooltip

    def png(self) -> bytes:
        """Lay the figure out and render it once with Agg; the PNG is that raster. The layout
        is kept for svg() (savefig would search for it again, drawing the figure twice)."""
        canvas = FigureCanvasAgg(self.fig)  # Agg explicitly: no display, no pyplot state
        canvas.draw()
        self.fig.set_layout_engine(None)
        width, height = canvas.get_width_height()
        buffer = io.BytesIO()
        Image.frombuffer("RGBA", (width, height), canvas.buffer_rgba(), "raw", "RGBA", 0, 1).save(buffer, format="png")
        return buffer.getvalue()

    def svg(self) -> str:
        """The SVG, drawn once on the layout png() found (laid out here when there is no PNG)."""
        if self.fig.get_layout_engine() is not None:
            self.fig.draw_without_rendering()
            self.fig.set_layout_engine(None)
        buffer = io.StringIO()
        with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": self.chart}):
            self.fig.savefig(buffer, format="svg", metadata={"Date": None})
        return _inline(buffer.getvalue(), self.tooltips)


def render(name: str, title: str, draw: Callable[[Variant], Drawing]) -> Chart:
    drawings = {variant.name: draw(variant) for variant in VARIANTS}
    png = drawings[WIDE.name].png()
    return Chart(name, title, {key: drawing.svg() for key, drawing in drawings.items()}, png)


def stacked_positions(line_counts: list[int]) -> list[float]:
    """Bar positions top down, each row as tall as its label's lines."""
    positions, at = [], 0.0
    for lines in line_counts:
        at += (lines - 1) * 0.35
        positions.append(at)
        at += 1 + (lines - 1) * 0.35
    return positions


def label_bars(ax, bars, labels, variant: Variant, top: float, horizontal: bool) -> None:
    """Each bar's value: inside a long bar (white), after a short one."""
    for bar, label in zip(bars, labels):
        length = bar.get_width() if horizontal else bar.get_height()
        inside = length >= top * 0.3
        ax.annotate(label, (0 if inside else length, bar.get_y() + bar.get_height() / 2), va="center",
                    color="white" if inside else "black", fontsize=variant.font - 1,
                    xytext=(3, 0), textcoords="offset points")


def tidy(ax, grid: str, variant: Variant) -> None:
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis=grid, color="#e5e5e5", linewidth=0.6)
    ax.set_axisbelow(True)
    ax.tick_params(labelsize=variant.font - 0.5)


def _id_safe(key: object) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in str(key))


def _inline(svg: str, tooltips: dict[str, str]) -> str:
    """matplotlib's SVG as an element for an HTML page: scales to its box, tooltips added."""
    root = ET.fromstring(svg)
    for attribute in ("width", "height"):
        root.attrib.pop(attribute, None)
    root.set("role", "img")
    for element in root.iter():
        tooltip = tooltips.get(element.get("id", ""))
        if tooltip:
            title = ET.Element(f"{{{_SVG}}}title")
            title.text = tooltip
            element.insert(0, title)
    return ET.tostring(root, encoding="unicode")
