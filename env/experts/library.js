// Helpers shared by every expert policy. Points are integer CSS pixels of the viewport,
// which are the screenshot's pixels (device scale factor 1).
const SP = {};
// Per-episode memory: survives between steps, forgotten when the page starts a new episode.
if (!window.__spMemory || window.__spMemory.episode !== WOB_EPISODE_ID) {
  window.__spMemory = { episode: WOB_EPISODE_ID };
}
const M = window.__spMemory;
const Q = (document.getElementById('query') || document.body).textContent.replace(/\s+/g, ' ').trim();

SP.all = (sel, root) => Array.from((root || document).querySelectorAll(sel));
SP.one = (sel, root) => (root || document).querySelector(sel);
SP.text = (el) => el.textContent.replace(/\s+/g, ' ').trim();
SP.quoted = () => { const m = /"([^"]*)"/.exec(Q); return m ? m[1] : null; };
SP.bold = () => SP.all('#query .bold, #query b, #query strong').map(SP.text);

// A point inside `el` where the element itself (or its descendant) is what a click hits:
// elements overlap, so the centre of the box is not always on the element.
SP.point = (el) => {
  if (!el) return null;
  const rects = Array.from(el.getClientRects());
  const fractions = [0.5, 0.4, 0.6, 0.3, 0.7, 0.2, 0.8, 0.1, 0.9, 0.02, 0.98];
  for (const r of rects) {
    const x0 = Math.max(r.left, 0), x1 = Math.min(r.right, W);
    const y0 = Math.max(r.top, 0), y1 = Math.min(r.bottom, H);
    if (x1 - x0 < 1 || y1 - y0 < 1) continue;
    const candidates = [];
    for (const fx of fractions) for (const fy of fractions) {
      const x = Math.min(Math.max(Math.floor(x0 + fx * (x1 - x0)), Math.ceil(x0)), Math.ceil(x1) - 1);
      const y = Math.min(Math.max(Math.floor(y0 + fy * (y1 - y0)), Math.ceil(y0)), Math.ceil(y1) - 1);
      candidates.push([Math.abs(fx - 0.5) + Math.abs(fy - 0.5), x, y]);
    }
    candidates.sort((a, b) => a[0] - b[0]);
    for (const [, x, y] of candidates) {
      const hit = document.elementFromPoint(x, y);
      if (hit && (hit === el || el.contains(hit))) return [x, y];
    }
  }
  return null;
};
SP.visible = (el) => SP.point(el) !== null;
// A point on the words an element shows itself (a label's text, not the box it wraps): a
// label toggles its checkbox wherever it is clicked, and a click on the word is one a
// reader of the screen can learn, since it lands where the task's word is drawn.
SP.textPoint = (el) => {
  if (!el) return null;
  const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (!node.textContent.trim()) continue;
    const range = document.createRange();
    range.selectNodeContents(node);
    const r = range.getBoundingClientRect();
    const x = Math.floor(r.left + r.width / 2), y = Math.floor(r.top + r.height / 2);
    const hit = document.elementFromPoint(x, y);
    if (r.width >= 1 && hit && (hit === el || el.contains(hit))) return [x, y];
  }
  return SP.point(el);
};
SP.clickText = (el) => { const p = SP.textPoint(el); return p ? { type: 'click', x: p[0], y: p[1] } : null; };
SP.click = (el) => { const p = SP.point(el); return p ? { type: 'click', x: p[0], y: p[1] } : null; };
SP.move = (el) => { const p = SP.point(el); return p ? { type: 'move', x: p[0], y: p[1] } : null; };
SP.key = (combo) => ({ type: 'key', key: combo });
SP.type = (text) => ({ type: 'type', text: text });
SP.wait = () => ({ type: 'wait' });
SP.byText = (sel, text) => SP.all(sel).filter((el) => SP.text(el) === text);
SP.firstVisible = (els) => els.find(SP.visible) || null;
SP.animating = () => !!(window.jQuery && window.jQuery(':animated').length);

// Make `input` hold exactly `value`, one action per call; null once it does.
SP.fill = (input, value) => {
  if (input.value === value) return null;
  if (document.activeElement !== input) return SP.click(input);
  const all = input.value.length > 0 && input.selectionStart === 0 && input.selectionEnd === input.value.length;
  if (input.value.length > 0 && !all) return SP.key('ctrl+a');
  return SP.type(value);
};

// A date or time input (segments the browser draws: month/day/year, hours/minutes) that
// should hold `value`: click its first segment (the box's left end), where typing starts,
// then type `keys` (the segments' digits); null once it holds it. After a typing that did
// not take, the next call clicks again.
SP.fillSegments = (input, value, keys) => {
  if (input.value === value) return null;
  if (document.activeElement !== input || M.typed) {
    const r = input.getBoundingClientRect();
    M.typed = false;
    return { type: 'click', x: Math.floor(r.left + 8), y: Math.floor(r.top + r.height / 2) };
  }
  M.typed = true;
  return SP.type(keys);
};

// The policy may return null when it has nothing to do yet (an animation is running).
SP.finish = (action) => action || SP.wait();
