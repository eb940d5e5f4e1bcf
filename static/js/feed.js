// "Near me now": asks the browser for the current position once and reloads the feed around it.
// The server snaps it to a fine cell centre and never stores it.
(function () {
  "use strict";
  var button = document.getElementById("near-me-now");
  if (!button || !navigator.geolocation) { if (button) button.hidden = true; return; }
  button.addEventListener("click", function () {
    navigator.geolocation.getCurrentPosition(function (pos) {
      var params = new URLSearchParams(window.location.search);
      params.set("lat", pos.coords.latitude.toFixed(5));
      params.set("lng", pos.coords.longitude.toFixed(5));
      params.delete("cursor");
      window.location.search = params.toString();
    });
  });
})();

// "New since your last visit": the cards are shared by neighbours (and cached), so the marks are
// added here from the resident's own line, which the page carries in data-seen.
(function () {
  "use strict";
  var feed = document.getElementById("feed");
  if (!feed || !feed.dataset.seen) return;
  var seen = parseInt(feed.dataset.seen, 10);
  function mark(root) {
    root.querySelectorAll(".stall-card[data-created]").forEach(function (card) {
      if (card.classList.contains("is-new") || parseInt(card.dataset.created, 10) <= seen) return;
      card.classList.add("is-new");
      var tag = document.createElement("span");
      tag.className = "tag new";
      tag.dataset.testid = "new-mark";
      tag.textContent = feed.dataset.newLabel;
      var title = card.querySelector(".stall-title");
      title.insertBefore(document.createTextNode(" "), title.firstChild);
      title.insertBefore(tag, title.firstChild);
    });
  }
  mark(feed);
  document.body.addEventListener("htmx:afterSwap", function () { mark(feed); });
})();
