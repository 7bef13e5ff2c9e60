// The therapist's charts, drawn with uPlot from JSON data blocks (<script type="application/json">,
// never executed: CSP script-src 'self' holds). Each chart has a table behind it saying the same,
// so the canvas is hidden from screen readers.
import uPlot from "./vendor/uplot/uPlot.esm.js";

const COLOURS = ["#005eb8", "#d5281b", "#007f3b", "#330072", "#ffb81c", "#ae2573", "#00a499"];
const size = (el) => ({ width: Math.max(el.clientWidth || 600, 300), height: 260 });

function byIndex(labels) {
  return (u, splits) => splits.map((i) => (Number.isInteger(i) ? labels[i] ?? "" : ""));
}

function points(colour, sizePx) {
  return { stroke: colour, fill: colour, width: 0, paths: () => null, points: { show: true, size: sizePx, fill: colour } };
}

function diary(el, data) {
  const xs = data.labels.map((_, i) => i);
  const series = [{}];
  const values = [xs];
  data.series.forEach((s, n) => {
    const colour = COLOURS[n % COLOURS.length];
    series.push({ label: s.label, stroke: colour, width: n === 0 ? 3 : 2, scale: n === 0 ? "distress" : "urge", spanGaps: false });
    values.push(s.values);
    if (s.acted) {
      series.push({ label: `${s.label}: acted on`, scale: "urge", ...points(colour, 14) });
      values.push(s.values.map((v, i) => (s.acted[i] ? v : null)));
    }
  });
  return new uPlot(
    {
      ...size(el),
      scales: { x: { time: false, range: [-0.3, xs.length - 0.7] }, distress: { range: [0, 10] }, urge: { range: [0, 5] } },
      axes: [
        { values: byIndex(data.labels), splits: () => xs },
        { scale: "distress", label: "Distress" },
        { scale: "urge", side: 1, label: "Urges", grid: { show: false } },
      ],
      series,
    },
    values,
    el,
  );
}

function alliance(el, data) {
  const xs = data.labels.map((_, i) => i);
  const [total, baseline] = data.series;
  const ruptured = total.values.map((v, i) => (data.ruptures.includes(i) ? v : null));
  return new uPlot(
    {
      ...size(el),
      scales: { x: { time: false, range: [-0.3, Math.max(xs.length - 0.7, 0.7)] }, y: { range: [0, 40] } },
      axes: [{ values: byIndex(data.labels), splits: () => xs }, { label: "Total" }],
      series: [
        {},
        { label: total.label, stroke: COLOURS[0], width: 3 },
        { label: baseline.label, stroke: "#768692", width: 2, dash: [6, 4] },
        { label: "Rupture", ...points(COLOURS[1], 16) },
      ],
    },
    [xs, total.values, baseline.values, ruptured],
    el,
  );
}

const DRAW = { diary, alliance };
for (const el of document.querySelectorAll("[data-chart]")) {
  const source = document.getElementById(el.dataset.chartSource);
  const draw = DRAW[el.dataset.chart];
  if (!source || !draw) continue;
  draw(el, JSON.parse(source.textContent));
  el.dataset.drawn = "true";
}
