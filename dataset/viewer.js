// The dataset viewer: the episode list (index.js), one player for the episode on show,
// its actions drawn over the video and listed beside it. An episode's actions come from
// actions/NNNNN.js, added as a <script> when the episode is opened (file:// pages may
// not fetch()); the text items of its frames from grounding/NNNNN.js, the same way, once
// the "text boxes" toggle asks for them.
'use strict';

const VIEW = window.SCREENPILOT_VIEW;
const DRAW = VIEW.drawing;
const NO_GROUP = VIEW.no_group;
// Rows a group lays out at a time: thousands at once take seconds to lay out.
const ROWS_AT_ONCE = 200;
// A step is shown half a frame after its frame starts, so float rounding in the player
// cannot land on the frame before.
const SEEK_INTO_FRAME = 0.5;

const $ = (id) => document.getElementById(id);
const video = $('video');
const overlay = $('overlay');
const timeline = $('timeline');

const column = Object.fromEntries(VIEW.columns.map((name, i) => [name, i]));
const episodes = VIEW.episodes.map((row, position) => ({
  position,
  index: row[column.index],
  task: VIEW.tasks[row[column.task]],
  group: VIEW.groups[row[column.group]],
  source: VIEW.sources[row[column.source]],
  success: row[column.success],
  steps: row[column.steps],
  frames: row[column.frames],
  duration: row[column.duration],
  fps: row[column.fps],
  width: row[column.width],
  height: row[column.height],
  rendered: row[column.render] === 1,
  sealed: row[column.sealed] === 1,
  playable: row[column.playable] === 1,
  grounded: row[column.grounding] === 1,
}));
const byIndex = new Map(episodes.map((e) => [e.index, e]));

const el = (tag, props = {}, ...children) => {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children);
  return node;
};
const outcome = (e) => (e.success === true ? 'yes' : e.success === false ? 'no' : 'unknown');
const OUTCOME_MARK = { yes: ['ok', '✓'], no: ['fail', '✗'], unknown: ['unknown', '–'] };
const plural = (n, word) => `${n.toLocaleString('en')} ${word}${n === 1 ? '' : 's'}`;
const clock = (seconds) => {
  const minutes = Math.floor(Math.max(0, seconds) / 60);
  return `${minutes}:${(Math.max(0, seconds) - minutes * 60).toFixed(1).padStart(4, '0')}`;
};

// ---- the list: filters, groups by sandbox task, rows laid out as they are needed ----------
function filters() {
  return {
    text: $('filter-text').value.trim().toLowerCase(),
    group: $('filter-group').value,
    source: $('filter-source').value,
    success: $('filter-success').value,
  };
}

function matches(e, f) {
  return (!f.group || e.group === f.group) && (!f.source || e.source === f.source) &&
    (!f.success || outcome(e) === f.success) && (!f.text || e.task.toLowerCase().includes(f.text));
}

const openGroups = new Set(); // stay open when the filters change

function renderList() {
  const f = filters();
  const groups = new Map();
  for (const e of episodes) {
    if (!matches(e, f)) continue;
    if (!groups.has(e.group)) groups.set(e.group, []);
    groups.get(e.group).push(e);
  }
  const shown = [...groups.values()].reduce((n, list) => n + list.length, 0);
  $('count').textContent = `${shown.toLocaleString('en')} of ${plural(episodes.length, 'episode')}` +
    ` in ${plural(groups.size, 'group')}`;
  const names = [...groups.keys()].sort((a, b) => (a === NO_GROUP) - (b === NO_GROUP) || a.localeCompare(b));
  $('groups').replaceChildren(...names.map((name) => groupElement(name, groups.get(name), names.length === 1)));
  document.body.dataset.ready = 'yes';
}

function groupElement(name, list, open) {
  const successes = list.filter((e) => e.success === true).length;
  const known = list.filter((e) => e.success !== null && e.success !== undefined).length;
  const rate = known ? ` · ${Math.round((100 * successes) / known)}% ✓` : '';
  const title = `${name}: ${plural(list.length, 'episode')}` +
    (known ? `, ${successes} of ${known} with a known outcome successful` : '');
  const details = el('details', { className: 'group' },
    el('summary', { title }, el('span', { className: 'name', textContent: name }),
      el('span', { className: 'stats', textContent: list.length.toLocaleString('en') + rate })));
  details.dataset.group = name;
  const rows = el('ol', { className: 'rows' });
  const more = el('button', { type: 'button', className: 'more', hidden: true });
  details.append(rows, more);
  const addRows = () => {
    const end = Math.min(list.length, rows.childElementCount + ROWS_AT_ONCE);
    rows.append(...list.slice(rows.childElementCount, end).map(rowElement));
    more.hidden = end >= list.length;
    more.textContent = `show ${Math.min(ROWS_AT_ONCE, list.length - end)} more of ${list.length - end}`;
  };
  more.addEventListener('click', addRows);
  details.addEventListener('toggle', () => {
    if (details.open) openGroups.add(name);
    else openGroups.delete(name);
    if (details.open && !rows.childElementCount) addRows();
  });
  details.open = open || openGroups.has(name) || list.includes(current);
  return details;
}

