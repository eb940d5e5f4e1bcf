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
