"""Menus, toolbar and shortcuts of the main window, as one declarative table.

Why a table: every action with its text, shortcut, tooltip, icon and handler is one
row of :data:`ACTIONS`, and where it shows is a row of :data:`MENUS` / :data:`TOOLBAR`
(the README's shortcut table lists the same words). Adding an action is one row plus
its place in a menu. Handlers are bound to the objects that do the work - the run
controller, the file actions, the canvas - or to the window's few user-intention
methods, reached through :class:`Targets`; this module holds no logic and does not
import the window (it sees it through the small :class:`WindowCommands` protocol).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QActionGroup, QIcon, QKeySequence, QUndoStack
from PySide6.QtWidgets import QMainWindow, QMenu, QStyle, QToolBar

from app.canvas.canvas import TOOL_DRAW, TOOL_LASSO, TOOL_NODE, TOOL_PAN, TOOL_SELECT
from app.icons import tool_icon

if TYPE_CHECKING:
    from app.canvas.canvas import Canvas
    from app.editing import StrokeEditor
    from app.files import FileActions
    from app.run.controller import RunController

SP = QStyle.StandardPixmap
SK = QKeySequence.StandardKey
Shortcut = SK | str | Qt.Key | Sequence[SK | str | Qt.Key]


class WindowCommands(Protocol):
    """The window's user-intention methods that actions call (turned into undoable commands)."""

    def new_drawing(self) -> None: ...
    def start_drawing(self) -> None: ...
    def freeze_selected(self, frozen: bool = True) -> None: ...
    def delete_selected(self) -> None: ...
    def add_random_strokes(self, count: int | None = None) -> None: ...
    def start_variations(self, count: int | None = None) -> None: ...
    def use_local_compute(self) -> None: ...
    def choose_compute_server(self) -> None: ...
    def use_region_tool(self) -> None: ...
    def export_timelapse(self) -> None: ...
    def continue_from_here(self) -> None: ...
    def timeline_step(self, delta: int) -> None: ...
    def timeline_live(self) -> None: ...
    def open_manual(self) -> None: ...
    def show_about(self) -> None: ...
    def close(self) -> bool: ...


@dataclass(frozen=True)
class Targets:
    """What action handlers may call."""

    window: WindowCommands
    controller: RunController
    files: FileActions
    canvas: Canvas
    editor: StrokeEditor


@dataclass(frozen=True)
class ActionSpec:
    """One action: ``Actions.<name>`` is the QAction; ``handler(targets)`` runs on trigger."""

    name: str
    text: str
    handler: Callable[[Targets], object]
    shortcut: Shortcut | None = None
    tip: str = ""
    #: A Qt standard icon, or the name of one of our tool icons (app.icons).
    icon: SP | str | None = None
    icon_text: str | None = None
    checkable: bool = False
    #: Actions with the same group name are mutually exclusive (the tools).
    group: str | None = None
    #: The shortcut works only while the canvas has the focus: keys such as the arrows,
    #: Home/End and PgUp/PgDn must keep moving the cursor in text and number fields.
    canvas_keys: bool = False


def _tool(name: str, text: str, key: str, tip: str, tool: str, icon: str) -> ActionSpec:
    return ActionSpec(
        name, text, lambda t: t.canvas.set_tool(tool), key, tip, icon, checkable=True, group="tools"
    )


