"""Find an X window by its title: the screen area `record desktop --window NAME` films.

python-xlib comes with pynput, which the recorder already needs on X. A title match is
case-insensitive and on any part of the title, like `xdotool search --name`, and only
windows that are on screen (mapped, with every ancestor mapped) count.
"""

from __future__ import annotations

from screenpilot.dataset.errors import UserError

Area = tuple[int, int, int, int]  # left, top, width, height in X screen pixels
SHOWN_TITLES = 5  # how many titles an error names


def window_region(name: str, display: str | None = None) -> Area:
    """The area of the one visible window whose title contains ``name``, in screen pixels
    and clipped to the screen, as it is now (a window moved later is not followed).
    ``display`` defaults to $DISPLAY. No match, several, or a window wholly off the
    screen is a UserError of one line."""
    from Xlib import display as xdisplay
    from Xlib import error as xerror

    if not name:
        raise UserError("--window wants (part of) a window title, got an empty name")
    try:
        conn = xdisplay.Display(display)
    except (xerror.DisplayError, xerror.ConnectionClosedError) as e:
        raise UserError(f"cannot open X display {display or '$DISPLAY'}: {e}") from None
    try:
        root = conn.screen().root
        titled = list(_visible_titled_windows(conn, root))
        wanted = name.casefold()
        matches = [(w, title) for w, title in titled if wanted in title.casefold()]
        where = f"on display {conn.get_display_name()}"
        if not matches:
            titles = ", ".join(repr(t) for _, t in titled[:SHOWN_TITLES]) or "none"
            raise UserError(f"no window {where} has {name!r} in its title (visible: {titles})")
        if len(matches) > 1:
            titles = ", ".join(repr(t) for _, t in matches[:SHOWN_TITLES])
            raise UserError(
                f"{len(matches)} windows {where} have {name!r} in their titles ({titles}): "
                "give more of the title"
            )
        window, title = matches[0]
        geometry = window.get_geometry()
        origin = root.translate_coords(window, 0, 0)
        screen = root.get_geometry()
        left, top = max(origin.x, 0), max(origin.y, 0)
        right = min(origin.x + geometry.width, screen.width)
        bottom = min(origin.y + geometry.height, screen.height)
        if right <= left or bottom <= top:
            raise UserError(f"window {title!r} is off the {screen.width}x{screen.height} screen")
        return left, top, right - left, bottom - top
    finally:
        conn.close()


def _visible_titled_windows(conn, window):
    """(window, title) of every viewable window under ``window`` that has a title; a
    match's own children are not searched (toolkits repeat a title on inner windows)."""
    from Xlib import X
    from Xlib import error as xerror

    try:
        children = window.query_tree().children
    except xerror.BadWindow:  # closed while we looked
        return
    for child in children:
        try:
            if child.get_attributes().map_state != X.IsViewable:
                continue
            title = _title(conn, child)
        except xerror.BadWindow:  # closed while we looked
            continue
        if title:
            yield child, title
        else:
            yield from _visible_titled_windows(conn, child)


def _title(conn, window) -> str | None:
    """_NET_WM_NAME (UTF-8, what toolkits set) or else the legacy WM_NAME."""
    net_name = window.get_full_property(
        conn.intern_atom("_NET_WM_NAME"), conn.intern_atom("UTF8_STRING")
    )
    if net_name is not None and net_name.value:
        value = net_name.value
        return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    name = window.get_wm_name()
    if isinstance(name, bytes):
        return name.decode("latin-1")
    return name or None
