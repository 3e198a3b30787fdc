"""MiniWoB++ experts, dragging and drawing: boxes, shapes, sortable lists, lines, angles, the colour wheel.
In the form of miniwob_experts.py (see library.js for SP, M and Q); the helpers below are
pasted at the top of the functions that use them."""

from __future__ import annotations

# A drag from wherever `el` shows itself to that point moved by (dx, dy), or null when
# the element is hidden or the drop would land off screen.
_DRAG_BY = """
const dragBy = (el, dx, dy) => {
  const p = SP.point(el);
  if (!p) return null;
  const x2 = Math.round(p[0] + dx), y2 = Math.round(p[1] + dy);
  if (x2 < 0 || x2 >= W || y2 < 0 || y2 >= H) return null;
  return { type: 'drag', x: p[0], y: p[1], x2: x2, y2: y2 };
};"""

# d3's shape drag (common/shapes.js) puts the shape's top-left corner at the pointer less
# a fraction of its width, wherever it was grabbed; the page scores that corner (its
# bounding box plus the drag's translate).
_SHAPES = (
    _DRAG_BY
    + """
const GRAB = { rect: 0.5, circle: 0.6, polygon: 0.4 };
const TAG = { rectangles: 'rect', circles: 'circle', triangles: 'polygon' };
const corner = (el) => {
  const box = el.getBBox();
  const shift = (el.getAttribute('transform') || '0,0').replace(/[^0-9,\\-.]+/g, '').split(',');
  return { x: box.x + parseFloat(shift[0]), y: box.y + parseFloat(shift[1]) };
};
const dragCornerTo = (el, x, y) => {
  const lead = GRAB[el.tagName] * el.getBBox().width;
  const p = SP.point(el);
  if (!p) return null;
  // Where the pointer must let go, from where it grabs: the shape jumps to the pointer.
  const svg = el.ownerSVGElement.getScreenCTM();
  return dragBy(el, svg.e + x + lead - p[0], svg.f + y + lead - p[1]);
};
// Of `spots` (corners), the one farthest from every other shape's corner.
const freeSpot = (el, shapes, spots) => {
  const others = shapes.filter((o) => o !== el).map(corner);
  let best = null, bestGap = -1;
  for (const s of spots) {
    const gap = Math.min(1e9, ...others.map((o) => Math.max(Math.abs(o.x - s.x), Math.abs(o.y - s.y))));
    if (gap > bestGap) { best = s; bestGap = gap; }
  }
  return best;
};
// Corners on a grid of `step` px that keep a shape of `size` px inside the box.
const spotsIn = (x, y, w, h, step, size) => {
  const spots = [];
  for (let sy = y + 4; sy + size < y + h - 2; sy += step)
    for (let sx = x + 4; sx + size < x + w - 2; sx += step) spots.push({ x: sx, y: sy });
  return spots;
};
const inBox = (c, x, y, w, h) => c.x > x && c.x < x + w && c.y > y && c.y < y + h;"""
)

# drag-circle, drag-single-shape: the page compares the corner with where it started.
_DRAG_SHAPE_DIRECTION = (
    "() => {"
    + _SHAPES
    + """
  const el = SP.one('#area svg > *');
  const direction = /Drag the \\w+ (\\w+) then/.exec(Q)[1];
  const start = el.getBBox(), now = corner(el);
  const moved = { left: now.x < start.x, right: now.x > start.x, up: now.y < start.y, down: now.y > start.y };
  if (moved[direction]) return SP.click(SP.one('#subbtn'));
  const [dx, dy] = { left: [-25, 0], right: [25, 0], up: [0, -25], down: [0, 25] }[direction];
  return dragCornerTo(el, start.x + dx, start.y + dy);
}"""
)