function rowElement(e) {
  const [css, mark] = OUTCOME_MARK[outcome(e)];
  const row = el('button', { type: 'button', className: 'episode-row', title: e.task },
    el('span', { className: 'number', textContent: `#${e.index}` }),
    el('span', { className: 'task', textContent: e.task }),
    el('span', { className: css, textContent: `${mark} ${plural(e.steps, 'step')} · ${e.source}` }));
  row.dataset.index = e.index;
  row.classList.toggle('selected', e === current);
  row.addEventListener('click', () => show(e));
  return el('li', {}, row);
}

// ---- actions and text items, a chunk of episodes at a time ---------------------------------
const chunks = new Map(); // "actions/00003.js" -> Promise of its episodes' data
const arrived = new Map(); // the same name -> resolve(), called by the chunk's script
const chunkFile = (kind, number) => `${kind}/${String(number).padStart(5, '0')}.js`;
window.SCREENPILOT_VIEW_ACTIONS = (number, list) => arrived.get(chunkFile('actions', number))?.(list);
window.SCREENPILOT_VIEW_GROUNDING = (number, list) => arrived.get(chunkFile('grounding', number))?.(list);

function loadChunk(kind, number) {
  const file = chunkFile(kind, number);
  if (!chunks.has(file)) {
    chunks.set(file, new Promise((resolve, reject) => {
      arrived.set(file, resolve);
      const script = el('script', { src: file });
      script.addEventListener('error', () => {
        chunks.delete(file);
        reject(new Error(`${file} did not load: build the view again`));
      });
      document.head.append(script);
    }));
  }
  return chunks.get(file);
}

async function loadEpisodeData(kind, e) {
  const list = await loadChunk(kind, Math.floor(e.position / VIEW.chunk));
  return list[e.position % VIEW.chunk];
}
const loadActions = (e) => loadEpisodeData('actions', e);

// ---- the episode on show -------------------------------------------------------------------
let current = null;
let actions = []; // [frame, t, text, type, ...numbers] each
let chosenStep = -1; // the step last clicked in the timeline
let boxes = null; // frame -> [[x0, y0, x1, y1, kind, text], ...] of the episode on show

function problem(text) {
  $('problem').hidden = !text;
  $('problem').textContent = text || '';
}

function show(e) {
  current = e;
  actions = [];
  chosenStep = -1;
  boxes = null;
  $('boxes-toggle').hidden = !e.grounded;
  $('box-label').hidden = true;
  if (showBoxes()) loadBoxes(e);
  history.replaceState(null, '', `#episode-${e.index}`);
  for (const row of document.querySelectorAll('.episode-row.selected')) row.classList.remove('selected');
  document.querySelector(`.episode-row[data-index="${e.index}"]`)?.classList.add('selected');
  $('episode-title').textContent = `Episode ${e.index}: ${e.task}`;
  const [css, mark] = OUTCOME_MARK[outcome(e)];
  $('episode-facts').replaceChildren(
    `${e.group} · ${e.width}×${e.height} · ${e.fps} fps · ${plural(e.steps, 'step')} · ` +
    `${plural(e.frames, 'frame')} · ${e.duration.toFixed(1)} s · source ${e.source} · `,
    el('span', { className: css, textContent: `${mark} ${{ yes: 'success', no: 'failure', unknown: 'outcome unknown' }[outcome(e)]}` }),
    e.rendered ? ' · annotated render' : '');
  problem('');
  timeline.replaceChildren();
  $('screen').hidden = e.frames === 0;
  if (e.frames === 0) {
    video.removeAttribute('src');
    video.load();
    problem('no frames: nothing to play');
  } else {
    // Small screens are enlarged by a whole factor, as renders are: square pixels, readable text.
    const factor = Math.max(1, Math.ceil(DRAW.min_view_side / Math.min(e.width, e.height)));
    $('screen').style.width = `${e.width * factor}px`;
    $('screen').style.aspectRatio = `${e.width} / ${e.height}`;
    const name = `episode_${String(e.index).padStart(6, '0')}.mp4`;
    // A sealed episode's MP4 lies inside its chunk's video file: the view keeps a copy.
    // So it does of a video that codes RGB planes, re-encoded: Chromium gets its colours wrong.
    video.src = e.rendered ? `renders/${name}` : e.playable ? `playable/${name}`
      : e.sealed ? `sealed/${name}` : VIEW.videos + name;
  }
  loadActions(e).then((list) => {
    if (current !== e) return;
    if (typeof list === 'string') return problem(`cannot read the actions: ${list}`);
    actions = list;
    renderTimeline();
    draw();
  }, (error) => current === e && problem(error.message));
}

