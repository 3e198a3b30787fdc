"""Policies for MiniWoB++ tasks, one JavaScript function per task (see library.js for
SP, M and Q). Each reads the page's DOM, and page globals where the task keeps its answer,
and returns the next action a person would take: click what is visible, type, press keys.

Native pop-ups (a <select>'s list) do not appear in a headless screenshot, so experts
work them with the keyboard, whose effect the screenshot does show.
"""

from __future__ import annotations

_CLICK_QUOTED_BUTTON = """() => SP.click(SP.firstVisible(SP.byText('#area button', SP.quoted())))"""

_BUTTON_NAMED_IN_QUERY = """() => {
  const name = /button (\\w+)/.exec(Q)[1];
  return SP.click(SP.firstVisible(SP.byText('#area button', name)));
}"""

_CHECKBOXES = """() => {
  const m = /^Select (.*) and click Submit\\.$/.exec(Q);
  const wanted = m[1] === 'nothing' ? [] : m[1].split(', ');
  for (const label of SP.all('#area label')) {
    const box = SP.one('input', label);
    if (box.checked !== wanted.includes(SP.text(label))) return SP.clickText(label);
  }
  return SP.click(SP.one('#subbtn'));
}"""

_FILL_THEN_SUBMIT = """() => {
  const input = SP.one('#tt');
  return SP.fill(input, WANT) || SP.click(SP.one('#subbtn'));
}"""

_LOGIN = """() => {
  const popupCancel = SP.one('#popup-cancel');
  if (popupCancel) return SP.click(popupCancel);
  const m = /username "(.*)" and the password "(.*)" into/.exec(Q);
  return SP.fill(SP.one('#username'), m[1]) || SP.fill(SP.one('#password'), m[2])
    || SP.click(SP.one('#subbtn'));
}"""

# The shapes a description names: "[large|small] [colour] (item|shape|letter|digit|
# circle|rectangle|triangle|<a letter or digit>)" -> a test of one #area_svg element
# (click-shape, count-shape). A function declaration: hoisted, so it may follow its use.
SHAPE_MATCHER = """function shapeMatcher(words) {
        const what = words[words.length - 1];
        const size = words.slice(0, -1).find((w) => w === 'large' || w === 'small');
        const color = words.slice(0, -1).find((w) => w !== 'large' && w !== 'small');
        const shapeOf = { rect: 'rectangle', circle: 'circle', polygon: 'triangle' };
        return (el) => {
          const tag = el.tagName.toLowerCase();
          const big = tag === 'text' ? parseFloat(el.getAttribute('font-size')) > 15
            : tag === 'rect' ? parseFloat(el.getAttribute('width')) > 15
            : tag === 'circle' ? parseFloat(el.getAttribute('r')) > 7.5
            : el.getBBox().width > 15;
          let kind, text;
          if (tag === 'text') { text = el.textContent; kind = /[0-9]/.test(text) ? 'digit' : 'letter'; }
          else { kind = 'shape'; text = shapeOf[tag]; }
          return (!size || (big ? 'large' : 'small') === size)
            && (!color || el.getAttribute('fill') === color)
            && (what === 'item' || what === kind || what === text);
        };
      }"""