# jQuery UI's sortable moves an item past another once the pointer is over that one's
# far half (in the direction of the drag): let go at three quarters of the target item.
_SORTABLE_TO = """
const dragItemTo = (items, item, target) => {
  const from = SP.point(item), to = items[target].getBoundingClientRect();
  if (!from) return null;
  const at = (start, low, size) => low + size * (start < low ? 0.75 : start >= low + size ? 0.25 : 0.5);
  return { type: 'drag', x: from[0], y: from[1],
           x2: Math.round(at(from[0], to.left, to.width)), y2: Math.round(at(from[1], to.top, to.height)) };
};"""

# jQuery UI's sortable in a grid of floated items moves the placeholder after the item
# under the pointer when the pointer last moved right (or down, and not right), before it
# otherwise; and only once the pointer is over that item's far half. So the drag is done
# a pointer move at a time (mouse_down, moves, mouse_up), each read from where the
# placeholder is now, until it holds the target place.
_SORTABLE_GRID = """
const gridDragTo = (item, target) => {
  const list = SP.one('#sortable');
  const placeholder = SP.one('.ui-sortable-placeholder', list);
  if (!placeholder) {
    const p = SP.point(item);
    if (!p) return null;
    if (!M.down) { M.down = true; return { type: 'mouse_down', x: p[0], y: p[1] }; }
    // Pressed: the first move only starts the drag (it has no direction yet).
    return { type: 'move', x: p[0] + 2, y: p[1] };
  }
  const sortable = jQuery(list).sortable('instance');
  const ax = sortable.positionAbs.left + sortable.offset.click.left;
  const ay = sortable.positionAbs.top + sortable.offset.click.top;
  const slots = SP.all(':scope > li', list).filter((li) => !li.classList.contains('ui-sortable-helper'));
  const now = slots.indexOf(placeholder);
  const at = (x, y) => ({ type: 'move', x: Math.round(x), y: Math.round(y) });
  if (now === target) return { type: 'mouse_up', x: Math.round(ax), y: Math.round(ay) };
  const r = slots[target].getBoundingClientRect();
  const [L, T, w, h] = [r.left, r.top, r.width, r.height];
  const inside = (v, low, size) => (v >= low && v < low + size ? v : low + size / 2);
  if (target > now) {  // after the item there: move right onto its right half, or down
    if (ax < L + 0.75 * w) return at(L + 0.75 * w, inside(ay, T, h));
    if (ay < T + 0.75 * h) return at(L + 0.25 * w, T + 0.75 * h);
    return at(L + 0.25 * w, T + 0.25 * h);  // back up and left first
  }
  // before the item there: move left onto its left half, or up onto its top half
  if (ax > L + 0.25 * w && ay >= T) return at(L + 0.25 * w, inside(ay, T, h));
  if (ax >= L && ax < L + w && ay > T + 0.25 * h) return at(ax, T + 0.25 * h);
  return at(L + 0.75 * w, T + 0.75 * h);  // down and right of it first
};"""

# bisect-angle, circle-center, find-midpoint, right-angle: a click on the picture puts the
# blue point at the click's page position less 50 px in y (the picture's own origin is
# elsewhere); the page then scores the points' bounding boxes. Of every point a click can
# reach, click the one the page's own formula scores best; submit once it is there.
_PLACE_POINT = """
const placeBest = (score) => {
  const svg = SP.one('#svg-grid'), box = svg.getBoundingClientRect();
  const blue = SP.one('#blue-circle');
  const submit = SP.one('#subbtn').getBoundingClientRect();
  let best = null, bestScore = -Infinity;
  for (let y = Math.ceil(box.top); y < Math.min(box.bottom, submit.top, H); y++)
    for (let x = Math.ceil(box.left); x < Math.min(box.right, W); x++) {
      const value = score(x, y - 50);
      if (value > bestScore) { best = [x, y]; bestScore = value; }
    }
  const placed = blue && score(+blue.getAttribute('cx'), +blue.getAttribute('cy'));
  if (placed !== null && placed >= bestScore - 1e-9) return SP.click(SP.one('#subbtn'));
  return { type: 'click', x: best[0], y: best[1] };
};
const centre = (el) => [+el.getAttribute('cx'), +el.getAttribute('cy')];
const angle = (a, b, v) => {  // the page's findAngle: at v, between a and b, in degrees
  const av = Math.hypot(v[0] - a[0], v[1] - a[1]), bv = Math.hypot(v[0] - b[0], v[1] - b[1]);
  const ab = Math.hypot(b[0] - a[0], b[1] - a[1]);
  return Math.acos((bv * bv + av * av - ab * ab) / (2 * bv * av)) * 180 / Math.PI;
};"""

