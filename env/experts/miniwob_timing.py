"""MiniWoB++ experts, timing, games and text editing: tasks that move or wait, layouts that change, copying, selecting and transforming text, the terminal.
In the form of miniwob_experts.py (see library.js for SP, M and Q)."""

from __future__ import annotations

# The three fields of the movie search, found by the label beside them (the layout and
# the order of the rows change from episode to episode).
_MOVIE_SEARCH = """() => {
  const [genre, director, year] = SP.bold();
  const field = (label) => SP.all('#area input[type=text]').find((input) => {
    const row = input.closest('p, tr, .row, .field, .ui-entry');
    return row && label.test(SP.text(row));
  });
  return SP.fill(field(/genre/i), genre) || SP.fill(field(/director/i), director)
    || SP.fill(field(/year|date/i), year)
    || SP.click(SP.one('#area button, #area .final, #area .ui-submit'));
}"""

# Copy a textarea's text into #answer-input with the clipboard: select it all, ctrl+c,
# then ctrl+v into the field. The page cannot show what the clipboard holds, so M says
# whether our copy of this text is there.
_COPY_PASTE = """() => {
  const source = SOURCE;
  const answer = SP.one('#answer-input');
  const text = source.value;
  if (answer.value === text) return SP.click(SP.one('#subbtn'));
  const allSelected = (el) => el.selectionStart === 0 && el.selectionEnd === el.value.length;
  if (M.pasted && answer.value !== text) M.copied = null;  // the clipboard held something else
  M.pasted = false;
  if (M.copied !== text) {
    if (document.activeElement !== source) return SP.click(source);
    if (!allSelected(source)) return SP.key('ctrl+a');
    M.copied = text;
    return SP.key('ctrl+c');
  }
  if (document.activeElement !== answer) return SP.click(answer);
  if (answer.value.length > 0 && !allSelected(answer)) return SP.key('ctrl+a');
  M.pasted = true;
  return SP.key('ctrl+v');
}"""

# Select the text of `el` by dragging from its first letter's left edge to just past its
# last letter, then submit; the page compares letters only, not whitespace.
_HIGHLIGHT = """() => {
  const el = TARGET;
  const letters = (t) => t.replace(/\\s/g, '');
  if (letters(window.getSelection().toString()) === letters(el.textContent)) {
    return SP.click(SP.one('#subbtn'));
  }
  const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
  const chars = [];
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    for (let i = 0; i < node.data.length; i++) if (/\\S/.test(node.data[i])) chars.push([node, i]);
  }
  const box = ([node, i]) => {
    const range = document.createRange();
    range.setStart(node, i);
    range.setEnd(node, i + 1);
    return range.getClientRects()[0];
  };
  const first = box(chars[0]), last = box(chars[chars.length - 1]);
  // Just past the last letter is still on its line: whatever follows there is a space.
  return { type: 'drag', x: Math.floor(first.left), y: Math.floor(first.top + first.height / 2),
    x2: Math.min(Math.floor(last.right) + 1, W - 1), y2: Math.floor(last.top + last.height / 2) };
}"""

