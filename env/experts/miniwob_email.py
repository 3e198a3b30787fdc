"""MiniWoB++ experts, the email inbox and social media feeds: find an item, then act on it (reply, forward, delete, star, like, share).
In the form of miniwob_experts.py (see library.js for SP, M and Q).

Both pages keep their items in boxes that scroll (the inbox, an open email, the feed), so
an item outside its box is brought in with the mouse wheel before it is clicked.
"""

from __future__ import annotations

# Prepended to the policies that scroll: click `el`, or first wheel `box` until `el` shows
# near its top (the feeds list their items downwards, so the next ones come into view too).
_REACH = """
const reach = (el, box) => {
  const click = SP.click(el);
  if (click) return click;
  const b = box.getBoundingClientRect(), r = el.getBoundingClientRect();
  const dy = Math.round(r.top - b.top - 8);
  const p = SP.point(box);
  if (!p || dy === 0) return null;
  return { type: 'scroll', x: p[0], y: p[1], dx: 0, dy: dy };
};
"""

# Every email-inbox variant runs the same page script; only the actions drawn and the
# query's wording differ.
_EMAIL_INBOX = (
    """() => {"""
    + _REACH
    + """
  // The task's own record (action, email, reply text, forward address) rides with the
  // inbox's click handlers: the query names the email by its sender only, and two emails
  // may share one, while forwarding is scored on the body.
  const data = jQuery._data(SP.one('#main .email-thread'), 'events').click[0].data;
  const want = data.expectedDetails, email = want.email;
  const shown = SP.one('#email');
  const right = shown && SP.text(SP.one('.email-sender', shown)) === email.name
    && (want.action !== 'forward' || SP.one('.email-body', shown).textContent === email.body);
  const reply = SP.one('#reply');
  if (reply) {
    if (!right || want.action !== 'reply') return SP.click(SP.one('#close-reply'));
    return SP.fill(SP.one('#reply-text'), want.reply) || SP.click(SP.one('#send-reply'));
  }
  const forward = SP.one('#forward');
  if (forward) {
    if (!right || want.action !== 'forward') return SP.click(SP.one('#close-forward'));
    return SP.fill(SP.one('.forward-sender', forward), want.forward)
      || SP.fill(SP.one('#forward-text'), email.body) || SP.click(SP.one('#send-forward'));
  }
  if (shown) {
    if (!right) return reach(SP.one('#close-email'), shown);
    const target = { reply: '.email-reply', forward: '.email-forward',
      delete: '#email-bar .trash', important: '#email-bar .star' }[want.action];
    return reach(SP.one(target, shown), shown);
  }
  const search = SP.one('#search');
  if (!search.classList.contains('hide')) return reach(SP.one('#search-cancel'), search);
  const main = SP.one('#main');
  const thread = SP.all('.email-thread', main)
    .find((t) => data.emails[parseInt(t.getAttribute('data-index'), 10)] === email);
  // Trash and star work from the list itself, without opening the email.
  const icon = { delete: '.trash', important: '.star' }[want.action];
  return reach(icon ? SP.one(icon, thread) : thread, main);
}"""
)

# The feed's buttons are named in the query by their labels; ACTIONS maps class -> label.
_FEED = """
const area = SP.one('#area');
const kind = (label) => Object.keys(ACTIONS).find((k) => ACTIONS[k] === label);
const postsBy = (user) => SP.all('.media', area).filter((m) => SP.text(SP.one('.username', m)) === user);
"""

# Make each toggle button of the feed active or not as `wanted(button)` says, the ones in
# view first, then submit.
_TOGGLE_THEN_SUBMIT = """
const toggle = (wanted) => {
  const wrong = SP.all('.reply, .retweet, .like, .share', area)
    .filter((b) => b.classList.contains('active') !== wanted(b));
  const next = SP.firstVisible(wrong) || wrong[0];
  return next ? reach(next, area) : reach(SP.one('#submitRow button'), area);
};
"""

POLICIES: dict[str, str] = {
    "email-inbox": _EMAIL_INBOX,
    "email-inbox-delete": _EMAIL_INBOX,
    "email-inbox-forward": _EMAIL_INBOX,
    "email-inbox-forward-nl": _EMAIL_INBOX,
    "email-inbox-forward-nl-turk": _EMAIL_INBOX,
    "email-inbox-important": _EMAIL_INBOX,
    "email-inbox-nl-turk": _EMAIL_INBOX,
    "email-inbox-noscroll": _EMAIL_INBOX,
    "email-inbox-reply": _EMAIL_INBOX,
    "email-inbox-star-reply": _EMAIL_INBOX,
    "social-media": (
        """() => {"""
        + _REACH
        + _FEED
        + """
  const m = /For the user (\\S+), click on the "(.*)" button\\./.exec(Q);
  const cls = kind(m[2]), post = postsBy(m[1])[0];
  const button = SP.one('.' + cls, post);
  // Reply, retweet and like sit on the post; the rest in its "more" menu.
  const menu = button.tagName === 'LI' ? button.parentElement : null;
  const target = menu && menu.classList.contains('hide') ? SP.one('.more', post) : button;
  // Another post's open menu may cover it: that menu's own button closes it.
  const stray = SP.all('ul', area).find((u) => u !== menu && !u.classList.contains('hide'));
  if (stray && !SP.visible(target)) return reach(SP.one('.more', stray.parentElement), area);
  return reach(target, area);
}"""
    ),
    "social-media-all": (
        """() => {"""
        + _REACH
        + _FEED
        + _TOGGLE_THEN_SUBMIT
        + """
  const m = /Click the "(.*)" button on all posts by (\\S+) and then/.exec(Q);
  const cls = kind(m[1]), posts = postsBy(m[2]);
  return toggle((b) => b.classList.contains(cls) && posts.includes(b.closest('.media')));
}"""
    ),
    "social-media-some": (
        """() => {"""
        + _REACH
        + _FEED
        + _TOGGLE_THEN_SUBMIT
        + """
  const m = /Click the "(.*)" button on (\\d+) posts? by (\\S+) and then/.exec(Q);
  const cls = kind(m[1]), n = parseInt(m[2], 10), posts = postsBy(m[3]);
  // Any n of the user's posts will do: keep the ones already active, then take the
  // first others, those in view before those out of it.
  const buttons = posts.map((p) => SP.one('.' + cls, p));
  const active = buttons.filter((b) => b.classList.contains('active'));
  const rest = buttons.filter((b) => !active.includes(b));
  rest.sort((a, b) => SP.visible(b) - SP.visible(a));
  const chosen = active.slice(0, n).concat(rest.slice(0, Math.max(0, n - active.length)));
  return toggle((b) => chosen.includes(b));
}"""
    ),
}
