"""MiniWoB++ experts, reading and reasoning: tables, words, counting, arithmetic, number games.
In the form of miniwob_experts.py (see library.js for SP, M and Q)."""

from __future__ import annotations

from .miniwob_experts import SHAPE_MATCHER

# The value the table (#tab) gives for a key: a row is <td>key</td><td>value</td>; the page
# compares the answer with the value exactly, so it is read unnormalised.
_TABLE_VALUE = """const valueOf = (key) => {
    const row = SP.all('#tab tr').find((tr) => SP.text(tr.cells[0]) === key);
    return row.cells[1].textContent;
  };"""

# Type the answer the page's arithmetic asks for into #math-answer, then submit.
_ANSWER_THEN_SUBMIT = """() => {
  ANSWER
  return SP.fill(SP.one('#math-answer'), String(answer)) || SP.click(SP.one('#subbtn'));
}"""

POLICIES: dict[str, str] = {
    "read-table": f"""() => {{
      {_TABLE_VALUE}
      return SP.fill(SP.one('#tt'), valueOf(SP.bold()[0])) || SP.click(SP.one('#subbtn'));
    }}""",
    "read-table-2": f"""() => {{
      {_TABLE_VALUE}
      for (const n of [1, 2]) {{
        const key = SP.text(SP.one('#ll' + n)).replace(/:$/, '');
        const step = SP.fill(SP.one('#tt' + n), valueOf(key));
        if (step) return step;
      }}
      return SP.click(SP.one('#subbtn'));
    }}""",
    "find-word": """() => {
      const n = parseInt(/(\\d+)\\w* word/.exec(Q)[1], 10);
      const words = SP.text(SP.one('#area p')).split(' ');
      // The page scores the word without its punctuation ("amet," is "amet").
      const word = words[n - 1].replace(/[^a-zA-Z]/g, '');
      return SP.fill(SP.one('#answer-input'), word) || SP.click(SP.one('#subbtn'));
    }""",
    "simple-arithmetic": _ANSWER_THEN_SUBMIT.replace(
        "ANSWER",
        """const [a, op, b] = SP.text(SP.one('#math-problem')).split(' ');
  const x = parseInt(a, 10), y = parseInt(b, 10);
  const answer = op === '+' ? x + y : op === '-' ? x - y : x * y;""",
    ),
    "simple-algebra": _ANSWER_THEN_SUBMIT.replace(
        "ANSWER",
        """// "x + d = a", "x - d = a", "d + x = a" or "d - x = a".
  const [left, op, right, , result] = SP.text(SP.one('#math-problem')).split(' ');
  const d = parseInt(left === 'x' ? right : left, 10), a = parseInt(result, 10);
  const answer = op === '+' ? a - d : left === 'x' ? a + d : d - a;""",
    ),
    "visual-addition": _ANSWER_THEN_SUBMIT.replace(
        "ANSWER",
        "const answer = SP.all('#visual-1 .addition-block, #visual-2 .addition-block').length;",
    ),
    "odd-or-even": """() => {
      for (const row of SP.all('#numbers .row')) {
        const n = parseInt(SP.text(SP.one('.display-number', row)), 10);
        const want = SP.one(Math.abs(n % 2) === 1 ? '.odd' : '.even', row);
        if (!want.classList.contains('selected')) return SP.click(want);
      }
      return SP.click(SP.one('#submit'));
    }""",
    "count-shape": f"""() => {{
      // "How many [large|small] [colour] (item|shape|letter|digit|circle|...|q|7)s are there?"
      const matches = shapeMatcher(/^How many (.*)s are there\\?/.exec(Q)[1].split(' '));
      {SHAPE_MATCHER}
      const count = SP.all('#area_svg > *').filter(matches).length;
      return SP.click(SP.byText('#count-buttons button', String(count))[0]);
    }}""",
    "count-sides": """() => {
      // The polygon is drawn on a canvas only: read its pixels. From the centre, the
      // distance to the outline along each direction rises and falls once per side, so
      // the number of sides is the strongest of its harmonics 3..7.
      const canvas = SP.one('#c');
      const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
      const cx = canvas.width / 2, cy = canvas.height / 2;
      const ink = (x, y) => {
        const px = Math.round(x), py = Math.round(y);
        if (px < 0 || py < 0 || px >= canvas.width || py >= canvas.height) return true;
        return pixels[(py * canvas.width + px) * 4 + 3] > 100;
      };
      const N = 360, distances = [];
      for (let i = 0; i < N; i++) {
        const a = (2 * Math.PI * i) / N;
        let r = 5;
        while (r < 60 && !ink(cx + r * Math.cos(a), cy + r * Math.sin(a))) r += 0.25;
        distances.push(r);
      }
      let sides = 3, strongest = -1;
      for (let k = 3; k <= 7; k++) {
        let re = 0, im = 0;
        distances.forEach((d, i) => {
          re += d * Math.cos((2 * Math.PI * k * i) / N);
          im += d * Math.sin((2 * Math.PI * k * i) / N);
        });
        if (re * re + im * im > strongest) { strongest = re * re + im * im; sides = k; }
      }
      return SP.click(SP.one('#form button[data-sides="' + sides + '"]'));
    }""",
    "guess-number": """() => {
      // Binary search on 0-9. The page shows only the last guess's feedback, so the
      // bounds learnt so far are remembered; the feedback on screen updates them.
      if (M.lo === undefined) { M.lo = 0; M.hi = 9; }
      const feedback = (id) => {
        const div = SP.one(id);
        const n = parseInt(SP.text(SP.one('span', div)), 10);
        return div.classList.contains('hide') || isNaN(n) ? null : n;
      };
      const higher = feedback('#higher'), lower = feedback('#lower');
      if (higher !== null) M.lo = Math.max(M.lo, higher + 1);
      if (lower !== null) M.hi = Math.min(M.hi, lower - 1);
      if (M.lo > M.hi) { M.lo = 0; M.hi = 9; }
      const guess = String(Math.floor((M.lo + M.hi) / 2));
      const input = SP.one('#tt');
      if (input.value === guess) {
        // Enter submits the form from the field, which keeps the focus for the next guess.
        return document.activeElement === input ? SP.key('Enter') : SP.click(SP.one('#subbtn'));
      }
      if (document.activeElement !== input) {
        // Click the left of the field: its right end holds the spin buttons, which step the number.
        M.selected = null;
        const r = input.getBoundingClientRect();
        return { type: 'click', x: Math.floor(r.left + 5), y: Math.floor(r.top + r.height / 2) };
      }
      // A number field has no selection range to read: remember what ctrl+a selected.
      if (input.value !== '' && M.selected !== input.value) {
        M.selected = input.value;
        return SP.key('ctrl+a');
      }
      M.selected = null;
      return SP.type(guess);
    }""",
    "find-greatest": """() => {
      // The cards lie face down; clicking one turns it up (and the others down). Turn up
      // each card not yet seen, then the greatest, then submit.
      M.seen = M.seen || {};
      const cards = SP.all('#cardholder .card');
      const up = cards.find((c) => !c.classList.contains('hidden'));
      if (up) M.seen[up.getAttribute('data-index')] = parseInt(SP.text(up), 10);
      const unseen = cards.find((c) => !(c.getAttribute('data-index') in M.seen));
      if (unseen) return SP.click(unseen);
      const value = (c) => M.seen[c.getAttribute('data-index')];
      const best = cards.reduce((a, b) => (value(b) > value(a) ? b : a));
      return best === up ? SP.click(SP.one('#submit')) : SP.click(best);
    }""",
    "ascending-numbers": """() => {
      // Clicking "1" hides every number under a square; the squares then go in order,
      // and the page removes each one clicked, so the next is always the first square.
      const one = SP.all('#area_svg text').find((t) => SP.text(t) === '1');
      return SP.click(one || SP.one('#area_svg rect'));
    }""",
}