ACTIONS: tuple[ActionSpec, ...] = (
    # File
    ActionSpec(
        "new",
        "&New",
        lambda t: t.window.new_drawing(),
        SK.New,
        "Stop and start a new, empty drawing",
        SP.SP_FileIcon,
    ),
    ActionSpec(
        "open",
        "&Open Project…",
        lambda t: t.files.open_project(),
        SK.Open,
        "Open a saved project",
        SP.SP_DialogOpenButton,
    ),
    ActionSpec(
        "save",
        "&Save Project",
        lambda t: t.files.save_project(),
        SK.Save,
        "Save strokes, ids, frozen flags, prompts and settings",
        SP.SP_DialogSaveButton,
    ),
    ActionSpec(
        "save_as",
        "Save Project &As…",
        lambda t: t.files.save_project(save_as=True),
        "Ctrl+Shift+S",
        "Save the project under a new name",
    ),
    ActionSpec(
        "export_svg",
        "&Export SVG…",
        lambda t: t.files.export_svg(),
        "Ctrl+E",
        "Export the drawing as an SVG file (Inkscape/Illustrator)",
    ),
    ActionSpec(
        "export_png",
        "Export &PNG…",
        lambda t: t.files.export_png(),
        "Ctrl+Shift+E",
        "Export the drawing as a PNG image of a chosen width",
    ),
    ActionSpec(
        "export_timelapse",
        "Export &Time-lapse…",
        lambda t: t.window.export_timelapse(),
        "Ctrl+Shift+T",
        "Export the recorded frames (or a stroke-by-stroke replay) as MP4, WebM or GIF",
    ),
    # Timeline
    ActionSpec(
        "continue_here",
        "&Continue from Here",
        lambda t: t.window.continue_from_here(),
        "Ctrl+Shift+B",
        "Make the timeline's frame the drawing (one undo step); the recorded future stays as a branch",
    ),
    ActionSpec("timeline_back", "Previous &Frame", lambda t: t.window.timeline_step(-1), "Alt+Left",
               "Show the previous recorded frame (the run goes on)"),
    ActionSpec("timeline_forward", "Next F&rame", lambda t: t.window.timeline_step(1), "Alt+Right",
               "Show the next recorded frame; past the last one, the live drawing"),
    ActionSpec("timeline_live", "&Live Drawing", lambda t: t.window.timeline_live(), None,
               "Show the current drawing again (Esc)"),
    ActionSpec("quit", "&Quit", lambda t: t.window.close(), SK.Quit, "Quit CLIPDraw Studio"),
    # Edit (Undo/Redo come from the undo stack, see Actions)
    ActionSpec(
        "select_all", "Select &All", lambda t: t.canvas.select_all(), SK.SelectAll, "Select every stroke"
    ),
    ActionSpec(
        "deselect", "Select &None", lambda t: t.canvas.set_selection([]), "Escape", "Clear the selection"
    ),
    ActionSpec(
        "freeze",
        "&Freeze Selected",
        lambda t: t.window.freeze_selected(True),
        "F",
        "Freeze the selected strokes: they stay exactly as they are",
        "lock",
        "Freeze",
    ),
    ActionSpec(
        "unfreeze",
        "&Unfreeze Selected",
        lambda t: t.window.freeze_selected(False),
        "Shift+F",
        "Let the optimisation move the selected strokes again",
        "unlock",
        "Unfreeze",
    ),
    ActionSpec(
        "delete",
        "&Delete Selected",
        lambda t: t.window.delete_selected(),
        (Qt.Key.Key_Delete, Qt.Key.Key_Backspace),
        "Delete the selected strokes (Delete)",
        SP.SP_TrashIcon,
        "Delete",
    ),
    # Object (hand editing: each one undo step, paused or mid-run)
    ActionSpec(
        "copy", "&Copy", lambda t: t.editor.copy(), SK.Copy, "Copy the selected strokes (also as SVG)"
    ),
    ActionSpec("cut", "Cu&t", lambda t: t.editor.cut(), SK.Cut, "Cut the selected strokes"),
    ActionSpec(
        "paste", "&Paste", lambda t: t.editor.paste(), SK.Paste, "Paste strokes, or SVG copied in Inkscape"
    ),
    ActionSpec(
        "duplicate", "D&uplicate", lambda t: t.editor.duplicate(), "Ctrl+D", "Duplicate the selected strokes"
    ),
    ActionSpec("nudge_left", "Nudge Left", lambda t: t.editor.move(-1, 0), Qt.Key.Key_Left, canvas_keys=True),
    ActionSpec(
        "nudge_right", "Nudge Right", lambda t: t.editor.move(1, 0), Qt.Key.Key_Right, canvas_keys=True
    ),
    ActionSpec("nudge_up", "Nudge Up", lambda t: t.editor.move(0, -1), Qt.Key.Key_Up, canvas_keys=True),
    ActionSpec("nudge_down", "Nudge Down", lambda t: t.editor.move(0, 1), Qt.Key.Key_Down, canvas_keys=True),
    ActionSpec(
        "nudge_left_10", "Nudge Left 10 px", lambda t: t.editor.move(-10, 0), "Shift+Left", canvas_keys=True
    ),
    ActionSpec(
        "nudge_right_10", "Nudge Right 10 px", lambda t: t.editor.move(10, 0), "Shift+Right", canvas_keys=True
    ),
    ActionSpec(
        "nudge_up_10", "Nudge Up 10 px", lambda t: t.editor.move(0, -10), "Shift+Up", canvas_keys=True
    ),
    ActionSpec(
        "nudge_down_10", "Nudge Down 10 px", lambda t: t.editor.move(0, 10), "Shift+Down", canvas_keys=True
    ),
    ActionSpec(
        "flip_h",
        "Flip &Horizontal",
        lambda t: t.editor.flip(True),
        "Shift+H",
        "Mirror the selection left-right",
    ),
    ActionSpec(
        "flip_v",
        "Flip &Vertical",
        lambda t: t.editor.flip(False),
        "Shift+V",
        "Mirror the selection top-bottom",
    ),
    ActionSpec(
        "recolour", "&Colour…", lambda t: t.editor.recolour(), None, "Pick a colour for the selection"
    ),
    ActionSpec(
        "eyedropper",
        "&Pick Colour from Canvas",
        lambda t: t.canvas.start_pick(),
        "I",
        "Eyedropper: click the canvas to give the selection the colour there",
        canvas_keys=True,
    ),
    ActionSpec(
        "rotate_cw",
        "Rotate 15° Clockwise",
        lambda t: t.editor.rotate(15),
        "]",
        "Turn the selection",
        canvas_keys=True,
    ),
    ActionSpec(
        "rotate_ccw", "Rotate 15° Anticlockwise", lambda t: t.editor.rotate(-15), "[", canvas_keys=True
    ),
    ActionSpec(
        "scale_up", "Scale Up 10%", lambda t: t.editor.scale(1.1), ">", "Grow the selection", canvas_keys=True
    ),
    ActionSpec(
        "scale_down",
        "Scale Down 10%",
        lambda t: t.editor.scale(1 / 1.1),
        "<",
        "Shrink the selection",
        canvas_keys=True,
    ),
    ActionSpec(
        "split_node",
        "&Split at Node",
        lambda t: t.editor.split_at_node(),
        "Shift+B",
        "Break the stroke at the picked node (Nodes tool)",
    ),
    ActionSpec(
        "join", "&Join Strokes", lambda t: t.editor.join(), "Shift+J", "Join two selected strokes end to end"
    ),
    ActionSpec("opacity", "&Opacity…", lambda t: t.editor.set_opacity(), None, "Set the selection's opacity"),
    ActionSpec("width", "&Width…", lambda t: t.editor.set_width(), None, "Set the selection's stroke width"),
    ActionSpec(
        "match_style",
        "&Match Style",
        lambda t: t.editor.match_style(),
        "Ctrl+Shift+V",
        "Give the selected strokes the style of the first one selected",
    ),
    ActionSpec(
        "raise",
        "&Raise",
        lambda t: t.editor.reorder("raise"),
        Qt.Key.Key_PageUp,
        "Raise one step",
        canvas_keys=True,
    ),
    ActionSpec(
        "lower",
        "&Lower",
        lambda t: t.editor.reorder("lower"),
        Qt.Key.Key_PageDown,
        "Lower one step",
        canvas_keys=True,
    ),
    ActionSpec(
        "raise_top",
        "Raise to &Top",
        lambda t: t.editor.reorder("top"),
        Qt.Key.Key_Home,
        "Paint on top",
        canvas_keys=True,
    ),
    ActionSpec(
        "lower_bottom",
        "Lower to &Bottom",
        lambda t: t.editor.reorder("bottom"),
        Qt.Key.Key_End,
        "Paint first",
        canvas_keys=True,
    ),
    # Run
    ActionSpec(
        "draw",
        "&Draw",
        lambda t: t.window.start_drawing(),
        # Return is the main keyboard's key, Enter the keypad's: the README says Ctrl+Enter
        ("Ctrl+Return", "Ctrl+Enter"),
        "Start optimising the drawing",
        SP.SP_MediaPlay,
    ),
    ActionSpec(
        "variations",
        "&Variations…",
        lambda t: t.window.start_variations(),
        "Ctrl+Shift+D",
        "Run 2-9 seeds of these settings at once from the canvas, ranked live; pick one to continue",
    ),
    ActionSpec(
        "pause",
        "&Pause / Resume",
        lambda t: t.controller.toggle_pause(),
        Qt.Key.Key_Space,
        "Pause or resume the optimisation (Space)",
        SP.SP_MediaPause,
    ),
    ActionSpec(
        "stop",
        "&Stop",
        lambda t: t.controller.stop(),
        "Ctrl+.",
        "Stop optimising and keep the drawing",
        SP.SP_MediaStop,
    ),
    ActionSpec(
        "reset",
        "&Reset",
        lambda t: t.window.new_drawing(),
        None,
        "Stop and clear the canvas",
        SP.SP_BrowserReload,
    ),
    ActionSpec(
        "add_random",
        "Add &Random Strokes…",
        lambda t: t.window.add_random_strokes(),
        "Ctrl+R",
        "Add random strokes for CLIP to use, also while it runs (undoable)",
    ),
    ActionSpec(
        "compute_local",
        "Compute: This &Computer",
        lambda t: t.window.use_local_compute(),
        None,
        "Optimise on this computer's CPU or GPU",
        checkable=True,
        group="compute",
    ),
    ActionSpec(
        "compute_server",
        "Compute: &Server…",
        lambda t: t.window.choose_compute_server(),
        None,
        "Optimise on a clipdraw-server (a GPU machine); the drawing stays here",
        checkable=True,
        group="compute",
    ),
    # View
    ActionSpec("zoom_in", "Zoom &In", lambda t: t.canvas.zoom_by(1.25), SK.ZoomIn),
    ActionSpec("zoom_out", "Zoom &Out", lambda t: t.canvas.zoom_by(0.8), SK.ZoomOut),
    ActionSpec("zoom_fit", "&Fit to Window", lambda t: t.canvas.zoom_fit(), "Ctrl+0"),
    _tool(
        "tool_select",
        "Select",
        "V",
        "Click or drag a rectangle to select strokes (Shift/Ctrl adds)",
        TOOL_SELECT,
        "select",
    ),
    _tool(
        "tool_node",
        "Nodes",
        "N",
        "Edit the first selected stroke's nodes: drag anchors and handles, double-click adds, Delete removes",
        TOOL_NODE,
        "select",
    ),
    _tool(
        "tool_lasso",
        "Lasso",
        "L",
        "Draw a loop around strokes to select them (or Alt+drag)",
        TOOL_LASSO,
        "lasso",
    ),
    _tool(
        "tool_draw",
        "Brush",
        "B",
        "Draw new strokes freehand (hold Shift to draw them frozen)",
        TOOL_DRAW,
        "brush",
    ),
    _tool(
        "tool_pan",
        "Pan",
        "H",
        "Drag to move the view (middle mouse button works in any tool)",
        TOOL_PAN,
        "pan",
    ),
    ActionSpec(
        "tool_region",
        "Region",
        lambda t: t.window.use_region_tool(),
        "G",
        "Drag a rectangle (Alt: a lasso) on the canvas: a region with its own prompt (undoable)",
        SP.SP_TitleBarNormalButton,
        checkable=True,
        group="tools",
    ),
    # Help
    ActionSpec(
        "manual",
        "User &Manual",
        lambda t: t.window.open_manual(),
        SK.HelpContents,
        "Open the README in your browser or text viewer",
    ),
    ActionSpec(
        "about", "&About CLIPDraw Studio", lambda t: t.window.show_about(), None, "Version and credits"
    ),
)