# draw-circle, draw-line: d3 records every pointer position of a drag that starts on the
# picture (``arrayPoints``, in its coordinates) and the page scores those points; a drag
# is under way while d3 listens to the window's mousemoves.
_DRAWING = """
const svg = SP.one('svg').getScreenCTM();
const screen = (p) => ({ x: Math.round(svg.e + p[0]), y: Math.round(svg.f + p[1]) });
const drawing = typeof d3.select(window).on('mousemove.drag') === 'function';
const dot = SP.one('#circ'), dotBox = dot.getBBox();
const submit = SP.one('#controls button');"""

# use-colorwheel, use-colorwheel-2: the page scores the hex code in the picker's input,
# which takes typing as well as the picker's pad; typed, the colour is exact. The picker
# opens over the Submit button while the input has focus: a click beside it closes it.
_PICK_COLOUR = """
const pickColour = (hex) => {
  const input = SP.one('#col');
  const whole = input.selectionStart === 0 && input.selectionEnd === input.value.length;
  // A drag can leave the page's text selected around a focused input: ctrl+a would then
  // select the page, not the input; a click in the input puts the selection back in it.
  if (input.value.toUpperCase() !== hex && document.activeElement === input && !whole
      && String(getSelection()) !== '') return SP.click(input);
  if (input.value.toUpperCase() !== hex) return SP.fill(input, hex);
  return SP.click(SP.one('#subbtn')) || SP.click(SP.one('#query'));
};"""

