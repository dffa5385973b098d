// Starts Swagger UI on this gateway's own document. A separate file rather
// than an inline script, so the Content-Security-Policy needs no
// 'unsafe-inline' for scripts. validatorUrl null: no call to the public
// validator badge service.
window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: "/api/public/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
  });
});
