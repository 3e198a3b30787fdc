// Runs at the start of every document in a browser under frame control (env/frames.py).
//
// 1. Pickers. A <select>'s list and the date, time and colour pickers are page popups:
//    widgets of their own that our frames never draw, and while one is open no frame of
//    the page completes either. So a <select> draws its list inside the page instead
//    (appearance: base-select), where the screenshot shows it and a pixel model can see
//    what it picks from; the other pickers stay shut (typing into those fields works).
// 2. The text caret blinks with our frames, so a screenshot would show it or not by
//    chance; it is hidden, as Playwright's own screenshots hide it.
//
// The style sheet is adopted, not added as an element, so the page's DOM is unchanged.
(() => {
  const sheet = new CSSStyleSheet();
  sheet.replaceSync(`
    select:not([multiple]):not([size]), select:not([multiple]):not([size])::picker(select) {
      appearance: base-select;
    }
    input::-webkit-calendar-picker-indicator { display: none !important; }
    *, *::before, *::after { caret-color: transparent !important; }
  `);
  document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet];

  const PICKER_TYPES = new Set(['date', 'time', 'datetime-local', 'month', 'week', 'color']);
  const hasPicker = (el) => el instanceof HTMLInputElement && PICKER_TYPES.has(el.type);
  const showPicker = HTMLInputElement.prototype.showPicker;
  HTMLInputElement.prototype.showPicker = function () {
    if (!hasPicker(this)) return showPicker.call(this);
  };
  // A colour input opens its picker on a click; every picker input opens it from the
  // keyboard (Alt+Down, F4, Space, and Enter for colours).
  window.addEventListener('click', (e) => {
    if (hasPicker(e.target) && e.target.type === 'color') e.preventDefault();
  }, true);
  window.addEventListener('keydown', (e) => {
    if (!hasPicker(e.target)) return;
    const opens = e.key === 'F4' || e.key === ' ' ||
      (e.altKey && (e.key === 'ArrowDown' || e.key === 'ArrowUp')) ||
      (e.target.type === 'color' && e.key === 'Enter');
    if (opens) e.preventDefault();
  }, true);
})();
