// Maps of Jiefang: the home-area picker and the read-only area map.
// Tiles come from a configurable URL; the page stays usable (manual coordinates, area outline)
// when tiles do not load.
(function () {
  "use strict";
  var DEFAULT_CENTER = [31.2155, 121.4566]; // Jing'an, Shanghai: the demo neighbourhood
  var tileUrl = document.documentElement.dataset.tileUrl;

  function readJson(id) {
    var el = document.getElementById(id);
    if (!el) return null;
    try { return JSON.parse(el.textContent); } catch (e) { return null; }
  }

  function makeMap(el, center, zoom) {
    var map = L.map(el, { zoomControl: true }).setView(center, zoom);
    var url = el.dataset.tileUrl || document.body.dataset.tileUrl;
    if (url) {
      L.tileLayer(url, { maxZoom: 19, attribution: document.body.dataset.tileAttribution || "" }).addTo(map);
    }
    return map;
  }

  function drawArea(map, layer, boundary) {
    if (layer) map.removeLayer(layer);
    var poly = L.polygon(boundary, { color: "#c2410c", weight: 2, fillOpacity: 0.25 }).addTo(map);
    map.fitBounds(poly.getBounds(), { maxZoom: 16, padding: [30, 30] });
    return poly;
  }

  var areaMapEl = document.querySelector("[data-area-map]");
  if (areaMapEl) {
    var area = readJson("home-area");
    var m = makeMap(areaMapEl, DEFAULT_CENTER, 15);
    if (area) drawArea(m, null, area);
  }

  var feedMapEl = document.querySelector("[data-feed-map]");
  if (feedMapEl) {
    var origin = readJson("map-origin") || DEFAULT_CENTER;
    var fm = makeMap(feedMapEl, origin, 15);
    var bounds = [];
    var mine = readJson("home-area");
    if (mine) {
      var own = L.polygon(mine, { color: "#1d4ed8", weight: 2, fillOpacity: 0.1, dashArray: "4" }).addTo(fm);
      bounds.push(own.getBounds());
    }
    (readJson("feed-markers") || []).forEach(function (m) {
      var layer;
      if (m.point) {
        layer = L.circleMarker(m.point, { radius: 8, color: "#c2410c", fillOpacity: 0.8 });
      } else {
        layer = L.polygon(m.area, { color: "#15803d", weight: 1, fillOpacity: 0.25 });
      }
      var link = document.createElement("a");
      link.href = m.url;
      link.textContent = m.title;
      layer.bindPopup(link).addTo(fm);
      bounds.push(layer.getBounds ? layer.getBounds() : L.latLngBounds([m.point, m.point]));
    });
    if (bounds.length) {
      var all = bounds[0];
      bounds.slice(1).forEach(function (b) { all.extend(b); });
      fm.fitBounds(all, { maxZoom: 16, padding: [20, 20] });
    }
  }

  var pickerEl = document.querySelector("[data-home-picker]");
  if (!pickerEl) return;
  var form = document.getElementById("home-form");
  var latInput = form.querySelector("input[name=lat]");
  var lngInput = form.querySelector("input[name=lng]");
  var picked = document.getElementById("picked");
  var current = readJson("home-area");
  var map = makeMap(pickerEl, DEFAULT_CENTER, 15);
  var layer = current ? drawArea(map, null, current) : null;

  function choose(lat, lng) {
    latInput.value = lat;
    lngInput.value = lng;
    fetch(pickerEl.dataset.snapUrl + "?lat=" + encodeURIComponent(lat) + "&lng=" + encodeURIComponent(lng), {
      credentials: "same-origin", headers: { Accept: "application/json" }
    }).then(function (r) { return r.json().then(function (body) { return { ok: r.ok, body: body }; }); })
      .then(function (res) {
        if (!res.ok) { picked.textContent = res.body.detail || JSON.stringify(res.body); return; }
        layer = drawArea(map, layer, res.body.boundary);
        picked.textContent = picked.dataset.chosen || "✓";
        picked.dataset.cell = res.body.cell;
      });
  }

  picked.dataset.chosen = pickerEl.dataset.chosenText || picked.textContent;
  map.on("click", function (e) { choose(e.latlng.lat, e.latlng.lng); });
  document.getElementById("locate-me").addEventListener("click", function () {
    if (!navigator.geolocation) return;
    navigator.geolocation.getCurrentPosition(function (pos) {
      choose(pos.coords.latitude, pos.coords.longitude);
    });
  });
  document.getElementById("manual-apply").addEventListener("click", function () {
    var lat = parseFloat(document.getElementById("manual-lat").value);
    var lng = parseFloat(document.getElementById("manual-lng").value);
    if (isFinite(lat) && isFinite(lng)) choose(lat, lng);
  });
})();
