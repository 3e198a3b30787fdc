"""MiniWoB++ experts, widgets: the no-delay and difficulty variants of tasks with an expert, menus, sliders, spinners, time fields, scrolling text, resizing.
hover-shape has none: its page never ends an episode (the page computes no reward: its scoring is left unwritten).
In the form of miniwob_experts.py (see library.js for SP, M and Q)."""

from __future__ import annotations

from .miniwob_experts import POLICIES as BASIC

# One wheel turn that reaches either end of any MiniWoB++ text area: the same action
# every time, whatever the text's length (the browser stops at the end).
_FAR = 1000

# scrollText(textarea, down): the next action that brings an editable text area to its
# end (or its start), null once there. With the keyboard, and focused with Tab while
# nothing has the focus: the page scrolls the area when it starts an episode, and a
# first action with the mouse (a click, a wheel) then stops the sandbox's frames for
# good in 3-15% of episodes; a key first, never (0 of 60).
_SCROLL_TEXT = """const scrollText = (text, down) => {
  const there = down ? text.scrollTop + text.clientHeight >= text.scrollHeight - 2 : text.scrollTop <= 2;
  if (there) return null;
  const focused = document.activeElement;
  if (focused !== text) return !focused || focused === document.body ? SP.key('Tab') : SP.click(text);
  return SP.key(down ? 'ctrl+End' : 'ctrl+Home');
};"""

