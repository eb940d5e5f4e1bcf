// The notification bell, live: the user's own socket (/ws/me/, the chat app's consumer) forwards
// "notification.created" and "notification.read" with the new unread count. Events can be lost while
// the socket is down, so a reconnection asks the API for the count (the first connection does not:
// the page was just rendered with it, and one request fewer per page view counts on a busy server).
(function () {
  "use strict";

  function show(bell, count) {
    var badge = bell.querySelector('[data-testid="unread-count"]');
    if (count > 0) {
      if (!badge) {
        badge = document.createElement("span");
        badge.className = "badge";
        badge.setAttribute("data-testid", "unread-count");
        bell.appendChild(badge);
      }
      badge.textContent = String(count);
    } else if (badge) {
      badge.remove();
    }
  }

  var events = 0; // live events seen: an API answer older than one of them must not undo it

  function resync(bell) {
    var seen = events;
    fetch(bell.dataset.unreadUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (res) { return res.ok ? res.json() : null; })
      .then(function (body) { if (body && seen === events) show(bell, body.unread); })
      .catch(function () { /* offline: the next reconnection tries again */ });
  }

  function connect(bell, attempt) {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    var ws = new WebSocket(scheme + location.host + bell.dataset.wsUrl);
    ws.onopen = function () {
      bell.dataset.live = "1";
      if (attempt > 0) resync(bell);
      attempt = 0;
    };
    ws.onmessage = function (event) {
      var frame;
      try { frame = JSON.parse(event.data); } catch (e) { return; }
      if (frame.type === "notification.created" || frame.type === "notification.read") {
        events += 1;
        show(bell, frame.unread);
      }
    };
    ws.onclose = function (event) {
      delete bell.dataset.live;
      if (event.code === 4401) return; // signed out
      attempt += 1;
      var wait = Math.min(30, Math.pow(2, attempt)) * 1000 * (0.5 + Math.random() / 2);
      setTimeout(function () { connect(bell, attempt); }, wait);
    };
  }

  document.addEventListener("DOMContentLoaded", function () {
    var bell = document.querySelector('[data-testid="bell"][data-ws-url]');
    if (bell && window.WebSocket) connect(bell, 0);
  });
})();
