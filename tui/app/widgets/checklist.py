"""A SelectionList whose checked and unchecked items differ by a glyph (``[x]`` / ``[ ]``), not
by colour alone: Textual's own checkbox is the same ``X`` either way, coloured, which reads as
nothing in NO_COLOR or on a 16-colour terminal (issue 14)."""

from __future__ import annotations

from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip
from textual.widgets import OptionList, SelectionList
from textual.widgets.option_list import OptionDoesNotExist

CHECKED, UNCHECKED = "[x]", "[ ]"


class CheckList(SelectionList):
    """``[x] loss`` / ``[ ] lr``: the state in the text; the theme's colour on top of it."""

    def _get_left_gutter_width(self) -> int:
        return len(CHECKED) + 1

    def render_line(self, y: int) -> Strip:
        line = OptionList.render_line(self, y)  # the prompt, without SelectionList's coloured box
        _, scroll_y = self.scroll_offset
        index = scroll_y + y
        try:
            option = self.get_option_at_index(index)
        except OptionDoesNotExist:
            return line
        checked = option.value in self._selected
        component = "selection-list--button" + ("-selected" if checked else "")
        if self.highlighted == index:
            component += "-highlighted"
        under = next(iter(line)).style or self.rich_style
        colour = self.get_component_rich_style(component).bgcolor
        style = Style(color=colour if checked else None, bold=checked, bgcolor=under.bgcolor,
                      meta={"option": index})
        return Strip([Segment(CHECKED if checked else UNCHECKED, style=style), Segment(" ", style=under), *line])
