// Swagger UI for one service's document (no inline script: CSP script-src 'self').
window.addEventListener("DOMContentLoaded", () => {
  const root = document.getElementById("swagger-ui");
  window.SwaggerUIBundle({
    url: root.dataset.specUrl,
    domNode: root,
    supportedSubmitMethods: [], // read-only: the browser holds no token to call the APIs with
    validatorUrl: null, // never the public validator
  });
});