SEPARATOR = "-"
RECENT = "@recent"
TOOLS = ("tool_select", "tool_node", "tool_lasso", "tool_draw", "tool_pan", "tool_region")
#: (menu title, action names; SEPARATOR, and RECENT for the Open Recent submenu)
MENUS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("&File", ("new", "open", RECENT, SEPARATOR, "save", "save_as", SEPARATOR,
               "export_svg", "export_png", "export_timelapse", SEPARATOR, "quit")),
    ("&Edit", ("undo", "redo", SEPARATOR, "select_all", "deselect", SEPARATOR,
               "cut", "copy", "paste", "duplicate", SEPARATOR, "freeze", "unfreeze", "delete")),
    ("&Object", ("flip_h", "flip_v", "rotate_cw", "rotate_ccw", "scale_up", "scale_down", SEPARATOR,
                 "split_node", "join", SEPARATOR,
                 "recolour", "eyedropper", "opacity", "width", "match_style", SEPARATOR,
                 "raise", "lower", "raise_top", "lower_bottom", SEPARATOR, "nudge_left", "nudge_right",
                 "nudge_up", "nudge_down", "nudge_left_10", "nudge_right_10", "nudge_up_10",
                 "nudge_down_10")),
    ("&Run", ("draw", "variations", "pause", "stop", "reset", SEPARATOR, "add_random", SEPARATOR,
              "compute_local", "compute_server")),
    ("&View", ("zoom_in", "zoom_out", "zoom_fit", SEPARATOR, *TOOLS, SEPARATOR,
               "timeline_back", "timeline_forward", "timeline_live", "continue_here")),
    ("&Help", ("manual", "about")),
)  # fmt: skip
TOOLBAR = (
    *TOOLS,
    SEPARATOR,
    "freeze",
    "unfreeze",
    "delete",
    SEPARATOR,
    "undo",
    "redo",
    SEPARATOR,
    "zoom_fit",
)
#: Actions in the canvas's right-click menu.
CANVAS_MENU = (
    "freeze",
    "unfreeze",
    "delete",
    "cut",
    "copy",
    "paste",
    "duplicate",
    "flip_h",
    "flip_v",
    "recolour",
)


