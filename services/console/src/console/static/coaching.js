// The coaching queue's deadlines count down in the browser (no server work): every
// <time data-countdown="ISO instant"> shows what is left, or how long it is overdue.
function tick() {
  const now = Date.now();
  for (const el of document.querySelectorAll("time[data-countdown]")) {
    const due = Date.parse(el.dataset.countdown);
    if (Number.isNaN(due)) continue;
    const left = Math.round((due - now) / 1000);
    const abs = Math.abs(left);
    const text = `${Math.floor(abs / 60)} min ${String(abs % 60).padStart(2, "0")} s`;
    el.textContent = left >= 0 ? `in ${text}` : `overdue by ${text}`;
    el.classList.toggle("console-overdue", left < 0);
  }
}
tick();
setInterval(tick, 1000);
