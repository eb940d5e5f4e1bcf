// Live chat: history loaded backwards over HTTP, new messages over a WebSocket that reconnects with
// backoff and resyncs from the last sequence number seen, HTTP fallback for sending while it is down.
(function () {
  "use strict";

  var csrf = function () { return document.body.dataset.csrfToken; };
  var wsBase = function (path) {
    return (location.protocol === "https:" ? "wss://" : "ws://") + location.host + path;
  };

  function fmt(template, params) {
    return template.replace(/%\((\w+)\)s/g, function (_, key) { return params[key]; });
  }

  function newClientId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return "c" + Date.now().toString(36) + Math.random().toString(36).slice(2, 12);
  }

  function api(method, url, body, isForm) {
    var headers = { "X-CSRFToken": csrf(), Accept: "application/json" };
    if (body && !isForm) headers["Content-Type"] = "application/json";
    return fetch(url, {
      method: method,
      credentials: "same-origin",
      headers: headers,
      body: body ? (isForm ? body : JSON.stringify(body)) : undefined,
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        return { ok: response.ok, status: response.status, data: data };
      });
    }, function () {
      return { ok: false, status: 0, data: {} }; // offline: callers keep what they need for a retry
    });
  }

  // Text with its links made clickable, built from DOM nodes (never innerHTML).
  function linkify(parent, text) {
    var parts = text.split(/(https?:\/\/[^\s<>"]+)/g);
    parts.forEach(function (part, i) {
      if (i % 2 === 1) {
        var a = document.createElement("a");
        a.href = part;
        a.textContent = part;
        a.rel = "noopener nofollow ugc";
        a.target = "_blank";
        parent.appendChild(a);
      } else if (part) {
        parent.appendChild(document.createTextNode(part));
      }
    });
  }

  /* ------------------------------------------------------------------ conversation page */

  function Conversation(root) {
    this.root = root;
    this.id = Number(root.dataset.conversationId);
    this.me = Number(root.dataset.me);
    this.kind = root.dataset.kind;
    this.readSeq = Number(root.dataset.readSeq || 0);
    this.messagesUrl = root.dataset.messagesUrl;
    this.readUrl = root.dataset.readUrl;
    this.reportUrl = root.dataset.reportUrl;
    this.wsUrl = root.dataset.wsUrl;
    this.t = JSON.parse(document.getElementById("chat-strings").textContent);
    this.list = root.querySelector(".chat-messages");
    this.status = root.querySelector(".chat-status");
    this.typingEl = root.querySelector(".chat-typing");
    this.earlier = root.querySelector(".chat-earlier");
    this.form = root.querySelector(".chat-compose");
    this.errorEl = root.querySelector("[data-testid=compose-error]");
    this.lastSeq = 0; // highest sequence number shown; everything up to it is on the page
    this.othersReadSeq = 0; // how far the other side has read: own messages up to it show as seen
    this.oldestSeq = null;
    this.pending = {}; // client id → {body, el}: sent but not yet seen back
    this.ws = null;
    this.attempt = 0;
    this.stopped = false;
    this.lastTypingSent = 0;
    this.readTimer = null;
    this.typingTimer = null;
    this.start();
  }

  Conversation.prototype.start = function () {
    var self = this;
    this.earlier.textContent = this.t.loadEarlier;
    this.earlier.addEventListener("click", function () { self.loadEarlier(); });
    if (this.form) {
      this.form.addEventListener("submit", function (event) { event.preventDefault(); self.submit(); });
      var body = this.form.querySelector("textarea");
      body.addEventListener("keydown", function (event) {
        if (event.key === "Enter" && !event.shiftKey && !event.isComposing) { event.preventDefault(); self.submit(); }
      });
      body.addEventListener("input", function () { self.typing(); });
      this.form.querySelector("input[type=file]").addEventListener("change", function (event) {
        if (event.target.files.length) self.sendPhoto(event.target.files[0]);
        event.target.value = "";
      });
    }
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "visible") self.markReadSoon();
    });
    setInterval(function () { self.frame({ type: "ping" }); }, 30000);
    this.setStatus(this.t.connecting);
    this.loadLatest();
  };

  Conversation.prototype.loadLatest = function () {
    var self = this;
    api("GET", this.messagesUrl).then(function (res) {
      if (!res.ok) {
        self.setStatus(res.data.detail || self.t.offline);
        if (res.status === 0 || res.status >= 500) setTimeout(function () { self.loadLatest(); }, 3000);
        return;
      }
      self.prepend(res.data.messages, res.data.has_more, true);
      self.markSeen(res.data.others_read_seq);
      self.scrollDown();
      self.connect();
      self.markReadSoon();
    });
  };

  Conversation.prototype.setStatus = function (text) {
    this.status.textContent = text;
    this.root.dataset.live = this.ws && this.ws.readyState === 1 ? "1" : "0";
  };

  Conversation.prototype.render = function (m) {
    var li = document.createElement("li");
    li.className = "chat-msg" + (m.sender.id === this.me ? " mine" : "");
    li.dataset.seq = m.seq;
    li.dataset.testid = "message";
    var who = document.createElement("span");
    who.className = "who";
    who.textContent = m.sender.id === this.me ? this.t.you : (m.shop ? m.shop.name + " · " + m.sender.name : m.sender.name);
    li.appendChild(who);
    if (m.hidden) {
      var hidden = document.createElement("span");
      hidden.className = "body muted";
      hidden.textContent = this.t.hidden;
      li.appendChild(hidden);
    }
    if (m.body) {
      var body = document.createElement("span");
      body.className = "body";
      linkify(body, m.body);
      li.appendChild(body);
    }
    if (m.photo) {
      var img = document.createElement("img");
      img.src = m.photo;
      img.alt = this.t.photo;
      img.loading = "lazy";
      li.appendChild(img);
    }
    var meta = document.createElement("span");
    meta.className = "meta";
    meta.textContent = new Date(m.created_at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }) + " ";
    if (m.sender.id !== this.me && !m.hidden) {
      var report = document.createElement("a");
      report.href = this.reportUrl.replace("/0/", "/" + m.id + "/");
      report.textContent = this.t.report;
      meta.appendChild(report);
    }
    li.appendChild(meta);
    return li;
  };

  // History page (oldest first) goes above what is shown.
  Conversation.prototype.prepend = function (messages, hasMore, first) {
    var anchor = this.list.firstChild;
    var self = this;
    var dividerDone = false;
    messages.forEach(function (m) {
      if (first && !dividerDone && m.seq > self.readSeq && m.sender.id !== self.me && self.readSeq > 0) {
        var divider = document.createElement("li");
        divider.className = "chat-divider";
        divider.textContent = self.t.unreadBelow;
        self.list.insertBefore(divider, anchor);
        dividerDone = true;
      }
      self.list.insertBefore(self.render(m), anchor);
    });
    if (messages.length) {
      this.oldestSeq = messages[0].seq;
      if (first) this.lastSeq = messages[messages.length - 1].seq;
    }
    this.earlier.hidden = false;
    this.earlier.disabled = !hasMore;
    this.earlier.textContent = hasMore ? this.t.loadEarlier : this.t.noMore;
  };

  Conversation.prototype.loadEarlier = function () {
    if (this.oldestSeq === null) return;
    var self = this;
    var height = this.list.scrollHeight;
    api("GET", this.messagesUrl + "?before=" + this.oldestSeq).then(function (res) {
      if (!res.ok) return;
      self.prepend(res.data.messages, res.data.has_more, false);
      self.list.scrollTop = self.list.scrollHeight - height;
    });
  };

  // New messages arrive in sequence order; one already shown is skipped.
  Conversation.prototype.append = function (m) {
    if (m.seq <= this.lastSeq) return;
    var atBottom = this.list.scrollHeight - this.list.scrollTop - this.list.clientHeight < 80;
    if (m.sender.id === this.me && this.pending[m.client_id]) {
      this.pending[m.client_id].el.remove();
      delete this.pending[m.client_id];
    }
    var pendingEls = this.list.querySelectorAll(".pending");
    var el = this.render(m);
    if (pendingEls.length) this.list.insertBefore(el, pendingEls[0]);
    else this.list.appendChild(el);
    this.lastSeq = m.seq;
    if (this.oldestSeq === null) this.oldestSeq = m.seq;
    if (atBottom || m.sender.id === this.me) this.scrollDown();
    if (m.sender.id !== this.me) this.typingEl.hidden = true;
    this.markReadSoon();
  };

  // The newest own message the other side has read shows "Seen".
  Conversation.prototype.markSeen = function (seq) {
    if (!seq || seq <= this.othersReadSeq) return;
    this.othersReadSeq = seq;
    var mine = this.list.querySelectorAll(".chat-msg.mine[data-seq]");
    var last = null;
    for (var i = 0; i < mine.length; i++) {
      if (Number(mine[i].dataset.seq) <= seq) last = mine[i];
    }
    var old = this.list.querySelector(".chat-seen");
    if (!last) return;
    if (old) old.remove();
    var seen = document.createElement("span");
    seen.className = "chat-seen";
    seen.dataset.testid = "seen";
    seen.textContent = "✓ " + this.t.seen;
    last.querySelector(".meta").appendChild(seen);
  };

  Conversation.prototype.scrollDown = function () { this.list.scrollTop = this.list.scrollHeight; };

  Conversation.prototype.markReadSoon = function () {
    var self = this;
    if (document.visibilityState !== "visible" || this.lastSeq <= this.readSeq) return;
    clearTimeout(this.readTimer);
    this.readTimer = setTimeout(function () {
      var seq = self.lastSeq;
      if (seq <= self.readSeq) return;
      self.readSeq = seq;
      if (!self.frame({ type: "read", seq: seq })) {
        api("POST", self.readUrl, { seq: seq }).then(function (res) {
          if (!res.ok) self.readSeq = Math.min(self.readSeq, seq - 1); // marked again later
        });
      }
    }, 400);
  };

  /* --- the socket --- */

  Conversation.prototype.connect = function () {
    var self = this;
    if (this.stopped) return;
    var ws = new WebSocket(wsBase(this.wsUrl) + "?after=" + this.lastSeq);
    this.ws = ws;
    ws.onopen = function () {
      self.attempt = 0;
      self.setStatus(self.t.online);
      // Whatever was sent while the socket was down, or not acknowledged, goes again with the same
      // client id: the server stores it once.
      Object.keys(self.pending).forEach(function (clientId) {
        self.frame({ type: "message.send", client_id: clientId, body: self.pending[clientId].body });
      });
    };
    ws.onmessage = function (event) {
      var frame;
      try { frame = JSON.parse(event.data); } catch (e) { return; }
      self.onFrame(frame);
    };
    ws.onclose = function (event) {
      if (self.ws !== ws) return;
      self.ws = null;
      if (event.code === 4401) { self.stop(self.t.signedOut); return; }
      if (event.code === 4403) { self.stop(self.t.closed); return; }
      self.retry();
    };
  };

  Conversation.prototype.retry = function () {
    var self = this;
    if (this.stopped) return;
    var delay = Math.min(30, Math.pow(2, this.attempt)) * (0.5 + Math.random() / 2);
    this.attempt += 1;
    this.setStatus(this.t.offline + " " + fmt(this.t.reconnecting, { s: Math.ceil(delay) }));
    setTimeout(function () { self.connect(); }, delay * 1000);
  };

  Conversation.prototype.stop = function (text) {
    this.stopped = true;
    this.setStatus(text);
    if (this.form) this.form.hidden = true;
  };

  // Sends a frame when the socket is open; false when it is not (the caller falls back to HTTP).
  Conversation.prototype.frame = function (frame) {
    if (!this.ws || this.ws.readyState !== 1) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  };

  Conversation.prototype.onFrame = function (frame) {
    switch (frame.type) {
      case "message.new":
        this.append(frame.message);
        break;
      case "message.ack":
        if (this.pending[frame.client_id]) this.pending[frame.client_id].el.classList.remove("failed");
        break;
      case "read":
        this.markSeen(frame.seq);
        break;
      case "sync.more": // a long absence: the server sends the rest when asked
        this.frame({ type: "sync", after: this.lastSeq });
        break;
      case "typing":
        this.showTyping(frame.name);
        break;
      case "error":
        this.onError(frame);
        break;
      case "closing":
        this.stop(frame.reason === "blocked" ? this.t.closed : this.t.signedOut);
        break;
      default:
        break; // pushes meant for other parts of the page (the notification bell)
    }
  };

  Conversation.prototype.onError = function (frame) {
    var pending = frame.client_id && this.pending[frame.client_id];
    if (pending && frame.code === "rate_limited") {
      var self = this;
      setTimeout(function () {
        if (self.pending[frame.client_id]) self.frame({ type: "message.send", client_id: frame.client_id, body: pending.body });
      }, 3000);
      return;
    }
    if (pending) {
      pending.el.remove();
      delete this.pending[frame.client_id];
    }
    this.showError(frame.detail);
  };

  Conversation.prototype.showError = function (text) {
    if (!this.errorEl) return;
    this.errorEl.textContent = text;
    this.errorEl.hidden = !text;
  };

  Conversation.prototype.showTyping = function (name) {
    var self = this;
    this.typingEl.textContent = fmt(this.t.typing, { name: name });
    this.typingEl.hidden = false;
    clearTimeout(this.typingTimer);
    this.typingTimer = setTimeout(function () { self.typingEl.hidden = true; }, 4000);
  };

  Conversation.prototype.typing = function () {
    if (this.kind === "room" || Date.now() - this.lastTypingSent < 2000) return;
    this.lastTypingSent = Date.now();
    this.frame({ type: "typing" });
  };

  /* --- sending --- */

  Conversation.prototype.submit = function () {
    var textarea = this.form.querySelector("textarea");
    var body = textarea.value.trim();
    if (!body) return;
    textarea.value = "";
    this.showError("");
    var clientId = newClientId();
    var el = this.render({
      id: 0, seq: 0, sender: { id: this.me, name: "" }, shop: null, body: body, photo: null,
      created_at: new Date().toISOString(),
    });
    el.classList.add("pending");
    el.dataset.testid = "pending";
    this.list.appendChild(el);
    this.scrollDown();
    this.pending[clientId] = { body: body, el: el };
    if (!this.frame({ type: "message.send", client_id: clientId, body: body })) this.sendOverHttp(clientId);
  };

  Conversation.prototype.sendOverHttp = function (clientId) {
    var self = this;
    var pending = this.pending[clientId];
    api("POST", this.messagesUrl, { client_id: clientId, body: pending.body }).then(function (res) {
      self.afterHttpSend(clientId, res);
    });
  };

  Conversation.prototype.sendPhoto = function (file) {
    var self = this;
    var clientId = newClientId();
    var data = new FormData();
    data.append("client_id", clientId);
    data.append("body", "");
    data.append("photo", file);
    this.showError("");
    this.setStatus(this.t.sending);
    api("POST", this.messagesUrl, data, true).then(function (res) {
      self.setStatus(self.ws && self.ws.readyState === 1 ? self.t.online : self.t.offline);
      self.afterHttpSend(clientId, res);
    });
  };

  Conversation.prototype.afterHttpSend = function (clientId, res) {
    var pending = this.pending[clientId];
    if (!res.ok) {
      if (pending && (res.status === 0 || res.status >= 500 || res.status === 429)) {
        pending.el.classList.add("failed");
        pending.el.title = this.t.failed; // stays pending; sent again when the socket is back
        return;
      }
      if (pending) { pending.el.remove(); delete this.pending[clientId]; }
      this.showError(res.data.detail || (res.data.photo && res.data.photo[0]) || this.t.failed);
      return;
    }
    // With the socket up the message arrives on it; without, fetch what is new, in order.
    if (!this.ws || this.ws.readyState !== 1) this.httpResync();
  };

  Conversation.prototype.httpResync = function () {
    var self = this;
    api("GET", this.messagesUrl + "?after=" + this.lastSeq).then(function (res) {
      if (!res.ok) return;
      res.data.messages.forEach(function (m) { self.append(m); });
      if (res.data.has_more) self.httpResync();
    });
  };

  /* ------------------------------------------------------------------ conversation list */

  function ConversationList(root) {
    var ws;
    var attempt = 0;
    function refresh() {
      api("GET", root.dataset.apiUrl).then(function (res) {
        if (!res.ok) return;
        var ul = root.querySelector(".chat-conversations");
        res.data.forEach(function (c, i) {
          var li = ul.querySelector('[data-conversation-id="' + c.id + '"]');
          if (!li) { location.reload(); return; }
          var badge = li.querySelector(".chat-unread");
          badge.textContent = c.unread;
          badge.hidden = !c.unread;
          li.classList.toggle("unread", c.unread > 0);
          // The answer is sorted by last activity. Only a row out of place moves: moving a row takes
          // it out of the page for a moment, and a tap on it at that moment would be lost.
          if (ul.children[i] !== li) ul.insertBefore(li, ul.children[i] || null);
        });
      });
    }
    function connect() {
      ws = new WebSocket(wsBase(root.dataset.wsUrl));
      ws.onopen = function () { attempt = 0; refresh(); };
      ws.onmessage = function (event) {
        var frame = JSON.parse(event.data);
        if (frame.type === "conversation.activity") refresh();
      };
      ws.onclose = function (event) {
        if (event.code === 4401) return;
        attempt += 1;
        setTimeout(connect, Math.min(30, Math.pow(2, attempt)) * 1000 * (0.5 + Math.random() / 2));
      };
    }
    connect();
  }

  document.addEventListener("DOMContentLoaded", function () {
    var chat = document.getElementById("chat");
    if (chat) window.jiefangChat = new Conversation(chat);
    var list = document.getElementById("chat-list");
    if (list) ConversationList(list);
  });
})();
