// The ops page's charts, drawn with uPlot from the JSON data (data-chart-data) the console's
// server wrote from Prometheus (the browser never asks Prometheus itself; CSP script-src 'self' holds). Each
// chart has a table behind it saying the same, so the canvas is hidden from screen readers.
// Drawn on load and again whenever htmx swaps the screen in (a range picked, the 30 s poll).
import uPlot from "./vendor/uplot/uPlot.esm.js";

const COLOURS = ["#005eb8", "#d5281b", "#007f3b", "#330072", "#ffb81c", "#ae2573", "#00a499", "#768692", "#003087", "#78be20"];

const FORMATS = {
  reqps: (v) => `${+v.toPrecision(3)}/s`,
  percentunit: (v) => `${+(v * 100).toPrecision(3)}%`,
  s: (v) => (v < 1 && v > 0 ? `${+(v * 1000).toPrecision(3)} ms` : `${+v.toPrecision(3)} s`),
  opm: (v) => `${+v.toPrecision(3)}/min`,
  short: (v) => `${+v.toPrecision(4)}`,
};

function draw(el, data) {
  const format = FORMATS[data.unit] || FORMATS.short;
  const series = [{}];
  data.series.forEach((s, n) => {
    series.push({ label: s.label, stroke: COLOURS[n % COLOURS.length], width: 2, spanGaps: false, value: (u, v) => (v == null ? "–" : format(v)) });
  });
  return new uPlot(
    {
      width: Math.max(el.clientWidth || 500, 280),
      height: 220,
      // the tables say UTC: so do the axes, whatever the browser's zone
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1e3), "Etc/UTC"),
      scales: { y: { range: (u, min, max) => [Math.min(0, min ?? 0), max > 0 ? max * 1.1 : 1] } },
      axes: [{ label: "Time (UTC)" }, { label: data.axis, size: 60, values: (u, splits) => splits.map((v) => format(v)) }],
      series,
    },
    [data.x, ...data.series.map((s) => s.values)],
    el,
  );
}

function drawAll(root) {
  for (const el of root.querySelectorAll('[data-chart="ops"]:not([data-drawn])')) {
    draw(el, JSON.parse(el.dataset.chartData));
    el.dataset.drawn = "true";
  }
}

drawAll(document);
document.body.addEventListener("htmx:afterSettle", () => drawAll(document));
