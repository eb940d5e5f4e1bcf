// Shop maps: the exact-place picker of the shop form, and the read-only map of the shop page.
// A shop is a public place, so unlike a resident's home its exact point is kept and shown.
// Tiles come from the configured URL; without them the coordinates fields still work.
(function () {
  "use strict";

  function makeMap(el, center, zoom) {
    var map = L.map(el, { zoomControl: true }).setView(center, zoom);
    var url = document.body.dataset.tileUrl;
    if (url) {
      L.tileLayer(url, { maxZoom: 19, attribution: document.body.dataset.tileAttribution || "" }).addTo(map);
    }
    return map;
  }

  function marker(map, latlng) {
    return L.circleMarker(latlng, { radius: 9, color: "#c2410c", weight: 3, fillColor: "#fff7ed", fillOpacity: 1 }).addTo(map);
  }

  var shown = document.querySelector("[data-shop-map]");
  if (shown) {
    var at = [parseFloat(shown.dataset.lat), parseFloat(shown.dataset.lng)];
    if (isFinite(at[0]) && isFinite(at[1])) {
      var m = makeMap(shown, at, 17);
      marker(m, at).bindTooltip(shown.dataset.name || "");
    }
  }

  var picker = document.querySelector("[data-shop-picker]");
  if (!picker) return;
  var latInput = document.getElementById("id_lat");
  var lngInput = document.getElementById("id_lng");
  var picked = document.getElementById("shop-picked");
  var start = [parseFloat(latInput.value), parseFloat(lngInput.value)];
  var hasStart = isFinite(start[0]) && isFinite(start[1]);
  var center = hasStart ? start : [parseFloat(picker.dataset.centerLat), parseFloat(picker.dataset.centerLng)];
  var map = makeMap(picker, center, hasStart ? 17 : 15);
  var pin = hasStart ? marker(map, start) : null;

  function place(lat, lng, fromInputs) {
    if (!isFinite(lat) || !isFinite(lng)) return;
    if (!fromInputs) {
      latInput.value = lat.toFixed(6);
      lngInput.value = lng.toFixed(6);
    }
    if (pin) pin.setLatLng([lat, lng]); else pin = marker(map, [lat, lng]);
    picked.textContent = picked.dataset.pickedText || "✓";
  }

  map.on("click", function (e) { place(e.latlng.lat, e.latlng.lng, false); });
  function fromInputs() {
    var lat = parseFloat(latInput.value), lng = parseFloat(lngInput.value);
    if (isFinite(lat) && isFinite(lng)) { place(lat, lng, true); map.panTo([lat, lng]); }
  }
  latInput.addEventListener("change", fromInputs);
  lngInput.addEventListener("change", fromInputs);
  document.getElementById("shop-locate").addEventListener("click", function () {
    if (!navigator.geolocation) return;
    navigator.geolocation.getCurrentPosition(function (pos) {
      place(pos.coords.latitude, pos.coords.longitude, false);
      map.setView([pos.coords.latitude, pos.coords.longitude], 18);
    });
  });
})();
