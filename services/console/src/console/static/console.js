// The console's only script of its own (CSP script-src 'self', no inline script):
// start the design system's components and give htmx the session's CSRF token as a header.
import { initAll } from "./vendor/nhsuk/nhsuk-frontend.min.js";

document.body.classList.add("js-enabled", "nhsuk-frontend-supported");
const csrf = document.querySelector('meta[name="csrf-token"]');
if (csrf) {
  document.body.setAttribute("hx-headers", JSON.stringify({ "X-CSRF-Token": csrf.content }));
}
initAll();
