// poolsim report.html: builds the page from the embedded JSON document (#poolsim-data).
// Every text from the data goes into the page as text (textContent), never as markup.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("poolsim-data").textContent);
  var root = document.getElementById("report");
  // Tableau 10: distinct on white, the same order as the PNG plots' first colours.
  var PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];
  // The most event rows drawn at once: a large run has tens of thousands; the filter
  // narrows them down.
  var ROW_LIMIT = 1000;
  var charts = [];

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      node.setAttribute(name, attrs[name]);
    });
    (children || []).forEach(function (child) {
      node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return node;
  }

  function color(slot, alpha) {
    var hex = PALETTE[slot % PALETTE.length];
    if (alpha === undefined) return hex;
    var n = parseInt(hex.slice(1), 16);
    return "rgba(" + (n >> 16) + "," + ((n >> 8) & 255) + "," + (n & 255) + "," + alpha + ")";
  }

  function formatNumber(value) {
    if (value === null || value === undefined) return "–";
    return String(Math.round(value * 1000) / 1000);
  }

  function formatValue(value) {
    if (value === null || value === undefined) return "absent";
    if (typeof value === "number") return formatNumber(value);
    if (typeof value === "string") return value;
    return JSON.stringify(value);
  }

  function card(title, id) {
    var section = el("section", { "class": "card", id: id }, [el("h2", {}, [title])]);
    root.appendChild(section);
    return section;
  }

  function dataTable(columns, rows, id) {
    var head = el("tr", {}, columns.map(function (c) { return el("th", {}, [c]); }));
    var body = el("tbody", {}, rows.map(function (row) { return tableRow(row); }));
    return el("table", { "class": "data", id: id }, [el("thead", {}, [head]), body]);
  }

  function tableRow(cells) {
    return el("tr", {}, cells.map(function (cell) {
      var numeric = cell !== "" && !isNaN(Number(cell));
      return el("td", numeric ? { "class": "num" } : {}, [cell]);
    }));
  }

  function header() {
    root.textContent = "";
    root.appendChild(el("h1", { id: "title" }, [data.title]));
    root.appendChild(el("p", { "class": "subtitle" }, [data.subtitle]));
  }

  function expectations() {
    if (!data.expectations.length) return;
    var failed = data.expectations.filter(function (e) { return !e.passed; }).length;
    var section = card("Expectations: " + (failed ? failed + " failed" : "all passed"),
      "expectations");
    var rows = data.expectations.map(function (e) {
      return el("tr", {}, [
        el("td", {}, [e.description]),
        el("td", { "class": e.passed ? "passed" : "failed" }, [e.passed ? "passed" : "FAILED"]),
        el("td", { "class": "num" }, [formatNumber(e.observed)])
      ]);
    });
    var head = el("tr", {}, ["expectation", "result", "observed"].map(function (c) {
      return el("th", {}, [c]);
    }));
    section.appendChild(el("table", { "class": "data", id: "expectations-table" },
      [el("thead", {}, [head]), el("tbody", {}, rows)]));
  }

  function warnings() {
    if (!data.warnings.length) return;
    var section = card("Warnings", "warnings");
    section.appendChild(el("ul", { "class": "warnings" }, data.warnings.map(function (w) {
      return el("li", {}, [w]);
    })));
  }

  // Scenario events as vertical lines, failures as shaded spans, the HPA target as a
  // horizontal line; the events near the cursor are named above the chart.
  function marksPlugin(chart, hoverLine) {
    function x(u, t) { return u.valToPos(t, "x", true); }
    return {
      hooks: {
        drawClear: [function (u) {
          var ctx = u.ctx, box = u.bbox;
          ctx.save();
          ctx.fillStyle = "rgba(214,39,40,0.08)";
          data.intervals.forEach(function (span) {
            var left = Math.max(box.left, x(u, span.start_s));
            var right = Math.min(box.left + box.width, x(u, span.end_s));
            if (right > left) ctx.fillRect(left, box.top, right - left, box.height);
          });
          ctx.restore();
        }],
        draw: [function (u) {
          var ctx = u.ctx, box = u.bbox;
          ctx.save();
          ctx.strokeStyle = "rgba(90,98,114,0.7)";
          ctx.setLineDash([4, 4]);
          ctx.lineWidth = 1;
          data.marks.forEach(function (mark) {
            var px = x(u, mark.time_s);
            if (px < box.left || px > box.left + box.width) return;
            ctx.beginPath();
            ctx.moveTo(px, box.top);
            ctx.lineTo(px, box.top + box.height);
            ctx.stroke();
          });
          if (chart.threshold) {
            var py = u.valToPos(chart.threshold.value, "y", true);
            ctx.strokeStyle = "#ff7f0e";
            ctx.beginPath();
            ctx.moveTo(box.left, py);
            ctx.lineTo(box.left + box.width, py);
            ctx.stroke();
          }
          ctx.restore();
        }],
        setCursor: [function (u) {
          var index = u.cursor.idx;
          if (index === null || index === undefined) { hoverLine.textContent = ""; return; }
          var t = u.data[0][index];
          var range = (u.scales.x.max - u.scales.x.min) || 1;
          var near = data.marks.filter(function (m) {
            return Math.abs(m.time_s - t) <= range / 100;
          }).map(function (m) { return m.label + " (" + formatNumber(m.time_s) + " s)"; });
          hoverLine.textContent = "t = " + formatNumber(t) + " s" +
            (near.length ? " · " + near.join(" · ") : "");
        }]
      }
    };
  }

  function chartOptions(chart, width, hoverLine) {
    var stepped = uPlot.paths.stepped({ align: 1 });
    var axes = [{ label: "simulated time (s)" }, { scale: "y", label: chart.y_label }];
    if (chart.y2_label) {
      axes.push({ scale: "y2", side: 1, label: chart.y2_label, grid: { show: false } });
    }
    var series = [{ label: "time (s)", value: function (u, v) { return formatNumber(v); } }];
    chart.series.forEach(function (s) {
      series.push({
        label: s.name,
        scale: s.right_axis ? "y2" : "y",
        stroke: color(s.color),
        width: s.dashed ? 1 : 2,
        dash: s.dashed ? [6, 4] : undefined,
        paths: stepped,
        value: function (u, v) { return formatNumber(v); }
      });
    });
    return {
      width: width,
      height: 320,
      cursor: { sync: { key: "poolsim" }, drag: { x: true, y: false } },
      scales: { x: { time: false } },
      axes: axes,
      series: series,
      bands: chart.bands.map(function (pair) {
        return { series: [pair[0] + 1, pair[1] + 1], fill: color(chart.series[pair[0]].color, 0.15) };
      }),
      plugins: [marksPlugin(chart, hoverLine)]
    };
  }

  function chartsSection() {
    data.charts.forEach(function (chart) {
      var section = card(chart.title, "chart-" + chart.id);
      section.classList.add("chart");
      section.setAttribute("data-chart", chart.id);
      section.appendChild(el("p", { "class": "hint" },
        ["Drag across the chart to zoom in, double-click to zoom out; hover for the " +
         "values at a time (shown in the legend); click a legend entry to hide or show " +
         "its series. Dashed vertical lines are the scenario's events."]));
      var hoverLine = el("div", { "class": "hover-events" }, []);
      section.appendChild(hoverLine);
      var plot = el("div", { "class": "chart-plot" }, []);
      section.appendChild(plot);
      var width = Math.max(plot.clientWidth || 0, 480);
      var series = [chart.time_s].concat(chart.series.map(function (s) { return s.values; }));
      charts.push(new uPlot(chartOptions(chart, width, hoverLine), series, plot));
    });
    var pending = null;
    window.addEventListener("resize", function () {
      clearTimeout(pending);
      pending = setTimeout(function () {
        charts.forEach(function (u) {
          u.setSize({ width: Math.max(u.root.parentNode.clientWidth, 480), height: 320 });
        });
      }, 100);
    });
  }

  function summary() {
    if (!data.summary.length) return;
    var section = card("Summary", "summary");
    var rows = data.summary.map(function (pair) { return [pair[0], formatValue(pair[1])]; });
    section.appendChild(dataTable(["metric", "value"], rows, "summary-table"));
  }

  function tables() {
    data.tables.forEach(function (table) {
      var section = card(table.title, "table-" + table.id);
      var scroll = el("div", { "class": "table-scroll" }, []);
      scroll.appendChild(dataTable(table.columns, table.rows, "table-" + table.id + "-data"));
      section.appendChild(scroll);
    });
  }

  // A select offering every distinct value of one column, or null without the column.
  function columnFilter(events, name) {
    var index = events.columns.indexOf(name);
    if (index < 0) return null;
    var values = {};
    events.rows.forEach(function (row) { values[row[index]] = true; });
    var select = el("select", { id: "filter-" + name }, [el("option", { value: "" }, ["all"])]);
    Object.keys(values).sort().forEach(function (v) {
      select.appendChild(el("option", { value: v }, [v]));
    });
    return { index: index, input: select, label: name };
  }

  function eventsSection() {
    var events = data.events;
    if (!events) return;
    var section = card("Events", "events");
    var filters = ["type", "kind"].map(function (name) { return columnFilter(events, name); })
      .filter(function (f) { return f !== null; });
    var objectIndex = events.columns.indexOf("object");
    var objectInput = el("input", { id: "filter-object", type: "search",
      placeholder: "object name contains…" }, []);
    var count = el("span", { "class": "events-count", id: "events-count" }, []);
    var bar = el("div", { "class": "filters" }, []);
    filters.forEach(function (f) {
      bar.appendChild(el("label", {}, [f.label + " ", f.input]));
    });
    if (objectIndex >= 0) bar.appendChild(el("label", {}, ["object ", objectInput]));
    bar.appendChild(count);
    section.appendChild(bar);
    var table = dataTable(events.columns, [], "events-table");
    var scroll = el("div", { "class": "table-scroll" }, [table]);
    section.appendChild(scroll);
    var typeIndex = events.columns.indexOf("type");
    var body = table.querySelector("tbody");
    function apply() {
      var needle = objectInput.value.trim().toLowerCase();
      var matching = events.rows.filter(function (row) {
        return filters.every(function (f) {
          return f.input.value === "" || row[f.index] === f.input.value;
        }) && (needle === "" || objectIndex < 0 ||
          row[objectIndex].toLowerCase().indexOf(needle) >= 0);
      });
      body.textContent = "";
      matching.slice(0, ROW_LIMIT).forEach(function (row) {
        var tr = tableRow(row);
        if (typeIndex >= 0 && row[typeIndex] === "Warning") tr.classList.add("warning");
        body.appendChild(tr);
      });
      count.textContent = matching.length + " of " + events.rows.length + " events" +
        (matching.length > ROW_LIMIT ? " (the first " + ROW_LIMIT + " shown)" : "");
    }
    filters.forEach(function (f) { f.input.addEventListener("change", apply); });
    objectInput.addEventListener("input", apply);
    apply();
  }

  header();
  expectations();
  warnings();
  chartsSection();
  summary();
  tables();
  eventsSection();
  // For scripts and tests that read the page: the data and the chart objects.
  window.poolsimReport = { data: data, charts: charts };
})();