POLICIES: dict[str, str] = {
    "multi-layouts": _MOVIE_SEARCH,
    "multi-orderings": _MOVIE_SEARCH,
    "generate-number": """() => {
      const n = parseInt(SP.text(SP.one('#display-number')), 10);
      const less = /less than (\\d+)/.exec(Q), greater = /greater than (\\d+)/.exec(Q);
      const good = !isNaN(n) && (less ? n < +less[1] : greater ? n > +greater[1]
        : /odd/.test(Q) ? n % 2 === 1 : n % 2 === 0);
      return SP.click(SP.one(good ? '#submit' : '#generate'));
    }""",
    "text-transform": """() => {
      const want = SP.all('#captcha span').map((s) => s.textContent).join('');
      return SP.fill(SP.one('#tt'), want) || SP.click(SP.one('#subbtn'));
    }""",
    "copy-paste": _COPY_PASTE.replace("SOURCE", "SP.one('#to-copy')"),
    "copy-paste-2": _COPY_PASTE.replace(
        "SOURCE", "SP.one('#text-' + (['1st', '2nd', '3rd'].indexOf(SP.bold()[0]) + 1))"
    ),
    "terminal": """() => {
      // ls first, as a person would: the files are listed nowhere else.
      const listing = SP.all('#terminal .terminal-output').find((out) => {
        const line = out.previousElementSibling;
        return line && /^\\s*ls\\s*$/.test(SP.text(line.querySelector('.command') || line));
      });
      let want = 'ls';
      if (listing) {
        const ext = /extension \\.(\\S+)/.exec(Q);
        const files = SP.text(listing).split(' ');
        const file = files.find((f) => ext ? f.endsWith('.' + ext[1]) : !f.includes('.'));
        want = 'rm ' + file;
      }
      const typed = SP.one('#active-input').textContent;
      if (document.activeElement !== SP.one('#terminal-target')) return SP.click(SP.one('#terminal-contents'));
      if (typed === want) return SP.key('Enter');
      if (!want.startsWith(typed)) return SP.key('Backspace');
      return SP.type(want.slice(typed.length));
    }""",
    "highlight-text": _HIGHLIGHT.replace("TARGET", "SP.one('#randomText')"),
    "highlight-text-2": _HIGHLIGHT.replace(
        "TARGET",
        "SP.all('#randomText p')[['1st', '2nd', '3rd'].indexOf(/the (\\w+) paragraph/.exec(Q)[1])]",
    ),
    "button-delay": """() => {
      const delay = 1000 * parseInt(/wait (\\d+) second/.exec(Q)[1], 10);
      if (buttonsPushed.length === 0) return SP.click(SP.one('#subbtn'));
      // Click TWO on the step that lands nearest the delay. A step takes about as long as
      // the last one of its kind did: waits while a whole one fits, then pointer moves onto
      // TWO, which are shorter, for a finer aim.
      const now = Date.now();
      M.ms = M.ms || { wait: 120, move: 40 };
      if (M.last) M.ms[M.last.type] = Math.min(now - M.last.t, 500);
      const left = delay - (now - currentTime);
      let action = null;
      if (left > M.ms.wait + M.ms.move / 2) action = SP.wait();
      else if (left > M.ms.move / 2) action = SP.move(SP.one('#subbtn2'));
      action = action || SP.click(SP.one('#subbtn2'));
      M.last = { type: action.type, t: now };
      return action;
    }""",
    "tic-tac-toe": """() => {
      // Play X for the best chance of a win against the page's computer, modelled as it
      // plays: 55% a random free cell, else its own win, else a block, else random.
      const LINES = [[0, 1, 2], [3, 4, 5], [6, 7, 8], [0, 3, 6], [1, 4, 7], [2, 5, 8], [0, 4, 8], [2, 4, 6]];
      // The page's checks, in its order: each group answers its first (empty, a, b) match.
      const row = (e, a, b) => [0, 1, 2].map((i) => [3 * i + e, 3 * i + a, 3 * i + b]);
      const GROUPS = [row(0, 1, 2), row(1, 0, 2), row(2, 0, 1),
        [[0, 4, 8], [4, 0, 8], [8, 0, 4], [2, 4, 6], [4, 2, 6], [6, 2, 4]],
        [[0, 3, 6], [3, 0, 6], [6, 0, 3]], [[1, 4, 7], [4, 1, 7], [7, 1, 4]], [[2, 5, 8], [5, 2, 8], [8, 2, 5]]];
      const pick = (b, m) => {
        const found = GROUPS.map((g) => g.find(([e, a, c]) => b[e] === 0 && b[a] === m && b[c] === m))
          .filter((t) => t !== undefined);
        return found.length ? found[found.length - 1][0] : undefined;
      };
      const wins = (b, v) => LINES.some((l) => l.every((i) => b[i] === v));
      const free = (b) => b.map((v, i) => (v === 0 ? i : -1)).filter((i) => i >= 0);
      const memo = new Map();
      const xToMove = (b) => {
        const key = b.join(',');
        if (!memo.has(key)) memo.set(key, Math.max(...free(b).map((i) => afterX(b, i))));
        return memo.get(key);
      };
      const afterX = (b, i) => {
        const next = b.slice(); next[i] = 1;
        if (wins(next, 1)) return 1;
        const cells = free(next);
        if (cells.length === 0) return 0;
        const afterO = (j) => { const o = next.slice(); o[j] = -1;
          return wins(o, -1) || cells.length === 1 ? 0 : xToMove(o); };
        const random = cells.reduce((sum, j) => sum + afterO(j), 0) / cells.length;
        const smartMove = pick(next, -1) !== undefined ? pick(next, -1) : pick(next, 1);
        const smart = smartMove === undefined ? random : afterO(smartMove);
        return 0.55 * random + 0.45 * smart;
      };
      const cells = SP.all('#area .ttt-row span');
      const board = cells.map((c) => (c.classList.contains('mark-x') ? 1 : c.classList.contains('mark-o') ? -1 : 0));
      const best = free(board).reduce((a, i) => (afterX(board, i) > afterX(board, a) ? i : a));
      return SP.click(cells[best]);
    }""",
    "simon-says": """() => {
      // The page shows the sequence once, blink k at 600 (k + 1) ms into the episode, and
      // keeps no trace of it or of the pushes: a watcher of ours logs both from the first
      // call on; a blink under way at that call is read off the page.
      const log = () => {
        if (!window.__spSimon || window.__spSimon.episode !== WOB_EPISODE_ID) {
          window.__spSimon = { episode: WOB_EPISODE_ID, blinks: [], pushes: [] };
        }
        return window.__spSimon;
      };
      const saw = (button) => { log().blinks[Math.round((Date.now() - core.ept0) / 600) - 1] = button.id; };
      if (!window.__spSimonWatching) {
        window.__spSimonWatching = true;
        new MutationObserver((records) => {
          for (const r of records) {
            if (r.target.classList.contains('push') && !/push/.test(r.oldValue || '')) saw(r.target);
          }
        }).observe(SP.one('#area'), { attributes: true, attributeFilter: ['class'], attributeOldValue: true, subtree: true });
        document.addEventListener('click', (e) => {
          const button = e.target.closest && e.target.closest('#area button');
          if (button) log().pushes.push(button.id);
        }, true);
        SP.all('#area button.push').forEach(saw);
      }
      const { blinks, pushes } = log();
      // 3 to 5 blinks: the show is over once the next one is well overdue.
      const n = blinks.length;
      const over = n === 5 || (n >= 3 && Date.now() - core.ept0 > 600 * (n + 1) + 500);
      if (!over || pushes.length >= n) return SP.wait();
      return SP.click(SP.one('#' + blinks[pushes.length]));
    }""",
    "chase-circle": """() => {
      const circle = SP.one('#circ');
      const r = circle.getBoundingClientRect();
      const now = Date.now();
      const at = [r.left + r.width / 2, r.top + r.height / 2];
      // Its velocity from the last call, to aim where it will be when the pointer lands.
      const dt = M.seen ? now - M.seen.t : 0;
      const v = dt > 0 ? [(at[0] - M.seen.at[0]) / dt, (at[1] - M.seen.at[1]) / dt] : [0, 0];
      M.seen = { at, t: now };
      const ahead = (ms) => [at[0] + v[0] * ms, at[1] + v[1] * ms];
      const far = (p, q) => Math.hypot(p[0] - q[0], p[1] - q[1]) > 10;
      // Wait while the pointer stays well inside for a whole wait (a wait step takes about
      // 150 ms); else move just ahead of it.
      if (M.pointer && circle.matches(':hover') && !far(ahead(150), M.pointer)) return SP.wait();
      const p = ahead(30).map(Math.round);
      const x = Math.min(Math.max(p[0], 0), W - 1), y = Math.min(Math.max(p[1], 0), H - 1);
      M.pointer = [x, y];
      return { type: 'move', x, y };
    }""",
    "moving-items": """() => {
      // A click counts within 1.3 radii (23 px) of a circle's centre, on the svg.
      const svg = SP.one('#area_svg').getBoundingClientRect();
      const x0 = Math.max(svg.left, 0), x1 = Math.min(svg.right, W) - 1;
      const y0 = Math.max(svg.top, 0), y1 = Math.min(svg.bottom, H) - 1;
      for (const c of SP.all('#area_svg circle.item')) {
        const r = c.getBoundingClientRect();
        const cx = r.left + r.width / 2, cy = r.top + r.height / 2;
        const x = Math.round(Math.min(Math.max(cx, x0), x1)), y = Math.round(Math.min(Math.max(cy, y0), y1));
        if (Math.abs(x - cx) < 12 && Math.abs(y - cy) < 12) return { type: 'click', x, y };
      }
      return SP.wait();
    }""",
    "hot-cold": """() => {
      // The page answers a pointer's distance to a hidden spot in four bands (HOT < 5 px,
      // WARM < 10, COLD < 40, ICE COLD) and keeps no trace of where it was asked: a
      // watcher of ours logs each answer with its point (per episode) from the first call
      // on. The spot is narrowed down to the cells that fit every answer; each move goes
      // where the answer splits them most evenly; the click, once one point is within
      // 5 px of all of them.
      const area = SP.one('#touch-area');
      const box = area.getBoundingClientRect();
      const top = 50;  // the page measures y from here down (the query above is 50 px)
      const log = () => {
        if (!window.__spHotCold || window.__spHotCold.episode !== WOB_EPISODE_ID) {
          window.__spHotCold = { episode: WOB_EPISODE_ID, answers: [] };
        }
        return window.__spHotCold;
      };
      if (!window.__spHotColdWatching) {
        window.__spHotColdWatching = true;
        // After the page's own handler (it bubbles to the document last): the answer shown
        // is this move's.
        document.addEventListener('mousemove', (e) => {
          const signal = SP.one('#signal');
          if (signal && area.contains(e.target)) log().answers.push([e.pageX, e.pageY, SP.text(signal)]);
        });
      }
      const answers = log().answers;
      const band = (d) => (d < 5 ? 'HOT' : d < 10 ? 'WARM' : d < 40 ? 'COLD' : 'ICE COLD');
      const last = answers[answers.length - 1];
      if (last && last[2] === 'HOT') return { type: 'click', x: last[0], y: last[1] };
      let cells = [];
      for (let x = 5; x < 155; x++) for (let y = 5; y < 120; y++) cells.push([x, y + top]);
      for (const [ax, ay, said] of answers) {
        cells = cells.filter(([x, y]) => band(Math.hypot(x - ax, y - ay)) === said);
      }
      if (cells.length === 0) return null;
      const xs = cells.map((c) => c[0]), ys = cells.map((c) => c[1]);
      const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
      if (x1 - x0 < 10 && y1 - y0 < 10) {
        for (let x = x0; x <= x1; x++) for (let y = y0; y <= y1; y++) {
          if (cells.every(([cx, cy]) => Math.hypot(cx - x, cy - y) < 5)) return { type: 'click', x, y };
        }
      }
      // Score moves on a sample of the cells: fewer cells left on average is better.
      const sample = cells.filter((_, i) => i % Math.ceil(cells.length / 1500) === 0);
      const stepPx = cells.length > 2000 ? 5 : 1;
      const asked = new Set(answers.map((a) => a[0] + ',' + a[1]));
      let best = null, bestScore = Infinity;
      for (let x = Math.max(Math.ceil(box.left) + 1, x0 - 40); x <= Math.min(box.right - 2, x1 + 40); x += stepPx) {
        for (let y = Math.max(Math.ceil(box.top) + 1, y0 - 40); y <= Math.min(box.bottom - 2, y1 + 40); y += stepPx) {
          if (asked.has(x + ',' + y)) continue;
          const counts = { HOT: 0, WARM: 0, COLD: 0, 'ICE COLD': 0 };
          for (const [cx, cy] of sample) counts[band(Math.hypot(cx - x, cy - y))]++;
          const score = counts.HOT ** 2 + counts.WARM ** 2 + counts.COLD ** 2 + counts['ICE COLD'] ** 2;
          if (score < bestScore) { bestScore = score; best = [x, y]; }
        }
      }
      return { type: 'move', x: best[0], y: best[1] };
    }""",
    "text-editor": """() => {
      // The formats of each letter, read off Quill's markup, judged as the page judges
      // them (its Delta ops: runs of letters with equal formats).
      const COLORS = { red: ['#e60000', '#facccc', '#f06666', '#a10000', '#5c0000'],
        orange: ['#ff9900', '#ffebcc', '#ffc266', '#b26b00', '#663d00'],
        yellow: ['#ffff00', '#ffffcc', '#ffff66', '#b2b200', '#666600'],
        green: ['#008a00', '#cce8cc', '#66b966', '#006100', '#003700'],
        blue: ['#0066cc', '#cce0f5', '#66a3e0', '#0047b2', '#002966'],
        purple: ['#9933ff', '#ebd6ff', '#c285ff', '#6b24b2', '#3d1466'] };
      const KEY = { bold: 'bold', italics: 'italic', underlined: 'underline', colored: 'color' };
      const hex = (rgb) => '#' + rgb.match(/\\d+/g).slice(0, 3).map((n) => (+n).toString(16).padStart(2, '0')).join('');
      const page = SP.one('#editor .ql-editor');
      const chars = [];  // [text node, offset, letter, formats]
      const walker = document.createTreeWalker(page, NodeFilter.SHOW_TEXT);
      for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        const formats = {};
        for (let el = node.parentElement; el !== page; el = el.parentElement) {
          if (el.tagName === 'STRONG') formats.bold = true;
          if (el.tagName === 'EM') formats.italic = true;
          if (el.tagName === 'U') formats.underline = true;
          if (el.style.color) formats.color = hex(el.style.color);
        }
        for (let i = 0; i < node.data.length; i++) chars.push([node, i, node.data[i], formats]);
      }
      const text = chars.map((c) => c[2]).join('');
      const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
      const ops = [];
      for (const [, , letter, formats] of chars) {
        const op = ops[ops.length - 1];
        if (op && same(op.formats, formats)) op.text += letter;
        else ops.push({ text: letter, formats });
      }
      const [target, style] = SP.bold();
      const key = KEY[style] || 'color';
      const good = (formats) => Object.keys(formats).length === 1 && (key === 'color'
        ? (COLORS[style] || []).includes(formats.color) : formats[key] === true);
      const everything = target === 'everything';
      const words = text.split(' ');
      const start = words.slice(0, words.indexOf(target)).join(' ').length + (words.indexOf(target) > 0 ? 1 : 0);
      const done = everything ? ops.length === 1 && ops[0].text === text && good(ops[0].formats)
        : ops.filter((op) => Object.keys(op.formats).length > 0).length === 1
          && ops.some((op) => op.text.replace(/\\s/g, '') === target && good(op.formats));
      if (done) return SP.click(SP.one('#subbtn'));
      // Otherwise format the target's letters, after wiping every format if something
      // outside the target has one.
      let [from, to] = everything ? [0, text.length] : [start, start + target.length];
      let want = key === 'color' ? { color: COLORS[style][0] } : { [key]: true };
      const inside = (i) => i >= from && i < to;
      if (chars.some((c, i) => !inside(i) && /\\S/.test(c[2]) && Object.keys(c[3]).length > 0)
          || chars.slice(from, to).every((c) => good(c[3]))) {
        [from, to, want] = [0, text.length, {}];
      }
      const range = chars.slice(from, to);
      const picker = SP.one('.ql-toolbar .ql-color');
      const fix = ['bold', 'italic', 'underline', 'color'].find((f) => range.some((c) => f === 'color'
        ? (want.color ? !COLORS[style].includes(c[3].color) : c[3].color !== undefined)
        : !!c[3][f] !== !!want[f]));
      if (!fix) return null;
      // Is exactly the range selected (give or take spaces at its ends)? The toolbar formats
      // the range Quill has taken from the page's selection (a moment after it changes),
      // so both must hold it.
      const sel = window.getSelection();
      const selected = chars.map(([node, i]) => sel.rangeCount > 0 && !sel.isCollapsed
        && sel.getRangeAt(0).comparePoint(node, i) === 0 && sel.getRangeAt(0).comparePoint(node, i + 1) === 0);
      const exactly = (isIn) => chars.every((c, i) => isIn(i) === inside(i) || /\\s/.test(c[2]));
      const kept = editor.selection.savedRange;
      const quillExact = kept && kept.length > 0 && exactly((i) => i >= kept.index && i < kept.index + kept.length);
      const exact = exactly((i) => selected[i]) && quillExact;
      if (exactly((i) => selected[i]) && !quillExact && document.activeElement === page) {
        // Quill takes no selection while it thinks a mouse button is down: a click ends that.
        M.lagging = (M.lagging || 0) + 1;
        if (M.lagging <= 2) return SP.wait();
        M.lagging = 0;
        return SP.click(page);
      }
      const open = picker.classList.contains('ql-expanded');
      // An open picker has taken the focus: Quill applies its colour to the range it kept.
      if (!exact && !(open && fix === 'color')) {
        if (open) return SP.click(SP.one('.ql-picker-label', picker));
        if (from === 0 && to === text.length) {
          return document.activeElement === page ? SP.key('ctrl+a') : SP.click(page);
        }
        // A drag that starts on selected text would move that text: collapse it first.
        const box = (i) => { const r = document.createRange(); r.setStart(chars[i][0], chars[i][1]);
          r.setEnd(chars[i][0], chars[i][1] + 1); return r.getClientRects()[0]; };
        const first = box(from), last = box(to - 1);
        const x = Math.round(first.left), y = Math.floor(first.top + first.height / 2);
        if (!sel.isCollapsed && selected.some((s) => s)) return { type: 'click', x, y };
        return { type: 'drag', x, y, x2: Math.round(last.right), y2: Math.floor(last.top + last.height / 2) };
      }
      if (fix !== 'color') return SP.click(SP.one('.ql-toolbar .ql-' + fix));
      if (!open) return SP.click(SP.one('.ql-picker-label', picker));
      const item = want.color ? '.ql-picker-item[data-value="' + want.color + '"]' : '.ql-picker-item:not([data-value])';
      return SP.click(SP.one(item, picker));
    }""",
}

# Where the page itself bounds the expert (env/experts/base.py: expert_limits).
CEILINGS: dict[str, str] = {
    "tic-tac-toe": "the computer moves first in about half the games and wins or blocks "
    "when it can 45% of the time, so no player wins every game: a model of the page's own "
    "play gives an optimal win rate of 84.9% (96.6% moving first, 72.7% second)",
}
FROM_START_ONLY: dict[str, str] = {
    "simon-says": "the sequence blinks once and the page keeps no record of it: a player "
    "who did not watch from the start cannot repeat it",
}
