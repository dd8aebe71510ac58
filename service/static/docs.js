// The API reference at /docs: Swagger UI over the service's own OpenAPI document, from files the service
// serves itself (no CDN, no inline script: the page runs under the site's Content-Security-Policy).
"use strict";
window.addEventListener("DOMContentLoaded", function () {
  window.ui = SwaggerUIBundle({
    url: document.body.dataset.spec,
    dom_id: "#swagger-ui",
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    defaultModelsExpandDepth: 0,
  });
});
