"""MiniWoB++ experts, multi-step forms and flows: booking flights, picking dates, form sequences, search results, shops.
In the form of miniwob_experts.py (see library.js for SP, M and Q)."""

from __future__ import annotations

# Sets `input` (a jQuery UI datepicker's text box) to `want` (mm/dd/yyyy), one action per
# call; null once it holds it. The picker opens on focus only: a focused box whose picker
# was closed reopens with ctrl+Home.
_PICK_DATE_JS = """const pickDate = (input, want) => {
  if (input.value === want) return null;
  const div = SP.one('#ui-datepicker-div');
  if (!div || getComputedStyle(div).display === 'none') {
    return document.activeElement === input ? SP.key('ctrl+Home') : SP.click(input);
  }
  if (SP.animating()) return SP.wait();
  const [mm, dd, yyyy] = want.split('/').map(Number);
  const day = SP.one('#ui-datepicker-div td[data-handler=selectDay]');
  const shown = parseInt(day.getAttribute('data-year')) * 12 + parseInt(day.getAttribute('data-month'));
  const diff = yyyy * 12 + (mm - 1) - shown;
  if (diff < 0) return SP.click(SP.one('#ui-datepicker-div .ui-datepicker-prev'));
  if (diff > 0) return SP.click(SP.one('#ui-datepicker-div .ui-datepicker-next'));
  const cell = SP.all('#ui-datepicker-div td[data-handler=selectDay] a').find((a) => SP.text(a) === String(dd));
  return SP.click(cell);
};
"""

_CHOOSE_DATE = (
    """() => {"""
    + _PICK_DATE_JS
    + """
  const want = /Select (\\S+) as the date/.exec(Q)[1];
  return pickDate(SP.one('#datepicker'), want) || SP.click(SP.one('#subbtn'));
}"""
)

# The next action toward seeing `el` inside the scrolling box `box`: a wheel over the box
# that brings the element to the box's middle.
_SCROLL_TOWARD_JS = """const scrollToward = (el, box) => {
  const b = box.getBoundingClientRect(), r = el.getBoundingClientRect();
  const x = Math.floor(b.left + b.width / 2), y = Math.floor((Math.max(b.top, 0) + Math.min(b.bottom, H)) / 2);
  const dy = Math.round(r.top + r.height / 2 - y);
  return { type: 'scroll', x: x, y: y, dx: 0, dy: dy === 0 ? 1 : dy };
};
"""

_BOOK_FLIGHT = (
    """() => {"""
    + _PICK_DATE_JS
    + _SCROLL_TOWARD_JS
    + """
  const [how, from, to, date] = SP.bold();
  // An airport is "City, ST (COD)"; the task names its city or its code.
  const parts = (airport) => airport.replace(/(\\s\\()|(\\))/g, '_').split('_');
  const airport = (name) => DOMESTIC_FLIGHTS.find((a) => parts(a).slice(0, 2).includes(name))
    || DOMESTIC_FLIGHTS.find((a) => a.includes(name));
  const holds = (box, name) => DOMESTIC_FLIGHTS.includes(box.value) && box.value.includes(name);
  const fromBox = SP.one('#flight-from'), toBox = SP.one('#flight-to'), dateBox = SP.one('#datepicker');
  const area = SP.one('#area');
  if (!SP.one('#results').classList.contains('hide')) {
    // Results of a search with other terms are made up: go back and search again.
    if (!(holds(fromBox, from) && holds(toBox, to) && dateBox.value === date)) {
      return SP.click(SP.one('#menu-back')) || scrollToward(SP.one('#menu-back'), area);
    }
    const [sel, attr] = how === 'cheapest' ? ['.flight-price', 'data-price'] : ['.time-duration', 'data-duration'];
    const value = (flight) => parseInt(SP.one(sel, flight).getAttribute(attr));
    const best = SP.all('#results .flight').reduce((a, f) => (value(f) < value(a) ? f : a));
    const book = SP.one('.flight-price', best);
    return SP.click(book) || scrollToward(book, area);
  }
  const picker = SP.one('#ui-datepicker-div');
  const pickerOpen = picker && getComputedStyle(picker).display !== 'none';
  const menuOpen = SP.all('.ui-autocomplete').some((menu) => menu.offsetHeight > 0);
  for (const [box, name] of [[fromBox, from], [toBox, to]]) {
    if (holds(box, name)) continue;
    // The date picker and the suggestions cover the boxes: close them first.
    if (pickerOpen || (menuOpen && document.activeElement !== box)) return SP.key('Escape');
    return SP.fill(box, airport(name));
  }
  if (menuOpen) return SP.key('Escape');
  return pickDate(dateBox, date) || SP.click(SP.one('#search'));
}"""
)

