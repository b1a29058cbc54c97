// Countersign console: progressive enhancement only. Every page works without it.
// - the inbox list and its badge follow the server-sent events of /inbox/events: rows change in place, the
//   keyboard focus stays where it was, and a live region says only what is new;
// - countdowns tick;
// - the simulator offers an example input for the chosen connection;
// - an element marked data-deliberate takes no click that lands on the page as it appears (see deliberate()).
'use strict';

(function () {
  function left(expiresAt) {
    var s = Math.floor((Date.parse(expiresAt) - Date.now()) / 1000);
    if (s <= 0) return 'expired';
    var d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
    if (d > 0) return d + 'd ' + h + 'h left';
    if (h > 0) return h + 'h ' + m + 'm left';
    if (m > 0) return m + 'm ' + (s % 60) + 's left';
    return s + 's left';
  }

  function tick() {
    var times = document.querySelectorAll('time[data-expires]');
    for (var i = 0; i < times.length; i++) times[i].textContent = left(times[i].getAttribute('data-expires'));
  }

  function setCount(count) {
    var badges = document.querySelectorAll('[data-inbox-count]');
    for (var i = 0; i < badges.length; i++) {
      badges[i].textContent = String(count);
      badges[i].hidden = count === 0;
      badges[i].setAttribute('aria-label', count + ' awaiting your review');
    }
    var texts = document.querySelectorAll('[data-inbox-count-text]');
    for (var j = 0; j < texts.length; j++) texts[j].textContent = String(count);
    document.title = document.title.replace(/^\(\d+\) /, '');
    if (count > 0) document.title = '(' + count + ') ' + document.title;
  }

  // The row element of a request, or null.
  function rowOf(el) {
    return el && el.closest ? el.closest('li[data-request]') : null;
  }

  function focusables(root) {
    return Array.prototype.slice.call(root.querySelectorAll('a[href], button, input, select, textarea, summary, [tabindex]'));
  }

  function build(markup) {
    var t = document.createElement('template');
    // The server rendered and escaped this row exactly as it renders the page.
    t.innerHTML = markup;
    return t.content.firstElementChild;
  }

  // Updates the list in place by request id: new rows in, gone rows out, changed rows replaced; rows that stay
  // are never moved or rebuilt, so the element with the keyboard focus keeps it. Returns what to announce.
  function applyInbox(section, data) {
    var news = [];
    var active = document.activeElement;
    var hadFocus = section.contains(active);
    var focusRow = rowOf(active);
    var focusAt = focusRow ? focusables(focusRow).indexOf(active) : -1;
    var list = section.querySelector('ol.cards');
    var old = list ? Array.prototype.slice.call(list.querySelectorAll(':scope > li[data-request]')) : [];
    var wanted = {};
    data.rows.forEach(function (r) { wanted[r.id] = r; });
    var why = {};
    data.gone.forEach(function (g) { why[g.id] = g.says; });
    var existing = {};
    old.forEach(function (li) {
      var id = li.getAttribute('data-request');
      if (wanted[id]) {
        existing[id] = li;
      } else {
        news.push(why[id] || 'Request ' + id + ' no longer awaits your review');
        li.remove();
      }
    });
    // If the focused row left, the focus goes to the next row that stays, else the one before, else the list.
    var fallbackId = null;
    var at = old.indexOf(focusRow);
    if (at >= 0 && !existing[focusRow.getAttribute('data-request')]) {
      var stays = function (li) { return !!existing[li.getAttribute('data-request')]; };
      var next = old.slice(at + 1).filter(stays)[0] || old.slice(0, at).filter(stays).pop();
      if (next) fallbackId = next.getAttribute('data-request');
    }
    var arrivals = [];
    if (data.rows.length === 0) {
      if (list) section.innerHTML = data.empty;
    } else {
      if (!list) {
        section.innerHTML = '';
        list = document.createElement('ol');
        list.className = 'cards';
        section.appendChild(list);
      }
      var cursor = list.firstElementChild;
      data.rows.forEach(function (r) {
        var li = existing[r.id];
        if (li && li.getAttribute('data-version') !== String(r.version)) {
          var fresh = build(r.html);
          list.replaceChild(fresh, li);
          if (cursor === li) cursor = fresh;
          if (li === focusRow) {
            var again = focusables(fresh)[focusAt] || focusables(fresh)[0];
            if (again) again.focus();
          }
          li = fresh;
        }
        if (!li) {
          list.insertBefore(build(r.html), cursor);
          arrivals.push(r.says);
        } else if (li === cursor) {
          cursor = cursor.nextElementSibling;
        } else {
          list.insertBefore(li, cursor); // only if the order changed; rows that stay keep their order
          if (li.contains(active)) active.focus();
        }
      });
    }
    if (hadFocus && !section.contains(document.activeElement)) {
      var rows = section.querySelectorAll('li[data-request]');
      var target = null;
      for (var i = 0; i < rows.length && fallbackId; i++) if (rows[i].getAttribute('data-request') === fallbackId) target = focusables(rows[i])[0];
      (target || section).focus();
    }
    return arrivals.concat(news);
  }

  function live() {
    var url = document.body.getAttribute('data-live');
    if (!url || !window.EventSource) return;
    var source = new EventSource(url);
    source.addEventListener('inbox', function (e) {
      var data = JSON.parse(e.data);
      setCount(data.count);
      var section = document.getElementById('inbox');
      if (section) {
        var news = applyInbox(section, data);
        var region = document.getElementById('inbox-news');
        // Only what is new is announced; a countdown tick never is (no countdown is in a live region).
        if (region && news.length) region.textContent = news.join('. ');
      }
      tick();
      document.body.setAttribute('data-inbox-updated', String(Date.now()));
    });
  }

  function simulator() {
    var select = document.getElementById('s-connection');
    var input = document.getElementById('s-input');
    if (!select || !input) return;
    select.addEventListener('change', function () {
      var option = select.options[select.selectedIndex];
      if (option && option.getAttribute('data-example')) input.value = option.getAttribute('data-example');
    });
  }

  // Double-clickjacking: another site's window closes between the two clicks of a double-click it asked for, so
  // the second lands on whatever of ours it had opened underneath; no frame policy helps. An element marked
  // data-deliberate takes a click only once the pointer moved (or a key was pressed) on this page while it was in
  // front, and a moment passed: a human who reads the page first never notices.
  var ARM_MS = 600;
  function deliberate() {
    var marked = document.querySelectorAll('[data-deliberate]');
    if (!marked.length) return;
    var timer = null;
    var armed = false;
    function mark(state) {
      for (var i = 0; i < marked.length; i++) marked[i].setAttribute('data-deliberate', state);
    }
    function disarm() {
      clearTimeout(timer);
      timer = null;
      armed = false;
      mark('waiting');
    }
    function arm(e) {
      if (!e.isTrusted || armed || timer !== null) return;
      // A pointer that did not move is the browser telling the page what is under it now, not the human moving it.
      if (e.type === 'pointermove' && !e.movementX && !e.movementY) return;
      if (document.visibilityState !== 'visible' || !document.hasFocus()) return;
      timer = setTimeout(function () {
        timer = null;
        armed = true;
        mark('armed');
      }, ARM_MS);
    }
    disarm();
    document.addEventListener('pointermove', arm, true);
    document.addEventListener('keydown', arm, true);
    window.addEventListener('blur', disarm);
    window.addEventListener('pageshow', function (e) { if (e.persisted) disarm(); });
    document.addEventListener('visibilitychange', function () { if (document.visibilityState !== 'visible') disarm(); });
    document.addEventListener('click', function (e) {
      var el = e.target && e.target.closest ? e.target.closest('[data-deliberate]') : null;
      if (!el || armed) return;
      e.preventDefault();
      e.stopImmediatePropagation();
      var status = document.querySelector('[data-deliberate-status]');
      if (status) status.textContent = 'Not yet: move the pointer over this page, read it, then click again.';
    }, true);
  }

  document.addEventListener('DOMContentLoaded', function () {
    deliberate();
    tick();
    setInterval(tick, 1000);
    live();
    simulator();
  });
})();