def _key_sequences(shortcut: Shortcut) -> list[QKeySequence]:
    items = shortcut if isinstance(shortcut, (list, tuple)) else [shortcut]
    sequences = [QKeySequence(item) for item in items]
    return [seq for seq in sequences if not seq.isEmpty()]  # a standard key this platform lacks


class Actions:
    """All QActions of the window, built from :data:`ACTIONS` and placed per :data:`MENUS`."""

    def __init__(self, win: QMainWindow, targets: Targets, undo_stack: QUndoStack) -> None:
        self.targets = targets
        self.by_name: dict[str, QAction] = {}
        self._groups: dict[str, QActionGroup] = {}
        for spec in ACTIONS:
            self._add(win, self._build(win, spec), spec.name)
            if spec.name == "quit":  # the undo stack's own actions come next, as in the Edit menu
                self._add_undo_redo(win, undo_stack)
        self.tools = self._groups["tools"]
        self.tool_actions: dict[str, QAction] = {
            TOOL_SELECT: self.tool_select,
            TOOL_NODE: self.tool_node,
            TOOL_LASSO: self.tool_lasso,
            TOOL_DRAW: self.tool_draw,
            TOOL_PAN: self.tool_pan,
        }
        self.tool_select.setChecked(True)
        self._build_menus(win)
        self._build_toolbar(win)
        canvas = targets.canvas
        #: The canvas's right-click menu (the canvas itself also holds the canvas-key actions).
        self.canvas_menu = QMenu(canvas)
        for name in CANVAS_MENU:
            self.canvas_menu.addAction(self.by_name[name])
        for spec in ACTIONS:
            if spec.canvas_keys:
                self.by_name[spec.name].setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
                canvas.addAction(self.by_name[spec.name])
        canvas.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        canvas.customContextMenuRequested.connect(lambda pos: self.canvas_menu.popup(canvas.mapToGlobal(pos)))

    def __getattr__(self, name: str) -> QAction:
        """``actions.freeze`` etc.: the QAction of that table row."""
        by_name = self.__dict__.get("by_name", {})
        if name in by_name:
            return by_name[name]
        raise AttributeError(name)

    # ------------------------------------------------------------ building
    def _build(self, win: QMainWindow, spec: ActionSpec) -> QAction:
        a = QAction(spec.text, win)
        if isinstance(spec.icon, str):
            a.setIcon(tool_icon(spec.icon))
        elif spec.icon is not None:
            a.setIcon(win.style().standardIcon(spec.icon))
        if spec.icon_text:
            a.setIconText(spec.icon_text)
        if spec.shortcut is not None:
            a.setShortcuts(_key_sequences(spec.shortcut))
        a.setToolTip(spec.tip or spec.text.replace("&", "").replace("…", ""))
        a.setStatusTip(a.toolTip())
        a.setCheckable(spec.checkable)
        if spec.group is not None:
            self._groups.setdefault(spec.group, QActionGroup(win)).addAction(a)
        a.triggered.connect(lambda _checked=False, h=spec.handler: h(self.targets))
        return a

    def _add(self, win: QMainWindow, action: QAction, name: str) -> None:
        win.addAction(action)
        self.by_name[name] = action

    def _add_undo_redo(self, win: QMainWindow, stack: QUndoStack) -> None:
        style = win.style()
        undo = stack.createUndoAction(win, "&Undo")
        undo.setShortcuts([QKeySequence(SK.Undo)])
        undo.setIcon(style.standardIcon(SP.SP_ArrowBack))
        undo.setIconText("Undo")  # fixed toolbar label: the menu shows "Undo <edit>"
        undo.setToolTip("Undo the last edit (Ctrl+Z)")
        redo = stack.createRedoAction(win, "&Redo")
        redo.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        redo.setIcon(style.standardIcon(SP.SP_ArrowForward))
        redo.setIconText("Redo")
        redo.setToolTip("Redo the last undone edit (Ctrl+Shift+Z)")
        self._add(win, undo, "undo")
        self._add(win, redo, "redo")

    def _fill(self, container: QMenu | QToolBar, names: Sequence[str]) -> None:
        for name in names:
            if name == SEPARATOR:
                container.addSeparator()
            elif name == RECENT and isinstance(container, QMenu):
                self.recent_menu = container.addMenu("Open &Recent")
            else:
                container.addAction(self.by_name[name])

    def _build_menus(self, win: QMainWindow) -> None:
        bar = win.menuBar()
        for title, names in MENUS:
            menu = bar.addMenu(title)
            self._fill(menu, names)
            if title == "&View":
                self.view_menu = menu

    def _build_toolbar(self, win: QMainWindow) -> None:
        tb = QToolBar("Tools", win)
        tb.setObjectName("toolsToolbar")
        tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self._fill(tb, TOOLBAR)
        win.addToolBar(Qt.ToolBarArea.TopToolBarArea, tb)
        self.toolbar = tb

    def icon(self, name: str) -> QIcon:
        return self.by_name[name].icon()
