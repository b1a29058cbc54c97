// Countersign console: progressive enhancement only. Every page works without it.
// - the inbox list and its badge follow the server-sent events of /inbox/events;
// - countdowns tick;
// - the simulator offers an example input for the chosen connection.
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

  function live() {
    var url = document.body.getAttribute('data-live');
    if (!url || !window.EventSource) return;
    var source = new EventSource(url);
    source.addEventListener('inbox', function (e) {
      var data = JSON.parse(e.data);
      setCount(data.count);
      var list = document.getElementById('inbox');
      // The server rendered and escaped this fragment exactly as it renders the page.
      if (list) list.innerHTML = data.html;
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

  document.addEventListener('DOMContentLoaded', function () {
    tick();
    setInterval(tick, 1000);
    live();
    simulator();
  });
})();
