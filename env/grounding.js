// The visible text items of the page, as a screenshot of its top-left W x H CSS pixels
// shows them (device scale 1: CSS pixels are the screenshot's pixels). One call lists
// them all, so a step pays one round trip. Each item: {text, kind, x0, y0, x1, y1}, the
// box in screenshot pixels, x1/y1 exclusive, clipped to the screenshot.
//
// Text boxes come from Ranges over the text itself, so a word's box hugs the word, not
// its element. Each text node gives one item per line it is drawn on and, when that line
// holds several words, one item per word too: every visible word has an item of its own.
// Form fields give their own box, with their value, placeholder or label as the text.
([W, H, MAX]) => {
  const items = [];
  const full = () => items.length >= MAX;

  const box = (r) => {
    const x0 = Math.max(0, Math.floor(r.left)), y0 = Math.max(0, Math.floor(r.top));
    const x1 = Math.min(W, Math.ceil(r.right)), y1 = Math.min(H, Math.ceil(r.bottom));
    return x1 > x0 && y1 > y0 ? [x0, y0, x1, y1] : null;
  };
  // Drawn where the screenshot is, not under another element: what a hit test at the
  // box's centre finds is the element itself, inside it, or (pointer-events: none) above it.
  const onTop = (el, b) => {
    const hit = document.elementFromPoint((b[0] + b[2]) >> 1, (b[1] + b[3]) >> 1);
    return !!hit && (hit === el || el.contains(hit) || hit.contains(el));
  };
  const add = (text, kind, b) => {
    if (!full()) items.push({ text, kind, x0: b[0], y0: b[1], x1: b[2], y1: b[3] });
  };
  const collapse = (s) => s.replace(/\s+/g, ' ').trim();

  const kindCache = new Map();
  const kindOf = (el) => {
    if (kindCache.has(el)) return kindCache.get(el);
    let kind = 'text';
    for (let e = el; e && e !== document.body; e = e.parentElement) {
      const tag = e.tagName, role = e.getAttribute('role');
      if (tag === 'BUTTON' || role === 'button') kind = 'button';
      else if (tag === 'A' || role === 'link') kind = 'link';
      else if (tag === 'OPTION' || role === 'option') kind = 'option';
      else if (tag === 'SELECT' || role === 'listbox') kind = 'select';
      else if (tag === 'LABEL') kind = 'label';
      else if (/^H[1-6]$/.test(tag) || role === 'heading') kind = 'heading';
      else continue;
      break;
    }
    if (kind === 'text') {
      // Styled as a link (MiniWoB's links are underlined spans with a pointer cursor).
      const s = getComputedStyle(el);
      if (s.cursor === 'pointer' && s.textDecorationLine.includes('underline')) kind = 'link';
    }
    kindCache.set(el, kind);
    return kind;
  };
  // What the screenshot shows of an element's text: CSS may change its case.
  const drawnCase = (el) => {
    const t = getComputedStyle(el).textTransform;
    if (t === 'uppercase') return (text) => text.toUpperCase();
    if (t === 'lowercase') return (text) => text.toLowerCase();
    if (t === 'capitalize') return (text) => text.replace(/(^|\s)(\S)/g, (m, s, c) => s + c.toUpperCase());
    return (text) => text;
  };
  const seen = new Map(); // element -> visible (visibility and opacity of it and its ancestors)
  const visible = (el) => {
    if (!seen.has(el)) seen.set(el, el.checkVisibility({ visibilityProperty: true, opacityProperty: true }));
    return seen.get(el);
  };

  const range = document.createRange();
  const textNode = (node) => {
    const el = node.parentElement;
    range.selectNodeContents(node);
    if (!box(range.getBoundingClientRect()) || !visible(el)) return; // off screen, or hidden
    const lines = []; // [{words: [text], boxes: [box]}], in reading order
    const re = /\S+/g;
    let m;
    while ((m = re.exec(node.data))) {
      range.setStart(node, m.index);
      range.setEnd(node, m.index + m[0].length);
      const b = box(range.getBoundingClientRect());
      if (!b || !onTop(el, b)) continue;
      const line = lines[lines.length - 1];
      // A new line when this word's middle is below the last word's box.
      if (!line || (b[1] + b[3]) / 2 > line.boxes[line.boxes.length - 1][3]) {
        lines.push({ words: [m[0]], boxes: [b] });
      } else {
        line.words.push(m[0]);
        line.boxes.push(b);
      }
    }
    if (!lines.length) return;
    const kind = kindOf(el), drawn = drawnCase(el);
    for (const { words, boxes } of lines) {
      const union = [
        Math.min(...boxes.map((b) => b[0])), Math.min(...boxes.map((b) => b[1])),
        Math.max(...boxes.map((b) => b[2])), Math.max(...boxes.map((b) => b[3])),
      ];
      add(drawn(words.join(' ')), kind, union);
      if (words.length > 1) words.forEach((w, i) => add(drawn(w), kind, boxes[i]));
    }
  };

  const labelText = (input) => {
    const label = input.labels && input.labels[0];
    return collapse((label && label.textContent) || input.getAttribute('aria-label') || '');
  };
  const BUTTON_TYPES = new Set(['button', 'submit', 'reset', 'image']);
  // Form fields draw their text where no Range reaches: the field's own box.
  const field = (el) => {
    const b = box(el.getBoundingClientRect());
    if (!b || !visible(el) || !onTop(el, b)) return;
    const type = el.tagName === 'INPUT' ? el.type : el.tagName.toLowerCase();
    let kind = 'input', text;
    if (type === 'checkbox' || type === 'radio') [kind, text] = [type, labelText(el)];
    else if (BUTTON_TYPES.has(type)) [kind, text] = ['button', el.value || el.alt || ''];
    else if (type === 'select') {
      const option = el.selectedOptions && el.selectedOptions[0];
      [kind, text] = ['select', option ? option.text : ''];
    } else if (type === 'password' && el.value) text = '•'.repeat(el.value.length);
    else text = el.value || el.placeholder || '';
    text = collapse(text);
    if (text) add(kind === 'input' || kind === 'button' ? drawnCase(el)(text) : text, kind, b);
  };

  const SKIP = new Set(['SCRIPT', 'STYLE', 'NOSCRIPT', 'TEMPLATE', 'HEAD', 'TITLE']);
  const FIELDS = new Set(['INPUT', 'TEXTAREA', 'SELECT']);
  const walker = document.createTreeWalker(
    document.body || document.documentElement,
    NodeFilter.SHOW_ELEMENT | NodeFilter.SHOW_TEXT,
    {
      acceptNode: (node) => {
        if (node.nodeType === Node.TEXT_NODE) {
          return /\S/.test(node.data) ? NodeFilter.FILTER_ACCEPT : NodeFilter.FILTER_SKIP;
        }
        if (SKIP.has(node.tagName)) return NodeFilter.FILTER_REJECT;
        // display: none (and content-visibility: hidden) hide a whole subtree; an element
        // of display: contents has no box of its own, but its children may.
        if (!node.checkVisibility() && getComputedStyle(node).display !== 'contents') {
          return NodeFilter.FILTER_REJECT;
        }
        return FIELDS.has(node.tagName) ? NodeFilter.FILTER_ACCEPT : NodeFilter.FILTER_SKIP;
      },
    },
  );
  // A field's own child nodes (a <textarea>'s first value, a closed <select>'s options)
  // are not drawn as text: their Ranges have no box, so the walk passes them by.
  for (let node = walker.nextNode(); node && !full(); node = walker.nextNode()) {
    if (node.nodeType === Node.TEXT_NODE) textNode(node);
    else field(node);
  }
  return items;
}