POLICIES: dict[str, str] = {
    "click-test": "() => SP.click(SP.one('#subbtn'))",
    "click-test-2": _BUTTON_NAMED_IN_QUERY,
    "click-test-transfer": _BUTTON_NAMED_IN_QUERY,
    "click-button": _CLICK_QUOTED_BUTTON,
    "unicode-test": _CLICK_QUOTED_BUTTON,
    "click-button-sequence": """() =>
        SP.click(SP.one(buttonsPushed.length === 0 ? '#subbtn' : '#subbtn2'))""",
    "click-link": """() => SP.click(SP.firstVisible(SP.byText('#area .alink', SP.quoted())))""",
    "click-dialog": """() => SP.click(SP.one('.ui-dialog-titlebar button'))""",
    "click-dialog-2": """() => {
      const want = SP.quoted();
      if (want === 'x') return SP.click(SP.one('.ui-dialog-titlebar button'));
      return SP.click(SP.firstVisible(SP.byText('.ui-dialog-buttonpane button', want)));
    }""",
    "click-color": """() => {
      const bold = SP.one('#query .bold');
      const color = bold ? SP.text(bold) : SP.one('#query-color').style.backgroundColor;
      const boxes = SP.all('#area .color');
      const box = boxes.find((b) => b.getAttribute('data-color') === color)
        || boxes.find((b) => b.style.backgroundColor === color);
      return SP.click(box);
    }""",
    "click-shades": """() => {
      const color = /shades of (\\w+)/.exec(Q)[1];
      for (const span of SP.all('#area span')) {
        const want = span.getAttribute('data-color') === color;
        if (want !== span.classList.contains('selected')) return SP.click(span);
      }
      return SP.click(SP.one('#area button'));
    }""",
    "click-shape": f"""() => {{
      const matches = shapeMatcher(Q.replace(/^Click on an? /, '').split(' '));
      {SHAPE_MATCHER}
      return SP.click(SP.all('#area_svg > *').find((el) => matches(el) && SP.visible(el)));
    }}""",
    "click-widget": """() => {
      const want = SP.quoted();
      const el = SP.all('#area [data-type]').find((e) => e.getAttribute('data-type') === want);
      return SP.click(el);
    }""",
    "click-option": """() => {
      const want = /^Select (.*) and click Submit\\.$/.exec(Q)[1];
      const label = SP.byText('#area label', want)[0];
      const radio = SP.one('input', label);
      return radio.checked ? SP.click(SP.one('#subbtn')) : SP.click(radio);
    }""",
    "click-tab": """() => {
      const n = /Tab #(\\d)/.exec(Q)[1];
      return SP.click(SP.one('#area ul a[href="#tabs-' + n + '"]'));
    }""",
    "click-tab-2": """() => {
      const links = SP.byText('#area .alink', SP.quoted());
      const shown = SP.firstVisible(links);
      if (shown) return SP.click(shown);
      const panel = links[0].closest('[id^="tabs-"]');
      return SP.click(SP.one('#area ul a[href="#' + panel.id + '"]'));
    }""",
    "click-collapsible": """() => {
      if (SP.animating()) return null;
      const open = SP.all('.ui-accordion-content').some((c) => c.offsetHeight > 0);
      return open ? SP.click(SP.one('#subbtn')) : SP.click(SP.one('#area h3'));
    }""",
    "click-collapsible-2": """() => {
      if (SP.animating()) return null;
      const links = SP.byText('#area .alink', SP.quoted());
      const shown = SP.firstVisible(links);
      if (shown) return SP.click(shown);
      const section = links[0].closest('.ui-accordion-content');
      return SP.click(section.previousElementSibling);
    }""",
    "click-checkboxes": _CHECKBOXES,
    "click-checkboxes-large": _CHECKBOXES,
    "click-checkboxes-transfer": _CHECKBOXES,
    "click-checkboxes-soft": """() => {
      const m = /^Select words similar to (.*) and click Submit\\.$/.exec(Q);
      const wanted = m[1].split(', ');
      const similar = (a, b) => SYNONYMS.some((group) => group.includes(a) && group.includes(b));
      for (const label of SP.all('#area label')) {
        const box = SP.one('input', label);
        const want = wanted.some((w) => similar(w, SP.text(label)));
        if (box.checked !== want) return SP.click(box);
      }
      return SP.click(SP.one('#subbtn'));
    }""",
    "click-menu": """() => {
      const path = Q.replace(/^Select /, '').split('>');
      let menu = SP.one('#menu');
      for (let depth = 0; depth < path.length; depth++) {
        const item = Array.from(menu.children).find((li) => SP.text(li.firstElementChild) === path[depth]);
        if (depth === path.length - 1) return SP.click(item.firstElementChild);
        const sub = item.querySelector(':scope > ul');
        if (sub.offsetHeight > 0 && SP.visible(sub)) { menu = sub; continue; }
        // Submenus open on hover after a delay; clicking a parent would select it.
        if (M.hovered === path.slice(0, depth + 1).join('>')) return null;
        M.hovered = path.slice(0, depth + 1).join('>');
        return SP.move(item.firstElementChild);
      }
      return null;
    }""",
    "click-pie": """() => {
      const want = SP.quoted();
      const title = SP.all('#divWheel text[id^="wheelnav-divWheel-title-"]')
        .find((t) => t.textContent === want);
      const slice = document.getElementById(title.id.replace('-title-', '-slice-'));
      const box = slice.getBoundingClientRect();
      if (box.width < 5) {
        if (M.spread) return null;
        M.spread = true;
        return SP.click(SP.one('#wheelnav-divWheel-spreader'))
          || SP.click(SP.one('#wheelnav-divWheel-spreadertitle'));
      }
      // Click while the pie is still growing open: wheelnav ignores hovering during its
      // animation, and hovering the selected slice afterwards makes it flicker under the
      // pointer and swallow the click.
      if (Math.max(box.width, box.height) < 24) return null;
      return SP.click(slice) || SP.click(title);
    }""",
    "grid-coordinate": """() => {
      const want = SP.bold()[0];
      return SP.click(SP.all('circle').find((c) => c.id === want));
    }""",
    "identify-shape": """() => {
      const el = SP.one('#area_svg > *');
      const tag = el.tagName.toLowerCase();
      const kind = tag === 'text' ? (/[0-9]/.test(el.textContent) ? 'digit' : 'letter')
        : { rect: 'rectangle', circle: 'circle', polygon: 'triangle' }[tag];
      return SP.click(SP.one('#area-buttons button[data-type="' + kind + '"]'));
    }""",
    "navigate-tree": """() => {
      const want = SP.quoted();
      const spans = SP.all('#tree span').filter((s) => SP.text(s) === want);
      const shown = SP.firstVisible(spans);
      if (shown) return SP.click(shown);
      // Open the outermost closed folder on the way to the first match.
      const target = spans[0];
      let folder = null;
      for (let li = target.parentElement.parentElement.closest('li'); li; li = li.parentElement.closest('li')) {
        if (li.classList.contains('expandable')) folder = li;
      }
      if (!folder) return null;
      const hit = SP.one(':scope > .hitarea', folder);
      return SP.click(hit && SP.visible(hit) ? hit : SP.one(':scope > span', folder));
    }""",
    "focus-text": "() => SP.click(SP.one('#tt'))",
    "focus-text-2": """() => {
      const n = { '1st': 1, '2nd': 2, '3rd': 3 }[/the (\\w+) input/.exec(Q)[1]];
      return SP.click(SP.one('#tt' + n));
    }""",
    "enter-text": _FILL_THEN_SUBMIT.replace("WANT", "SP.bold()[0]"),
    "enter-text-dynamic": _FILL_THEN_SUBMIT.replace("WANT", "SP.bold()[0]"),
    "enter-text-2": _FILL_THEN_SUBMIT.replace(
        "WANT", "(/upper case/.test(Q) ? SP.bold()[0].toUpperCase() : SP.bold()[0].toLowerCase())"
    ),
    "enter-password": """() => {
      const pw = SP.bold()[0];
      return SP.fill(SP.one('#password'), pw) || SP.fill(SP.one('#verify'), pw)
        || SP.click(SP.one('#subbtn'));
    }""",
    "login-user": _LOGIN,
    "login-user-popup": _LOGIN,
    "enter-date": """() => {
      const [mm, dd, yyyy] = SP.bold()[0].split('/');
      return SP.fillSegments(SP.one('#tt'), yyyy + '-' + mm + '-' + dd, mm + dd + yyyy)
        || SP.click(SP.one('#subbtn'));
    }""",
    "use-autocomplete": """() => {
      const [start, end] = SP.bold();
      const input = SP.one('#tags');
      const item = ui_utils.COUNTRIES.find((c) => c.startsWith(start) && (!end || c.endsWith(end)));
      const step = SP.fill(input, item);
      if (step) return step;
      const menu = SP.one('.ui-autocomplete');
      if (menu && menu.offsetHeight > 0) return SP.key('Escape');
      return SP.click(SP.one('#subbtn'));
    }""",
    "use-slider": """() => {
      const want = parseInt(/Select (-?\\d+) with/.exec(Q)[1]);
      const $s = jQuery('#slider');
      const value = $s.slider('value');
      if (value === want) return SP.click(SP.one('#subbtn'));
      const handle = SP.one('#slider .ui-slider-handle');
      if (!M.clicked) {
        // Click the track where the wanted value lies, then correct with arrow keys.
        M.clicked = true;
        const min = $s.slider('option', 'min'), max = $s.slider('option', 'max');
        const r = SP.one('#slider').getBoundingClientRect();
        const f = (want - min) / (max - min);
        if ($s.slider('option', 'orientation') === 'horizontal') {
          return { type: 'click', x: Math.min(Math.floor(r.left + f * r.width), Math.ceil(r.right) - 1),
                   y: Math.floor(r.top + r.height / 2) };
        }
        return { type: 'click', x: Math.floor(r.left + r.width / 2),
                 y: Math.min(Math.floor(r.bottom - f * r.height), Math.ceil(r.bottom) - 1) };
      }
      if (document.activeElement !== handle) return SP.click(handle);
      return SP.key(value < want ? 'ArrowRight' : 'ArrowLeft');
    }""",
    "choose-list": """() => {
      const want = /^Select (.*) from the list/.exec(Q)[1];
      const select = SP.one('#options');
      if (select.value === want && M.typed) return SP.click(SP.one('#area button'));
      if (document.activeElement !== select) return SP.click(select);
      if (!M.typed) { M.typed = true; return SP.type(want); }
      M.typed = true;
      return SP.key('Enter');
    }""",
    "click-scroll-list": """() => {
      const m = /^Select (.*) from the scroll list and click Submit\\.$/.exec(Q);
      const wanted = m[1].split(', ');
      const select = SP.one('#options');
      const options = Array.from(select.options);
      const selected = options.filter((o) => o.selected).map((o) => o.text);
      const done = selected.length === wanted.length && wanted.every((w) => selected.includes(w));
      if (done) return SP.click(SP.one('#area button'));
      if (document.activeElement !== select) return SP.click(select);
      // Type-ahead selects the first wanted option alone; ctrl+arrows move to the second
      // without touching the selection, and ctrl+Space adds it.
      if (!selected.includes(wanted[0]) || selected.length > wanted.length) return SP.type(wanted[0]);
      const second = options.findIndex((o) => o.text === wanted[1]);
      M.active = M.active === undefined ? options.findIndex((o) => o.text === wanted[0]) : M.active;
      if (M.active === second) { M.active = undefined; return SP.key('ctrl+Space'); }
      const down = second > M.active;
      M.active += down ? 1 : -1;
      return SP.key(down ? 'ctrl+ArrowDown' : 'ctrl+ArrowUp');
    }""",
}