POLICIES: dict[str, str] = {
    "click-collapsible-nodelay": BASIC["click-collapsible"],
    "click-collapsible-2-nodelay": BASIC["click-collapsible-2"],
    "click-pie-nodelay": BASIC["click-pie"],
    "use-autocomplete-nodelay": BASIC["use-autocomplete"],
    "click-tab-2-easy": BASIC["click-tab-2"],
    "click-tab-2-hard": BASIC["click-tab-2"],
    # The second tab is emptied; when the named link was only there, clicking that
    # tab is the answer.
    "click-tab-2-medium": """() => {
      const links = SP.byText('#area .alink', SP.quoted());
      if (!links.length) return SP.click(SP.one('#area ul a[href="#tabs-2"]'));
      const shown = SP.firstVisible(links);
      if (shown) return SP.click(shown);
      return SP.click(SP.one('#area ul a[href="#tabs-1"]'));
    }""",
    "click-menu-2": """() => {
      const m = /labeled "(.*)"/.exec(Q);
      const named = m && m[1];
      const icon = SP.one('#query .ui-icon');
      const iconClass = icon && Array.from(icon.classList).find((c) => c !== 'ui-icon');
      const item = SP.all('#menu li').find((li) => named
        ? SP.text(li.firstElementChild) === named
        : li.firstElementChild.querySelector(':scope > .' + iconClass));
      const menu = SP.one('#menu');
      if (!SP.visible(menu)) return SP.click(SP.one('#open-menu'));
      if (SP.visible(item.firstElementChild)) return SP.click(item.firstElementChild);
      // A submenu opens a moment after its parent is hovered (then marked active);
      // clicking the parent does not open it.
      const parent = item.parentElement.closest('li').firstElementChild;
      if (parent.classList.contains('ui-state-active') && (M.waits = (M.waits || 0) + 1) <= 8) return null;
      M.waits = 0;
      return SP.move(parent);
    }""",
    "use-slider-2": """() => {
      const wanted = JSON.parse(/combination (\\[[^\\]]*\\])/.exec(Q)[1]);
      for (let i = 0; i < wanted.length; i++) {
        const value = parseInt(SP.one('#val-' + (i + 1)).textContent, 10);
        const want = wanted[i];
        if (value === want) continue;
        const slider = SP.one('#slider-' + (i + 1));
        const handle = SP.one('.ui-slider-handle', slider);
        // The arrow keys finish what a click on the track started.
        if (document.activeElement === handle && Math.abs(value - want) <= 3) {
          return SP.key(value < want ? 'ArrowRight' : 'ArrowLeft');
        }
        const $s = jQuery(slider);
        const min = $s.slider('option', 'min'), max = $s.slider('option', 'max');
        const r = slider.getBoundingClientRect();
        const x = Math.min(Math.round(r.left + (want - min) / (max - min) * r.width), Math.ceil(r.right) - 1);
        return { type: 'click', x: x, y: Math.floor(r.top + r.height / 2) };
      }
      return SP.click(SP.one('#subbtn'));
    }""",
    # The field refuses typing; the spinner's keys step by 1 (arrows) and 10 (page keys).
    "use-spinner": """() => {
      const want = parseInt(/Select (-?\\d+) with/.exec(Q)[1], 10);
      const input = SP.one('#spinner');
      const value = parseInt(input.value, 10);
      if (value === want) return SP.click(SP.one('#subbtn'));
      if (document.activeElement !== input) return SP.click(input);
      if (isNaN(value)) return SP.key('ArrowUp');
      const diff = want - value;
      if (Math.abs(diff) >= 6) return SP.key(diff > 0 ? 'PageUp' : 'PageDown');
      return SP.key(diff > 0 ? 'ArrowUp' : 'ArrowDown');
    }""",
    "enter-time": """() => {
      const [, h, mm, half] = /(\\d+):(\\d\\d)(?::\\d\\d)? ?([AP]M)?/.exec(Q);
      let hours = parseInt(h, 10);
      if (half) hours = (hours % 12) + (half === 'PM' ? 12 : 0);
      // The field shows the page's locale: 12-hour with AM/PM where the task says so.
      const shown = half ? String(hours % 12 || 12) : String(hours);
      return SP.fillSegments(SP.one('#tt'), String(hours).padStart(2, '0') + ':' + mm,
                             shown.padStart(2, '0') + mm + (half ? half[0] : ''))
        || SP.click(SP.one('#subbtn'));
    }""",
    # The initial size is not on the page once resized, so aim past every size the
    # task draws (width 50-95, height 50-70): then larger or smaller holds for any start.
    "resize-textarea": """() => {
      const [dim, dir] = SP.bold();
      const area = jQuery('#tt');
      const size = dim === 'width' ? area.width() : area.height();
      const target = dim === 'width' ? (dir === 'larger' ? 110 : 35) : (dir === 'larger' ? 85 : 35);
      const done = dir === 'larger' ? size >= target - 5 : size <= target + 5;
      if (done) return SP.click(SP.one('#submit'));
      const handle = SP.one(dim === 'width' ? '.ui-resizable-e' : '.ui-resizable-s');
      const p = SP.point(handle);
      if (!p) return null;
      const [x, y] = p;
      const d = target - size;
      return dim === 'width'
        ? { type: 'drag', x: x, y: y, x2: Math.max(0, Math.min(W - 1, x + d)), y2: y }
        : { type: 'drag', x: x, y: y, x2: x, y2: Math.max(0, Math.min(H - 1, y + d)) };
    }""",
    # The name field and Agree open only once the agreement was scrolled to its end.
    "sign-agreement": """() => {
      const cancel = SP.one('#cancel'), agree = SP.one('#agree'), input = SP.one('#name');
      const name = SP.quoted();
      if (name === null) return SP.click(cancel);
      if (input.disabled) {
        const p = SP.point(SP.one('#text-area'));
        return { type: 'scroll', x: p[0], y: p[1], dx: 0, dy: FAR };
      }
      return SP.fill(input, name) || SP.click(/press "Agree"/.test(Q) ? agree : cancel);
    }""".replace("FAR", str(_FAR)),
    # Scrolled to the end first, so that the screen shows the word typed.
    "scroll-text": """() => {
      SCROLL_TEXT
      const text = SP.one('#text-area');
      const words = text.value.trim().split(/\\s+/);
      const last = words[words.length - 1].replace(/[^a-zA-Z0-9]/g, '');
      return scrollText(text, true) || SP.fill(SP.one('#answer-input'), last)
        || SP.click(SP.one('#subbtn'));
    }""".replace("SCROLL_TEXT", _SCROLL_TEXT),
    "scroll-text-2": """() => {
      SCROLL_TEXT
      return scrollText(SP.one('#text-area'), / bottom /.test(Q)) || SP.click(SP.one('#subbtn'));
    }""".replace("SCROLL_TEXT", _SCROLL_TEXT),
    # The pattern the example image shows is the page's PATTERNS table.
    "number-checkboxes": """() => {
      const digit = parseInt(SP.quoted(), 10);
      const boxes = SP.all('#checkboxes input[type=checkbox]');
      for (let i = 0; i < 7; i++) for (let j = 0; j < 4; j++) {
        const box = boxes[i * 4 + j];
        if (box.checked !== (PATTERNS[digit][i][j] === 1)) return SP.click(box);
      }
      return SP.click(SP.one('#subbtn'));
    }""",
}

# Where the page itself bounds the expert (env/experts/base.py: expert_limits).
CEILINGS: dict[str, str] = {
    "click-pie-nodelay": "the slice wheelnav starts with as selected (the first) jumps to the "
    "back of the drawing whenever the pointer enters it, so every press on it lands on the "
    "wheel's background and no click selects it; click-pie's expert clicks it while the pie "
    "grows, which this variant does not animate. The target is that slice in 1 of 4-8 "
    "items (17.7% of episodes): 81.5% on seeds 0-199, every failure that slice",
}
