"""Menus, toolbar and shortcuts of the main window.

Why a separate module: the window's assembly stays readable, and every action with
its shortcut and tooltip is listed in one place (the README's shortcut table is
generated from the same words). Actions call window methods; they hold no logic.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QStyle, QToolBar

from app.canvas.canvas import TOOL_DRAW, TOOL_LASSO, TOOL_PAN, TOOL_SELECT
from app.icons import tool_icon

if TYPE_CHECKING:
    from app.main_window import MainWindow


class Actions:
    """All QActions of the window, created and placed in menus and the toolbar."""

    def __init__(self, win: MainWindow) -> None:
        self.win = win
        style = win.style()
        sp = QStyle.StandardPixmap

        def act(text: str, slot, shortcut=None, tip: str = "", icon=None, checkable=False) -> QAction:
            a = QAction(text, win)
            if icon is not None:
                a.setIcon(style.standardIcon(icon))
            if shortcut is not None:
                if isinstance(shortcut, list):
                    a.setShortcuts(shortcut)
                else:
                    a.setShortcut(shortcut)
            a.setToolTip(tip or text.replace("&", "").replace("…", ""))
            a.setStatusTip(a.toolTip())
            a.setCheckable(checkable)
            a.triggered.connect(slot)
            win.addAction(a)
            return a

        f = win.files
        self.new = act(
            "&New",
            win.new_drawing,
            QKeySequence.StandardKey.New,
            "Stop and start a new, empty drawing",
            sp.SP_FileIcon,
        )
        self.open = act(
            "&Open Project…",
            lambda: f.open_project(),
            QKeySequence.StandardKey.Open,
            "Open a saved project",
            sp.SP_DialogOpenButton,
        )
        self.save = act(
            "&Save Project",
            lambda: f.save_project(),
            QKeySequence.StandardKey.Save,
            "Save strokes, ids, frozen flags, prompts and settings",
            sp.SP_DialogSaveButton,
        )
        self.save_as = act(
            "Save Project &As…",
            lambda: f.save_project(save_as=True),
            QKeySequence("Ctrl+Shift+S"),
            "Save the project under a new name",
        )
        self.export_svg = act(
            "&Export SVG…",
            lambda: f.export_svg(),
            QKeySequence("Ctrl+E"),
            "Export the drawing as an SVG file (Inkscape/Illustrator)",
        )
        self.export_png = act(
            "Export &PNG…",
            lambda: f.export_png(),
            QKeySequence("Ctrl+Shift+E"),
            "Export the drawing as a PNG image of a chosen width",
        )
        self.quit = act("&Quit", win.close, QKeySequence.StandardKey.Quit, "Quit CLIPDraw Studio")

        self.undo = win.undo_stack.createUndoAction(win, "&Undo")
        self.undo.setShortcuts([QKeySequence.StandardKey.Undo])
        self.undo.setIcon(style.standardIcon(sp.SP_ArrowBack))
        self.undo.setIconText("Undo")  # fixed toolbar label: the menu shows "Undo <edit>"
        self.undo.setToolTip("Undo the last edit (Ctrl+Z)")
        self.redo = win.undo_stack.createRedoAction(win, "&Redo")
        self.redo.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        self.redo.setIcon(style.standardIcon(sp.SP_ArrowForward))
        self.redo.setIconText("Redo")
        self.redo.setToolTip("Redo the last undone edit (Ctrl+Shift+Z)")
        win.addAction(self.undo)
        win.addAction(self.redo)
        self.select_all = act(
            "Select &All", win.canvas.select_all, QKeySequence.StandardKey.SelectAll, "Select every stroke"
        )
        self.deselect = act(
            "Select &None",
            lambda: win.canvas.set_selection([]),
            QKeySequence("Escape"),
            "Clear the selection",
        )
        self.freeze = act(
            "&Freeze Selected",
            lambda: win.freeze_selected(True),
            QKeySequence("F"),
            "Freeze the selected strokes: they stay exactly as they are",
        )
        self.unfreeze = act(
            "&Unfreeze Selected",
            lambda: win.freeze_selected(False),
            QKeySequence("Shift+F"),
            "Let the optimisation move the selected strokes again",
        )
        self.freeze.setIcon(tool_icon("lock"))
        self.freeze.setIconText("Freeze")
        self.unfreeze.setIcon(tool_icon("unlock"))
        self.unfreeze.setIconText("Unfreeze")
        self.delete = act(
            "&Delete Selected",
            win.delete_selected,
            [QKeySequence(Qt.Key.Key_Delete), QKeySequence(Qt.Key.Key_Backspace)],
            "Delete the selected strokes (Delete)",
            sp.SP_TrashIcon,
        )
        self.delete.setIconText("Delete")

        self.draw = act(
            "&Draw",
            win.start_drawing,
            QKeySequence("Ctrl+Return"),
            "Start optimising the drawing",
            sp.SP_MediaPlay,
        )
        self.pause = act(
            "&Pause / Resume",
            win.controller.toggle_pause,
            QKeySequence(Qt.Key.Key_Space),
            "Pause or resume the optimisation (Space)",
            sp.SP_MediaPause,
        )
        self.stop = act(
            "&Stop",
            win.controller.stop,
            QKeySequence("Ctrl+."),
            "Stop optimising and keep the drawing",
            sp.SP_MediaStop,
        )
        self.reset = act("&Reset", win.new_drawing, None, "Stop and clear the canvas", sp.SP_BrowserReload)
        self.add_random = act(
            "Add &Random Strokes…",
            win.add_random_strokes,
            QKeySequence("Ctrl+R"),
            "Add random strokes for CLIP to use, also while it runs (undoable)",
        )

        self.zoom_in = act("Zoom &In", lambda: win.canvas.zoom_by(1.25), QKeySequence.StandardKey.ZoomIn)
        self.zoom_out = act("Zoom &Out", lambda: win.canvas.zoom_by(0.8), QKeySequence.StandardKey.ZoomOut)
        self.zoom_fit = act("&Fit to Window", win.canvas.zoom_fit, QKeySequence("Ctrl+0"))

        self.tools = QActionGroup(win)
        self.tool_actions: dict[str, QAction] = {}
        for tool, text, key, tip, icon in (
            (
                TOOL_SELECT,
                "Select",
                "V",
                "Click or drag a rectangle to select strokes (Shift/Ctrl adds)",
                None,
            ),
            (
                TOOL_LASSO,
                "Lasso",
                "L",
                "Draw a loop around strokes to select them (or Alt+drag)",
                None,
            ),
            (
                TOOL_DRAW,
                "Brush",
                "B",
                "Draw new strokes freehand (hold Shift to draw them frozen)",
                None,
            ),
            (
                TOOL_PAN,
                "Pan",
                "H",
                "Drag to move the view (middle mouse button works in any tool)",
                None,
            ),
        ):
            a = act(text, lambda _=False, t=tool: win.canvas.set_tool(t), QKeySequence(key), tip, icon, True)
            a.setIcon(tool_icon({TOOL_DRAW: "brush"}.get(tool, tool)))
            self.tools.addAction(a)
            self.tool_actions[tool] = a
        self.tool_actions[TOOL_SELECT].setChecked(True)

        self.manual = act(
            "User &Manual",
            win.open_manual,
            QKeySequence.StandardKey.HelpContents,
            "Open the README in your browser or text viewer",
        )
        self.about = act("&About CLIPDraw Studio", win.show_about, None, "Version and credits")

        mb = win.menuBar()
        m = mb.addMenu("&File")
        for a in (self.new, self.open):
            m.addAction(a)
        self.recent_menu = m.addMenu("Open &Recent")
        m.addSeparator()
        for a in (self.save, self.save_as):
            m.addAction(a)
        m.addSeparator()
        for a in (self.export_svg, self.export_png):
            m.addAction(a)
        m.addSeparator()
        m.addAction(self.quit)
        m = mb.addMenu("&Edit")
        for a in (self.undo, self.redo):
            m.addAction(a)
        m.addSeparator()
        for a in (self.select_all, self.deselect):
            m.addAction(a)
        m.addSeparator()
        for a in (self.freeze, self.unfreeze, self.delete):
            m.addAction(a)
        m = mb.addMenu("&Run")
        for a in (self.draw, self.pause, self.stop, self.reset):
            m.addAction(a)
        m.addSeparator()
        m.addAction(self.add_random)
        m = mb.addMenu("&View")
        for a in (self.zoom_in, self.zoom_out, self.zoom_fit):
            m.addAction(a)
        m.addSeparator()
        for a in self.tool_actions.values():
            m.addAction(a)
        self.view_menu = m
        m = mb.addMenu("&Help")
        m.addAction(self.manual)
        m.addAction(self.about)

        tb = QToolBar("Tools", win)
        tb.setObjectName("toolsToolbar")
        tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        for a in self.tool_actions.values():
            tb.addAction(a)
        tb.addSeparator()
        for a in (self.freeze, self.unfreeze, self.delete):
            tb.addAction(a)
        tb.addSeparator()
        for a in (self.undo, self.redo):
            tb.addAction(a)
        tb.addSeparator()
        tb.addAction(self.zoom_fit)
        win.addToolBar(Qt.ToolBarArea.TopToolBarArea, tb)
        self.toolbar = tb

        win.canvas.addAction(self.freeze)
        win.canvas.addAction(self.unfreeze)
        win.canvas.addAction(self.delete)
        win.canvas.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