function showFromHash() {
  const match = /^#episode-(\d+)$/.exec(location.hash);
  const e = match && byIndex.get(Number(match[1]));
  if (e && e !== current) {
    show(e);
    renderList(); // opens the episode's group
    document.querySelector('.episode-row.selected')?.scrollIntoView({ block: 'nearest' });
  }
}

video.addEventListener('error', () => {
  if (!current || !video.getAttribute('src')) return;
  problem(`the video did not play (${video.error?.message || 'error ' + video.error?.code}): ` +
    'it is missing or damaged, or this browser cannot decode H.264 4:4:4 (Chromium and Chrome can); ' +
    `\`screenpilot dataset view DATASET --render ${current.index}\` writes a copy that every browser plays`);
});

// ---- the timeline --------------------------------------------------------------------------
function renderTimeline() {
  if (!actions.length) {
    timeline.replaceChildren(el('li', { className: 'note', textContent: 'no actions' }));
    return;
  }
  timeline.replaceChildren(...actions.map(([frame, t, text], i) => {
    const when = `frame ${frame}` + (t === null ? '' : `, t = ${t.toFixed(3)} s`);
    // The action's own time: frames come at uneven times (a desktop recording writes only
    // frames that changed), so frame / fps is where the video shows it, not when it was.
    const button = el('button', { type: 'button', title: when },
      el('span', { className: 'step', textContent: i + 1 }),
      el('span', { className: 'time', textContent: clock(t ?? frame / current.fps) }),
      el('code', { textContent: text }));
    button.addEventListener('click', () => seekToStep(i));
    return el('li', {}, button);
  }));
}

function seekToStep(i) {
  chosenStep = i;
  const [e, frame] = [current, actions[i][0]];
  const seek = () => {
    if (current !== e) return; // another episode was opened before this one loaded
    video.pause();
    video.currentTime = (frame + SEEK_INTO_FRAME) / e.fps;
  };
  if (video.readyState >= 1) seek();
  else video.addEventListener('loadedmetadata', seek, { once: true });
  highlight(frame);
}

function frameOnScreen() {
  return Math.max(0, Math.min(current.frames - 1, Math.floor(video.currentTime * current.fps + 1e-3)));
}

function highlight(frame) {
  let step = -1;
  actions.forEach(([f], i) => { if (f <= frame) step = i; });
  // Several steps can share a frame: keep the one the user clicked.
  if (chosenStep >= 0 && step >= 0 && actions[chosenStep][0] === actions[step][0]) step = chosenStep;
  const buttons = timeline.querySelectorAll('button');
  buttons.forEach((b, i) => b.classList.toggle('current', i === step));
  if (step >= 0 && buttons[step] && !buttons[step].dataset.seen) {
    buttons.forEach((b) => delete b.dataset.seen);
    buttons[step].dataset.seen = '1';
    buttons[step].scrollIntoView({ block: 'nearest' });
  }
}