POLICIES: dict[str, str] = {
    "drag-box": "() => {"
    + _DRAG_BY
    + """
      const small = SP.one('#draggableSmall'), large = SP.one('#draggableLarge');
      const css = (el, side) => parseInt(getComputedStyle(el)[side], 10);
      const dy = css(large, 'top') - css(small, 'top'), dx = css(large, 'left') - css(small, 'left');
      // The page wants the small box's corner strictly within 30 px of the large one's.
      if (-dy > 0 && -dy < 30 && -dx > 0 && -dx < 30) return SP.click(SP.one('#subbtn'));
      const drop = dragBy(small, dx + 15, dy + 15);
      if (drop) return drop;
      // No room to drop the small box: bring the large one back to the middle first.
      const area = SP.one('#draggable').getBoundingClientRect(), box = large.getBoundingClientRect();
      return dragBy(large, area.left + 50 - box.left, area.top + 20 - box.top);
    }""",
    "drag-circle": _DRAG_SHAPE_DIRECTION,
    "drag-cube": """() => {
      // The cube turns by a torque the page samples every 20 ms from how far the pointer
      // moved while the button was down, and it keeps turning until the torque fades.
      // So: press where the pointer already is (a jump would count), move once by the
      // turn still needed (about 1.15 degrees a pixel), hold until it settles, measure,
      // and repeat; let go on the wanted side. The page scores its 'active' face, which
      // it updates only when the face in front changes.
      const view = cube.viewport, want = SP.bold()[0];
      const active = SP.text(SP.one('.cube-image.active'));
      const px = view.mouseX, py = view.mouseY;
      if (Math.abs(view.torqueX) > 1 || Math.abs(view.torqueY) > 1) return SP.wait();
      if (active === want) {
        if (view.down) return { type: 'mouse_up', x: px, y: py };
        return SP.click(SP.one('#subbtn'));
      }
      // The turn (rotateX y, rotateY x, in degrees) that shows each face.
      const faces = { 6: [88, null], 1: [264, null], 5: [0, 86], 4: [0, 177], 3: [0, 269], 2: [0, 0] };
      // The 'active' face lags when the page starts on the face it ended the last episode
      // on: turn to another face first.
      const face = String(view.currentSide) === want ? (want === '1' ? '6' : '1') : want;
      const [ty, tx] = faces[face];
      const mod = (a) => ((a % 360) + 360) % 360;
      const off = (a, b) => ((mod(a - b) + 180) % 360) - 180;  // a - b in (-180, 180]
      const y = mod(view.positionY), x = mod(view.positionX);
      let dx = 0, dy = 0;
      if (Math.abs(off(ty, y)) > 25) dy = -off(ty, y) / 1.15;
      else if (tx !== null && Math.abs(off(tx, x)) > 25) dx = off(tx, x) / 1.15;
      else return SP.wait();  // in place: the face changes on the page's next turn
      const clamp = (v, high) => Math.min(Math.max(Math.round(v), 3), high - 4);
      if (view.down) {
        const x2 = clamp(px + dx, W), y2 = clamp(py + dy, H);
        if (Math.abs(x2 - px) + Math.abs(y2 - py) >= 3) return { type: 'move', x: x2, y: y2 };
        return { type: 'mouse_up', x: px, y: py };  // no room left: take a new grip
      }
      // A grip with room for the move, off the Submit button.
      const grip = { x: dx ? (dx > 0 ? 3 : W - 4) : W - 4, y: dy ? (dy > 0 ? 3 : H - 4) : 3 };
      if (px !== grip.x || py !== grip.y) return { type: 'move', x: grip.x, y: grip.y };
      return { type: 'mouse_down', x: grip.x, y: grip.y };
    }""",
    "drag-items": "() => {"
    + _SORTABLE_TO
    + """
      const [, name, where] = /^Drag (.+?) (to the top|to the bottom|down by one|up by one|to the \\d+)/.exec(Q);
      const items = SP.all('#sortable li');
      const now = items.findIndex((li) => SP.text(li) === name);
      const target = where === 'to the top' ? 0 : where === 'to the bottom' ? items.length - 1
        : where === 'down by one' ? now + 1 : where === 'up by one' ? now - 1
        : parseInt(where.slice(7), 10) - 1;
      return dragItemTo(items, items[now], target);
    }""",
    "drag-items-grid": "() => {"
    + _SORTABLE_GRID
    + """
      const [, name, where] = /^Drag (.+?) (to the .+|up by one|down by one|left by one|right by one)\\.$/.exec(Q);
      const places = ['top left', 'top center', 'top right', 'center left', 'center', 'center right',
                      'bottom left', 'bottom center', 'bottom right'];
      const shift = { 'up by one': -3, 'down by one': 3, 'left by one': -1, 'right by one': 1 };
      const item = SP.all('#sortable > li').find((li) => SP.text(li) === name);
      const start = SP.all('#sortable > li').filter((li) => !li.classList.contains('ui-sortable-placeholder'))
        .indexOf(item);
      return gridDragTo(item, where in shift ? start + shift[where] : places.indexOf(where.slice(7)));
    }""",
    "drag-shapes": "() => {"
    + _SHAPES
    + """
      const tag = TAG[/Drag all (\\w+) into/.exec(Q)[1]];
      const box = SP.one('#shape-container');
      const [bx, by, bw, bh] = ['x', 'y', 'width', 'height'].map((a) => parseFloat(box.getAttribute(a)));
      const shapes = SP.all('#area_svg > *').filter((el) => el !== box);
      const inside = spotsIn(bx, by, bw, bh, 20, 17);
      // Outside: a grid over the free part of the picture (the buttons cover its foot).
      const outside = spotsIn(0, 0, 160, 130, 20, 17).filter((s) => !inBox(s, bx - 20, by - 20, bw + 20, bh + 20));
      for (const el of shapes) {
        const want = el.tagName === tag;
        if (inBox(corner(el), bx, by, bw, bh) === want) continue;
        const spot = freeSpot(el, shapes, want ? inside : outside);
        const step = dragCornerTo(el, spot.x, spot.y);
        if (step) return step;
      }
      return SP.click(SP.one('#subbtn'));
    }""",
    "drag-shapes-2": "() => {"
    + _SHAPES
    + """
      const [, kind, colour] = /Drag all (\\w+)( shapes)? into/.exec(Q);
      const left = (el) => (colour ? el.getAttribute('fill') === kind : el.tagName === TAG[kind]);
      const boxes = { left: [2, 5, 70, 50], right: [84, 5, 70, 50] };
      const shapes = SP.all('#area_svg > *').filter((el) => el.id !== 'shape-container');
      for (const el of shapes) {
        const [x, y, w, h] = boxes[left(el) ? 'left' : 'right'];
        if (inBox(corner(el), x, y, w, h)) continue;
        const spot = freeSpot(el, shapes, spotsIn(x, y, w, h, 22, 17));
        const step = dragCornerTo(el, spot.x, spot.y);
        if (step) return step;
      }
      return SP.click(SP.one('#subbtn'));
    }""",
    "drag-single-shape": _DRAG_SHAPE_DIRECTION,
    "drag-sort-numbers": "() => {"
    + _SORTABLE_TO
    + """
      const items = SP.all('#sortable li');
      const values = items.map((li) => parseInt(SP.text(li), 10));
      const sorted = values.slice().sort((a, b) => a - b);
      const first = values.findIndex((v, i) => v !== sorted[i]);
      if (first < 0) return SP.click(SP.one('#subbtn'));
      // The lowest number not yet in place goes up to the first wrong place.
      const from = values.findIndex((v, i) => i > first && v === sorted[first]);
      return dragItemTo(items, items[from], first);
    }""",
    "draw-circle": "() => {"
    + _DRAWING
    + """
      // A hexagon of radius 18 around the dot, closed: every recorded point at one distance.
      const c = [dotBox.x + 4, dotBox.y + 4];
      const corners = [0, 1, 2, 3, 4, 5].map((i) =>
        screen([c[0] + 18 * Math.cos(i * Math.PI / 3), c[1] + 18 * Math.sin(i * Math.PI / 3)]));
      if (!drawing) {
        // What the page would award now: spread of the distances to the dot, times size.
        const path = SP.one('svg path');
        if (path && arrayPoints.length > 1) {
          const d = arrayPoints.map((p) => Math.hypot(p[0] - c[0], p[1] - c[1]));
          const mean = d.reduce((a, b) => a + b, 0) / d.length;
          const spread = Math.sqrt(d.reduce((a, b) => a + (b - mean) ** 2, 0) / d.length);
          const box = path.getBoundingClientRect();
          if (spread < 4 && box.width >= 20 && box.height >= 20) return SP.click(submit);
        }
        return { type: 'mouse_down', x: corners[0].x, y: corners[0].y };
      }
      const drawn = arrayPoints.map(screen);
      const onTrack = drawn.every((p, i) => i < 6 && Math.abs(p.x - corners[i].x) <= 1 && Math.abs(p.y - corners[i].y) <= 1);
      if (onTrack && drawn.length < 6) return { type: 'move', ...corners[drawn.length] };
      return { type: 'mouse_up', ...corners[0] };
    }""",
    "draw-line": "() => {"
    + _DRAWING
    + """
      const vertical = /vertical/.test(Q);
      // The page checks the line passes 4 px up and left of the dot's centre: a point of
      // the drag lands there, the line runs 2 px off the centre, through the dot.
      const mark = [dotBox.x, dotBox.y];
      const [along, across] = vertical ? [1, 0] : [0, 1];
      const size = vertical ? 110 : 150;
      // Nine points 8 px apart, the mark one of them, all inside the picture.
      let first = mark[along];
      for (let back = 0; back < 4 && first - 8 >= 1; back++) first -= 8;
      while (first + 64 > size - 1 && first - 8 >= 1) first -= 8;
      const point = (t) => { const p = []; p[along] = t; p[across] = mark[across] + 2; return screen(p); };
      const [a, b] = [point(first), point(first + 64)];
      if (drawing) return { type: 'mouse_up', ...b };
      // What the page would award now (its spread of a coordinate uses the last point only).
      const path = SP.one('svg path');
      if (path && arrayPoints.length > 1) {
        const n = arrayPoints.length, last = arrayPoints[n - 1];
        const mean = [0, 1].map((k) => arrayPoints.reduce((s, p) => s + p[k], 0) / n);
        const spread = [0, 1].map((k) => Math.abs(last[k] - mean[k]) / Math.sqrt(n));
        const near = Math.min(...arrayPoints.map((p) => Math.hypot(p[0] - mark[0], p[1] - mark[1])));
        if (spread[across] < 1.5 && spread[along] > 5 && near < 6) return SP.click(submit);
      }
      return { type: 'drag', x: a.x, y: a.y, x2: b.x, y2: b.y };
    }""",
    "bisect-angle": "() => {"
    + _PLACE_POINT
    + """
      // Every point here is a 3.5 px circle, so centres compare as the page's boxes do.
      const v = centre(SP.one('.init-blue')), [a, b] = SP.all('.init-black').map(centre);
      const total = angle(a, b, v);
      return placeBest((x, y) => {
        const ua = angle(a, [x, y], v), ub = angle(b, [x, y], v);
        if (!(ua <= total && ub <= total)) return -Infinity;
        return (total - Math.max(ua, ub)) / (total / 2);
      });
    }""",
    "circle-center": "() => {"
    + _PLACE_POINT
    + """
      const circle = SP.one('.black-circle'), [cx, cy] = centre(circle), r = +circle.getAttribute('r');
      // The page compares the blue box's corner (centre - 3.5) with the centre - 3.
      return placeBest((x, y) => (r - Math.hypot(x - 3.5 - (cx - 3), y - 3.5 - (cy - 3))) / r);
    }""",
    "right-angle": "() => {"
    + _PLACE_POINT
    + """
      // The blue point's circle is 3 px, the others 3.5: compare their boxes' corners.
      const corner = (p, r) => [p[0] - r, p[1] - r];
      const a = corner(centre(SP.one('#init-black')), 3.5), v = corner(centre(SP.one('#init-blue')), 3.5);
      return placeBest((x, y) => {
        const diff = Math.abs(90 - angle(a, corner([x, y], 3), v));
        return diff < 45 ? (90 - diff) / 90 : -Infinity;
      });
    }""",
    "find-midpoint": "() => {"
    + _PLACE_POINT
    + """
      const [a, b] = SP.all('.black-circle').map(centre);
      const mx = (a[0] + b[0]) / 2, my = (a[1] + b[1]) / 2;
      return placeBest((x, y) => (30 - Math.hypot(x - mx, y - my)) / 30);
    }""",
    "use-colorwheel": "() => {"
    + _PICK_COLOUR
    + """
      // CSS's names, as the page's own table has them.
      const hex = { black: '000000', white: 'FFFFFF', aqua: '00FFFF', blue: '0000FF', gray: '808080',
        green: '008000', lime: '00FF00', maroon: '800000', navy: '000080', olive: '808000',
        purple: '800080', red: 'FF0000', silver: 'C0C0C0', teal: '008080', yellow: 'FFFF00',
        pink: 'FFC0CB', magenta: 'FF00FF', gold: 'FFD700', orange: 'FFA500' };
      return pickColour(hex[/^Select (\\w+) with/.exec(Q)[1]]);
    }""",
    "use-colorwheel-2": "() => {"
    + _PICK_COLOUR
    + """
      const rgb = getComputedStyle(SP.one('#query .cc')).backgroundColor.match(/\\d+/g).slice(0, 3);
      return pickColour(rgb.map((c) => (+c).toString(16).padStart(2, '0')).join('').toUpperCase());
    }""",
}
