(function () {
  "use strict";
  // Charts: Chart.js draws each chart of LEDGERFORM_CHARTS on its canvas.
  // No animation, so that a chart is whole at once (and in print). Series
  // differ by fill, not only by colour: solid against outlined.
  var ink = "#1f4e79";
  function money(v, cur) {
    var s = Number(v).toLocaleString("en-GB", {minimumFractionDigits: 2, maximumFractionDigits: 2});
    return cur ? s + " " + cur : s;
  }
  function draw(c) {
    var canvas = document.getElementById(c.id);
    if (!canvas || typeof Chart === "undefined") return;
    var valueAxis = c.horizontal ? "x" : "y";
    var scales = {};
    scales[valueAxis] = {beginAtZero: c.kind === "bar", ticks: {callback: function (v) { return money(v, ""); }}, grid: {color: "#d0d7de"}};
    scales[c.horizontal ? "y" : "x"] = {grid: {display: false}, ticks: {autoSkip: true, maxRotation: 0}};
    var datasets = c.series.map(function (s) {
      var d = {label: s.label, data: s.values, borderColor: ink, borderWidth: 2,
        backgroundColor: s.outline ? "#ffffff" : ink};
      if (c.kind === "line") {
        d.backgroundColor = "rgba(31,78,121,0.12)"; d.fill = true; d.pointRadius = 0; d.tension = 0; d.stepped = true; d.borderWidth = 2;
      }
      return d;
    });
    new Chart(canvas, {
      type: c.kind,
      data: {labels: c.labels, datasets: datasets},
      options: {
        indexAxis: c.horizontal ? "y" : "x",
        animation: false, responsive: true, maintainAspectRatio: false,
        interaction: {mode: "index", intersect: false},
        plugins: {
          legend: {display: c.series.length > 1, labels: {color: "#1b1f24"}},
          tooltip: {callbacks: {label: function (ctx) { return ctx.dataset.label + ": " + money(ctx.parsed[valueAxis], c.currency); }}}
        },
        scales: scales
      }
    });
  }
  (window.LEDGERFORM_CHARTS || []).forEach(draw);

  // Print: open every table of numbers and fit the charts to the page.
  var closed = [];
  window.addEventListener("beforeprint", function () {
    document.querySelectorAll("details").forEach(function (d) { if (!d.open) { d.open = true; closed.push(d); } });
    if (typeof Chart !== "undefined") Object.values(Chart.instances).forEach(function (ch) { ch.resize(); });
  });
  window.addEventListener("afterprint", function () {
    closed.forEach(function (d) { d.open = false; }); closed = [];
    if (typeof Chart !== "undefined") Object.values(Chart.instances).forEach(function (ch) { ch.resize(); });
  });

  // Transactions: filter by text, category and direction; sort by any
  // column (aria-sort says how).
  var table = document.getElementById("tx-table");
  if (!table) return;
  var body = table.tBodies[0];
  var rows = Array.prototype.slice.call(body.rows);
  var text = document.getElementById("tx-text"), cat = document.getElementById("tx-category"), dir = document.getElementById("tx-direction");
  var count = document.getElementById("tx-count");
  rows.forEach(function (r) { r.dataset.text = r.textContent.toLowerCase(); });
  function filter() {
    var t = text.value.toLowerCase().trim(), c = cat.value, d = dir.value, n = 0;
    rows.forEach(function (r) {
      var ok = (!t || r.dataset.text.indexOf(t) >= 0) && (!c || r.dataset.category === c) && (!d || r.dataset.direction === d);
      r.hidden = !ok; if (ok) n++;
    });
    count.textContent = n === rows.length ? rows.length + " transactions" : n + " of " + rows.length + " transactions shown";
  }
  [text, cat, dir].forEach(function (el) { el.addEventListener("input", filter); el.addEventListener("change", filter); });
  table.querySelectorAll("thead button").forEach(function (b) {
    b.addEventListener("click", function () {
      var th = b.parentNode, col = Number(b.dataset.col), num = b.dataset.type === "number";
      var asc = th.getAttribute("aria-sort") !== "ascending";
      table.querySelectorAll("thead th").forEach(function (h) { h.setAttribute("aria-sort", "none"); });
      th.setAttribute("aria-sort", asc ? "ascending" : "descending");
      function key(r) { var cell = r.cells[col]; return num ? Number(cell.dataset.v) : cell.textContent.trim().toLowerCase(); }
      var sorted = rows.slice().sort(function (a, b) {
        var x = key(a), y = key(b), o = x < y ? -1 : x > y ? 1 : 0;
        return asc ? o : -o;
      });
      sorted.forEach(function (r) { body.appendChild(r); });
    });
  });
})();