// ---- the overlay: what annotate.py draws on renders, drawn live over the video -------------
function draw() {
  const ctx = overlay.getContext('2d');
  const ratio = window.devicePixelRatio || 1;
  const [w, h] = [overlay.clientWidth, overlay.clientHeight];
  if (overlay.width !== Math.round(w * ratio) || overlay.height !== Math.round(h * ratio)) {
    overlay.width = Math.round(w * ratio);
    overlay.height = Math.round(h * ratio);
  }
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, w, h);
  if (!current || !current.frames) return;
  const frame = frameOnScreen();
  drawBoxes(ctx, frame, w / current.width);
  if (!actions.length) return;
  highlight(frame);
  if (current.rendered) return; // the render has the actions drawn in
  const hold = Math.max(1, Math.round(DRAW.hold_seconds * current.fps));
  const marks = [];
  actions.forEach((action, i) => {
    const age = frame - action[0];
    if (age < 0 || age >= hold) return;
    marks.push({ action, step: i + 1, fade: hold <= 1 ? 1 : 1 - ((1 - DRAW.fade_floor) * age) / (hold - 1) });
  });
  marks.sort((a, b) => a.fade - b.fade); // the newest on top
  let captionRow = 0;
  for (const mark of marks) {
    ctx.globalAlpha = mark.fade;
    if (!drawMark(ctx, mark, w / current.width)) drawCaption(ctx, mark, captionRow++, w);
  }
  ctx.globalAlpha = 1;
}

function stroke(ctx, path, colour, width = 3) {
  for (const [style, extra] of [[DRAW.outline, 2], [colour, 0]]) {
    ctx.beginPath();
    path();
    ctx.strokeStyle = style;
    ctx.lineWidth = width + extra;
    ctx.stroke();
  }
}

function drawMark(ctx, { action, step }, scale) {
  const [, , , type, ...n] = action;
  const colour = DRAW.colours[type];
  if (!colour) return false; // type, key, wait, done: a caption
  const at = (x, y) => [(x + 0.5) * scale, (y + 0.5) * scale];
  const [x, y] = at(n[0], n[1]);
  const ring = (r) => stroke(ctx, () => ctx.arc(x, y, r, 0, 2 * Math.PI), colour);
  const dot = (r) => {
    ctx.beginPath();
    ctx.arc(x, y, r, 0, 2 * Math.PI);
    ctx.fillStyle = colour;
    ctx.fill();
  };
  const arrow = (x2, y2) => stroke(ctx, () => {
    const angle = Math.atan2(y2 - y, x2 - x);
    ctx.moveTo(x, y);
    ctx.lineTo(x2, y2);
    for (const side of [-1, 1]) {
      ctx.moveTo(x2, y2);
      ctx.lineTo(x2 - 10 * Math.cos(angle + side * 0.5), y2 - 10 * Math.sin(angle + side * 0.5));
    }
  }, colour);
  const r = 13;
  let badgeOffset = r + 6;
  if (type === 'click' || type === 'right_click') { ring(r); dot(2); }
  else if (type === 'double_click') { ring(r * 0.75); ring(r * 1.35); badgeOffset = r * 1.35 + 6; }
  else if (type === 'mouse_down') { ring(r); dot(5); }
  else if (type === 'mouse_up') ring(r * 0.7);
  else if (type === 'move') {
    stroke(ctx, () => { ctx.moveTo(x - 9, y); ctx.lineTo(x + 9, y); ctx.moveTo(x, y - 9); ctx.lineTo(x, y + 9); }, colour);
    badgeOffset = 18;
  } else if (type === 'drag') { dot(4); arrow(...at(n[2], n[3])); }
  else if (type === 'scroll') {
    // dy > 0 scrolls down (the DOM's convention), so the arrow points down.
    const norm = Math.hypot(n[2], n[3]) || 1;
    dot(4);
    arrow(x + (n[2] / norm) * 34, y + (n[3] / norm) * 34);
  }
  badge(ctx, x + badgeOffset * 0.7, y - badgeOffset * 0.7, step);
  return true;
}

function badge(ctx, x, y, step) {
  ctx.font = 'bold 12px system-ui, sans-serif';
  const w = Math.max(18, ctx.measureText(String(step)).width + 8);
  ctx.fillStyle = DRAW.badge_bg;
  ctx.beginPath();
  ctx.roundRect(x - w / 2, y - 9, w, 18, 9);
  ctx.fill();
  ctx.fillStyle = DRAW.caption_text;
  ctx.textAlign = 'center';
  ctx.textBaseline = 'middle';
  ctx.fillText(String(step), x, y + 0.5);
}

function drawCaption(ctx, { action, step }, row, width) {
  const height = 22;
  const top = row * height;
  ctx.fillStyle = DRAW.caption_bg;
  ctx.fillRect(0, top, width, height);
  badge(ctx, 14, top + height / 2, step);
  ctx.font = '13px ui-monospace, monospace';
  ctx.fillStyle = DRAW.caption_text;
  ctx.textAlign = 'left';
  let text = action[2];
  while (text.length > 1 && ctx.measureText(text).width > width - 36) text = text.slice(0, -2) + '…';
  ctx.fillText(text, 28, top + height / 2 + 0.5);
}

