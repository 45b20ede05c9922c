/* The diary's route map: an enhancement of the route list, which stays the primary content (the map is
   aria-hidden and has nothing to focus). Reads the stops from the json_script element that the map's
   `data-route-map` names, draws numbered markers (no images to fetch), the known stretches of the route
   and fits the view to them. Tiles only when the server names a tile URL; otherwise a plain background.
   Redraws after htmx swaps in another day. */
(function () {
  "use strict";

  var maps = [];

  function marker(spot) {
    var text = spot.kind === "start" ? "S" : spot.kind === "end" ? "E" : spot.label;
    var element = document.createElement("span");
    element.textContent = text;
    return L.marker([spot.lat, spot.lng], {
      icon: L.divIcon({
        className: "route-map__marker route-map__marker--" + spot.kind,
        html: element,
        iconSize: [28, 28],
        iconAnchor: [14, 14],
      }),
      interactive: false,
      keyboard: false,
    });
  }

  function draw(container) {
    var source = document.getElementById(container.dataset.routeMap);
    if (!source || typeof L === "undefined") return;
    var data = JSON.parse(source.textContent);
    var visits = data.spots.filter(function (spot) {
      return spot.kind === "visit";
    });
    if (!visits.length) return; // nothing mapped but the base: the list says why
    container.dataset.drawn = "true";
    container.hidden = false;
    var map = L.map(container, {
      zoomControl: false,
      attributionControl: false,
      keyboard: false,
      scrollWheelZoom: false,
      boxZoom: false,
      // On a phone one finger scrolls the page, not the map; two fingers still zoom it.
      dragging: !L.Browser.mobile,
    });
    if (data.tiles) {
      container.classList.add("route-map--tiles");
      L.tileLayer(data.tiles, { maxZoom: 19 }).addTo(map);
    }
    var bounds = L.latLngBounds([]);
    if (data.lines.length) {
      L.polyline(data.lines, {
        className: "route-map__line",
        color: "#1d70b8",
        weight: 4,
        interactive: false,
      }).addTo(map);
    }
    data.spots.forEach(function (spot) {
      marker(spot).addTo(map);
      bounds.extend([spot.lat, spot.lng]);
    });
    map.fitBounds(bounds, { padding: [24, 24], maxZoom: 15 });
    maps.push(map);
  }

  function drawWithin(root) {
    // Maps whose day was swapped out: let Leaflet drop its listeners.
    maps = maps.filter(function (map) {
      if (document.body.contains(map.getContainer())) return true;
      map.remove();
      return false;
    });
    var containers = root.querySelectorAll("[data-route-map]:not([data-drawn])");
    Array.prototype.forEach.call(containers, draw);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () {
      drawWithin(document);
    });
  } else {
    drawWithin(document);
  }
  document.addEventListener("htmx:load", function (event) {
    drawWithin(event.target instanceof Element ? event.target : document);
  });
})();
