// A wheel turn at (x, y) by (dx, dy) pixels, for pages under frame control, where the
// browser's own wheel (Input.dispatchMouseEvent) can stall the frames for good on some
// pages (every vertical wheel on MiniWoB++'s email-inbox tasks). What the browser does,
// done by the page: a cancellable `wheel` event at the element under the point; unless a
// handler cancels it, each axis scrolls the nearest element under the point that can
// still move that way, else the page. Returns which elements moved.
([x, y, dx, dy]) => {
  const target = document.elementFromPoint(x, y) || document.scrollingElement;
  const wheel = new WheelEvent('wheel', {
    deltaX: dx, deltaY: dy, deltaMode: 0, clientX: x, clientY: y,
    bubbles: true, cancelable: true, composed: true, view: window,
  });
  if (!target.dispatchEvent(wheel)) return 'cancelled';
  const canMove = (el, axis, delta) => {
    const style = el === document.scrollingElement ? null : getComputedStyle(el);
    const overflow = style && (axis === 'x' ? style.overflowX : style.overflowY);
    if (style && !/(auto|scroll|overlay)/.test(overflow)) return false;
    const [pos, size, view] = axis === 'x'
      ? [el.scrollLeft, el.scrollWidth, el.clientWidth]
      : [el.scrollTop, el.scrollHeight, el.clientHeight];
    return delta < 0 ? pos > 0 : pos + view < size;
  };
  const moved = [];
  for (const [axis, delta] of [['x', dx], ['y', dy]]) {
    if (!delta) continue;
    let el = target;
    while (el && el !== document.scrollingElement && !canMove(el, axis, delta)) {
      el = el.parentElement;
    }
    el = el || document.scrollingElement;
    el.scrollBy({ left: axis === 'x' ? delta : 0, top: axis === 'y' ? delta : 0, behavior: 'instant' });
    moved.push(el.id || el.tagName);
  }
  return moved;
}
