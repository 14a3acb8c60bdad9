"""Layout checks of a drawn matplotlib figure, shared by the figure tests (not a test module).

:func:`layout_problems` lists what a reader of the PNG would see as broken: text cut off at
the edge of the canvas, tick labels on one axis drawn on top of each other, a figure too big
for a page or text too small to read once it is printed on one.
"""

from __future__ import annotations

import itertools

from matplotlib.text import Text

#: A page: at most about 12 x 8 inches, and no text below 8 pt.
MAX_INCHES = (12.5, 8.5)
MIN_POINTS = 8.0
#: Slack in pixels for antialiasing at the edges.
SLACK = 1.5


def _drawn_tick_labels(axis) -> list[Text]:
    """The tick labels matplotlib actually draws on ``axis`` (inside the view limits)."""
    labels = []
    for tick in axis._update_ticks():  # the ticks Axis.draw draws (public API has no equivalent)
        for label in (tick.label1, tick.label2):
            if label.get_visible() and label.get_text().strip():
                labels.append(label)
    return labels


def _inside(box, canvas) -> bool:
    return (
        box.x0 >= canvas.x0 - SLACK
        and box.y0 >= canvas.y0 - SLACK
        and box.x1 <= canvas.x1 + SLACK
        and box.y1 <= canvas.y1 + SLACK
    )


def layout_problems(fig, dpi: float = 120) -> list[str]:
    """Everything wrong with the layout of ``fig`` when rendered at ``dpi``, as sentences.

    Checks, with the renderer that draws the PNG: the figure's size; every visible text
    artist's window extent lies inside the canvas (titles, axis labels, drawn tick labels,
    legends, annotations, figure texts); each axes' tight bounding box lies inside the canvas;
    the drawn tick labels of one axis do not overlap each other; no text is smaller than
    :data:`MIN_POINTS`.
    """
    problems = []
    width, height = fig.get_size_inches()
    if width > MAX_INCHES[0] or height > MAX_INCHES[1]:
        problems.append(f"figure is {width:.1f} x {height:.1f} in, more than a page ({MAX_INCHES})")
    fig.set_dpi(dpi)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    canvas = fig.bbox

    texts: list[Text] = [t for t in fig.texts if t.get_visible() and t.get_text().strip()]
    for legend in fig.legends:
        texts += legend.get_texts()
    for ax in fig.axes:
        if not ax.get_visible():
            continue
        name = ax.get_title() or ax.get_xlabel() or ax.get_ylabel() or f"axes {fig.axes.index(ax)}"
        box = ax.get_tightbbox(renderer)
        if box is not None and not _inside(box, canvas):
            problems.append(f"panel '{name}' reaches outside the canvas: {box.bounds} vs {canvas.bounds}")
        own = [ax.title, ax._left_title, ax._right_title, ax.xaxis.label, ax.yaxis.label, *ax.texts]
        texts += [t for t in own if t.get_visible() and t.get_text().strip()]
        legend = ax.get_legend()
        if legend is not None and legend.get_visible():
            texts += legend.get_texts()
            if legend.get_title().get_text():
                texts.append(legend.get_title())
        for axis_name, axis in (("x", ax.xaxis), ("y", ax.yaxis)):
            labels = _drawn_tick_labels(axis)
            texts += labels
            boxes = [(lab.get_text(), lab.get_window_extent(renderer)) for lab in labels]
            for (ta, a), (tb, b) in itertools.combinations(boxes, 2):
                if a.overlaps(b) and a.intersection(a, b).width > 0.5 and a.intersection(a, b).height > 0.5:
                    problems.append(f"panel '{name}': {axis_name} tick labels '{ta}' and '{tb}' overlap")
    for text in texts:
        box = text.get_window_extent(renderer)
        if not _inside(box, canvas):
            problems.append(f"text '{text.get_text()}' is cut at the edge: {box.bounds} vs {canvas.bounds}")
        if text.get_fontsize() < MIN_POINTS - 1e-9:
            problems.append(
                f"text '{text.get_text()}' is {text.get_fontsize():g} pt, less than {MIN_POINTS:g}"
            )
    return problems


def checking_save(save, found):
    """A stand-in for :func:`effgrok.plot.save` that calls ``found(path, problems)`` with the
    :func:`layout_problems` of each figure *as it is written* (after the layout that ``save``
    itself applies with ``tight=True``), then writes it with ``save``."""

    def spy(fig, path, **kw):
        savefig = fig.savefig

        def checked(*args, **savefig_kw):
            found(path, layout_problems(fig, dpi=kw.get("dpi", 120)))
            return savefig(*args, **savefig_kw)

        fig.savefig = checked
        return save(fig, path, **kw)

    return spy