// ---- text boxes: the grounding labels of the frame on screen, when asked for ---------------
const BOX_COLOURS = {
  button: '#ff8c00', link: '#1e6fff', label: '#2ca02c', checkbox: '#9467bd', radio: '#9467bd',
  input: '#17becf', select: '#17becf', option: '#17becf', heading: '#d62728', text: '#8c8c8c',
};
const showBoxes = () => $('show-boxes').checked && !!current && current.grounded;

function loadBoxes(e) {
  loadEpisodeData('grounding', e).then((rows) => {
    if (current !== e) return;
    if (typeof rows === 'string') return problem(`cannot read the text boxes: ${rows}`);
    boxes = new Map();
    for (const [frame, ...item] of rows || []) {
      if (!boxes.has(frame)) boxes.set(frame, []);
      boxes.get(frame).push(item);
    }
    draw();
  }, (error) => current === e && problem(error.message));
}

function drawBoxes(ctx, frame, scale) {
  if (!showBoxes() || !boxes) return;
  ctx.lineWidth = 1;
  for (const [x0, y0, x1, y1, kind] of boxes.get(frame) || []) {
    ctx.strokeStyle = BOX_COLOURS[kind] || BOX_COLOURS.text;
    ctx.strokeRect(x0 * scale + 0.5, y0 * scale + 0.5, (x1 - x0) * scale - 1, (y1 - y0) * scale - 1);
  }
}

// The smallest box under the pointer (a word rather than its line) names its text.
function hoverBox(event) {
  const label = $('box-label');
  const items = showBoxes() && boxes && current.frames ? boxes.get(frameOnScreen()) || [] : [];
  if (!items.length) { label.hidden = true; return; }
  const rect = $('screen').getBoundingClientRect();
  const scale = rect.width / current.width;
  const [x, y] = [(event.clientX - rect.left) / scale, (event.clientY - rect.top) / scale];
  const under = items.filter(([x0, y0, x1, y1]) => x >= x0 && x < x1 && y >= y0 && y < y1);
  under.sort((a, b) => (a[2] - a[0]) * (a[3] - a[1]) - (b[2] - b[0]) * (b[3] - b[1]));
  label.hidden = !under.length;
  if (!under.length) return;
  const [x0, y0, , , kind, text] = under[0];
  label.textContent = `${text}  · ${kind}`;
  label.style.left = `${x0 * scale}px`;
  label.style.top = `${y0 * scale}px`;
}

$('show-boxes').addEventListener('change', () => {
  if (showBoxes() && !boxes) loadBoxes(current);
  $('box-label').hidden = true;
  draw();
});
$('screen').addEventListener('mousemove', hoverBox);
$('screen').addEventListener('mouseleave', () => { $('box-label').hidden = true; });

// Frame-accurate while playing where the browser says when a frame is shown.
if ('requestVideoFrameCallback' in video) {
  const onFrame = () => { draw(); video.requestVideoFrameCallback(onFrame); };
  video.requestVideoFrameCallback(onFrame);
}
for (const type of ['timeupdate', 'seeked', 'loadeddata']) video.addEventListener(type, draw);
window.addEventListener('resize', draw);

// ---- start ---------------------------------------------------------------------------------
document.title = VIEW.title;
$('title').textContent = VIEW.title;
const sources = new Map();
for (const e of episodes) sources.set(e.source, (sources.get(e.source) || 0) + 1);
$('summary').textContent = `${plural(episodes.length, 'episode')} · ${plural(VIEW.steps || 0, 'step')} · ` +
  `${plural(VIEW.frames || 0, 'frame')} · sources: ` +
  [...sources].map(([name, n]) => `${name} ${n.toLocaleString('en')}`).join(', ');
for (const [id, values] of [['filter-group', VIEW.groups], ['filter-source', VIEW.sources]]) {
  $(id).append(...[...values].sort().map((value) => el('option', { value, textContent: value })));
}
let typing = null;
$('filter-text').addEventListener('input', () => { clearTimeout(typing); typing = setTimeout(renderList, 150); });
for (const id of ['filter-group', 'filter-source', 'filter-success']) $(id).addEventListener('change', renderList);
$('filters').addEventListener('submit', (event) => event.preventDefault());
window.addEventListener('hashchange', showFromHash);

renderList();
if (/^#episode-\d+$/.test(location.hash)) showFromHash();
else if (episodes.length) show(episodes[0]);