POLICIES: dict[str, str] = {
    "choose-date": _CHOOSE_DATE,
    "choose-date-easy": _CHOOSE_DATE,
    "choose-date-medium": _CHOOSE_DATE,
    "choose-date-nodelay": _CHOOSE_DATE,
    "form-sequence": """() => {
      const m = /Select (-?\\d+) with the slider, click the (\\d)\\w\\w checkbox/.exec(Q);
      const want = parseInt(m[1]), box = parseInt(m[2]);
      const $s = jQuery('#slider');
      const value = $s.slider('value');
      const handle = SP.one('#slider .ui-slider-handle');
      if (value !== want) {
        // Arrow keys once the handle has the focus; else click the track where the value
        // lies (which focuses the handle) and let the arrows correct it.
        if (document.activeElement === handle) return SP.key(value < want ? 'ArrowRight' : 'ArrowLeft');
        const min = $s.slider('option', 'min'), max = $s.slider('option', 'max');
        const r = SP.one('#slider').getBoundingClientRect();
        const x = Math.min(Math.floor(r.left + (want - min) / (max - min) * r.width), Math.ceil(r.right) - 1);
        return { type: 'click', x: Math.max(x, Math.ceil(r.left)), y: Math.floor(r.top + r.height / 2) };
      }
      for (let i = 1; i <= 3; i++) {
        if (SP.one('#checkbox-' + i).checked !== (i === box)) return SP.click(SP.one('#checkbox-' + i));
      }
      return SP.click(SP.one('#subbtn'));
    }""",
    "form-sequence-2": """() => {
      const m = /Check the (\\d)\\w\\w radio button and enter the number "(-?\\d+)" into the (\\d)\\w\\w textbox/.exec(Q);
      const radio = SP.all('#area input[type=radio]')[parseInt(m[1]) - 1];
      if (!radio.checked) return SP.click(radio);
      for (let i = 1; i <= 3; i++) {
        const box = SP.one('#input-' + i);
        if (i === parseInt(m[3])) {
          const step = SP.fill(box, m[2]);
          if (step) return step;
        } else if (box.value !== '') {
          // The other boxes must be empty: select what they hold and delete it.
          if (document.activeElement !== box) return SP.click(box);
          const all = box.selectionStart === 0 && box.selectionEnd === box.value.length;
          return SP.key(all ? 'Backspace' : 'ctrl+a');
        }
      }
      return SP.click(SP.one('#subbtn'));
    }""",
    "form-sequence-3": """() => {
      const m = /Choose (.*) from the dropdown, then click the button labeled "(.*)"\\./.exec(Q);
      const chosen = SP.one('#dropdown').value;
      const wrapper = SP.one('.selectric-wrapper');
      const open = wrapper.classList.contains('selectric-open');
      if (chosen === m[1]) {
        if (open) return SP.key('Escape');
        return SP.click(SP.firstVisible(SP.byText('#buttons button', m[2])));
      }
      if (!open) return SP.click(SP.one('.selectric', wrapper));
      const item = SP.byText('.selectric-items li', m[1])[0];
      const shown = SP.click(item);
      if (shown) return shown;
      // The list shows a few items at a time: scroll it toward the wanted one.
      const list = SP.one('.selectric-scroll').getBoundingClientRect();
      const below = item.getBoundingClientRect().top > list.top;
      return { type: 'scroll', x: Math.floor(list.left + list.width / 2),
               y: Math.floor(list.top + list.height / 2), dx: 0, dy: below ? 40 : -40 };
    }""",
    "search-engine": """() => {
      const want = SP.bold()[0];
      const index = parseInt(/the (\\d+)\\w\\w search result/.exec(Q)[1]) - 1;
      const input = SP.one('#search-text');
      const step = SP.fill(input, want);
      if (step) return step;
      // Results of another search carry data-result -1: search again.
      const links = SP.all('#page-content a.search-title');
      if (links.length === 0 || links.some((a) => a.getAttribute('data-result') === '-1')) {
        return SP.click(SP.one('#search'));
      }
      const link = links.find((a) => a.getAttribute('data-result') === String(index));
      if (link) return SP.click(link);
      const page = String(Math.floor(index / 3) + 1);
      return SP.click(SP.firstVisible(SP.byText('#pagination li a', page)));
    }""",
    "buy-ticket": """() => {
      const want = /with the (.*)\\.$/.exec(Q)[1];
      const [sel, attr] = /cost/.test(want) ? ['.buy-ticket', 'data-price'] : ['.time-duration', 'data-duration'];
      const sign = /cheapest|shortest/.test(want) ? -1 : 1;
      const value = (flight) => sign * parseInt(SP.one(sel, flight).getAttribute(attr));
      const best = SP.all('#area .flight').reduce((a, f) => (value(f) > value(a) ? f : a));
      const target = SP.one('.buy-ticket', best);
      const shown = SP.click(target);
      if (shown) return shown;
      // The 4th ticket lies below the screen, on a page that does not scroll: the keyboard
      // reaches it (shift+Tab from nowhere focuses the last button).
      const buttons = SP.all('.buy-ticket');
      const focused = buttons.indexOf(document.activeElement), wanted = buttons.indexOf(target);
      if (focused === wanted) return SP.key('Enter');
      return SP.key(focused >= 0 && focused < wanted ? 'Tab' : 'shift+Tab');
    }""",
    "phone-book": """() => {
      const m = /^Find (.*) in the contact book and click on their (\\w+)/.exec(Q);
      const name = SP.one('#contact .name');
      if (name && SP.text(name) === m[1]) return SP.click(SP.one('#contact a.' + m[2]));
      // Page forward to the last contact, then back (from wherever the pages were left).
      const next = SP.firstVisible(SP.byText('#pagination li a', '>'));
      const back = SP.firstVisible(SP.byText('#pagination li a', '<'));
      if (!next) M.back = true;
      if (!back) M.back = false;
      return SP.click(M.back ? back : next);
    }""",
    "order-food": """() => {"""
    + _SCROLL_TOWARD_JS
    + """
      const items = SP.all('#area .food-item');
      const quantity = (item) => parseInt(item.getAttribute('data-quantity'));
      const types = (item) => MENU[parseInt(item.getAttribute('data-id'))].types;
      // How many of each item the order should hold, keeping what is ordered already.
      const want = new Map();
      const byName = /^Order one of each item: (.*)$/.exec(Q);
      if (byName) {
        const names = byName[1].split(', ').map((n) => n.trim());
        for (const item of items) want.set(item, names.includes(item.getAttribute('data-item').trim()) ? 1 : 0);
      } else {
        const [, count, type] = /^Order (\\d+) items that are (.*)$/.exec(Q);
        let left = parseInt(count);
        const fits = items.filter((item) => types(item).includes(type));
        for (const item of items) want.set(item, 0);
        for (const item of fits) { const n = Math.min(quantity(item), left); want.set(item, n); left -= n; }
        // The rest goes to an item already ordered, else to one in view.
        const more = fits.find((item) => want.get(item) > 0) || fits.find((item) => SP.visible(SP.one('.add', item))) || fits[0];
        want.set(more, want.get(more) + left);
      }
      const area = SP.one('#area');
      const button = (item) => SP.one(quantity(item) < want.get(item) ? '.add' : '.remove', item);
      const todo = items.filter((item) => quantity(item) !== want.get(item)).map(button);
      if (todo.length) {
        // What is in view first; else scroll to the nearest.
        const b = area.getBoundingClientRect(), middle = (b.top + b.bottom) / 2;
        const distance = (el) => Math.abs(el.getBoundingClientRect().top - middle);
        const shown = todo.find(SP.visible);
        return shown ? SP.click(shown) : scrollToward(todo.reduce((a, el) => (distance(el) < distance(a) ? el : a)), area);
      }
      const order = SP.one('#submit-order button');
      return SP.click(order) || scrollToward(order, area);
    }""",
    "stock-market": """() => {
      const limit = parseFloat(/less than \\$([\\d.]+)/.exec(Q)[1]);
      const price = parseFloat(SP.text(SP.one('#stock-price')).replace('$', ''));
      const buy = SP.one('#buy');
      // The price changes every 100 ms, by at most 1.50, and is the limit itself after
      // its 76th change. A click takes tens of ms to land: buy when the price cannot
      // cross the limit before it does, else hover over Buy (a short wait) until it can.
      const nextChange = core.ept0 + 100 * (priceIndex + 1) - Date.now();
      if (price <= limit && (price <= limit - 1.5 || nextChange > 50 || priceIndex >= 75)) return SP.click(buy);
      if (price <= limit || (priceIndex >= 73 && priceIndex <= 75)) return SP.move(buy);
      return SP.wait();
    }""",
    "daily-calendar": """() => {"""
    + _SCROLL_TOWARD_JS
    + """
      const m = /^Create a (\\S+) (\\w+) event named "(.*)", between (\\d+)([AP]M) and/.exec(Q);
      const dur = m[2].startsWith('min') ? parseInt(m[1]) / 30 : parseFloat(m[1]) * 2;
      const hour = (parseInt(m[4]) % 12) + (m[5] === 'PM' ? 12 : 0);
      const first = hour * 2, last = first + 8;  // half-hours the event must end within
      const area = SP.one('#area');
      const events = SP.all('#area .event').filter((e) => e.id !== 'newEvent');
      const centre = (el) => { const r = el.getBoundingClientRect(); return [Math.floor(r.left + r.width / 2), Math.floor(r.top + r.height / 2)]; };
      const covered = (i) => {
        const [x, y] = centre(SP.one('#hh-' + i));
        return events.some((e) => { const r = e.getBoundingClientRect(); return x >= r.left && x <= r.right && y >= r.top && y <= r.bottom; });
      };
      // The first start whose half-hours no other event hides (the page draws events
      // about an hour above the half-hours they stand for).
      let start = first;
      while (start + dur < last && Array.from({ length: dur }, (_, k) => covered(start + k)).some(Boolean)) start++;
      const newEvent = SP.one('#newEvent');
      // Any event of the right length that ends within the window will do.
      const made = newEvent && parseInt(newEvent.getAttribute('data-duration')) === dur
        && Math.abs(parseInt(newEvent.getAttribute('data-start')) + dur - (first + last) / 2) <= 4;
      const dialog = SP.one('#create-event');
      if (dialog) {
        const button = SP.one(made ? '.create' : '.cancel', dialog);
        if (!SP.visible(button)) return scrollToward(dialog, area);
        return (made && SP.fill(SP.one('#event-name'), m[3])) || SP.click(button);
      }
      if (made && isDragging) {
        const p = SP.point(newEvent);
        return p ? { type: 'mouse_up', x: p[0], y: p[1] } : scrollToward(newEvent, area);
      }
      // Press on the first half-hour, move to the last, let go on the new event: with the
      // press low enough in the box that the event drawn above it stays in view.
      const a = SP.one('#hh-' + start), e = SP.one('#hh-' + (start + dur - 1));
      const b = area.getBoundingClientRect(), ra = a.getBoundingClientRect();
      if (ra.top < b.top + 60 || e.getBoundingClientRect().bottom > b.bottom - 4) {
        const y = Math.floor(b.top + b.height / 2);
        return { type: 'scroll', x: Math.floor(b.left + b.width / 2), y: y,
                 dx: 0, dy: Math.round(ra.top - (b.top + 80)) || 1 };
      }
      const [ax, ay] = centre(a), [ex, ey] = centre(e);
      if (M.pressed === start && !M.moved) {
        M.moved = true;
        return { type: 'move', x: ex, y: dur === 1 ? ey + 4 : ey };
      }
      M.pressed = start; M.moved = false;
      return { type: 'mouse_down', x: ax, y: ay };
    }""",
    "book-flight": _BOOK_FLIGHT,
    "book-flight-nodelay": _BOOK_FLIGHT,
}

# Where the page itself bounds the expert (env/experts/base.py: expert_limits).
CEILINGS: dict[str, str] = {
    "stock-market": "the price changes every 100 ms on the page's own clock and a click lands "
    "5-90 ms after the price was read (more on a busy machine), so a price under the limit "
    "can change before the click arrives; timing the click away from the next change "
    "measured 99.0% (198/200), a click as soon as the price is under the limit 98.5%",
}
