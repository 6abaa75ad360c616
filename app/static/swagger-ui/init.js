// Starts Swagger UI on /docs. A file of its own: the site's CSP allows no inline scripts.
window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  layout: "BaseLayout",
  presets: [SwaggerUIBundle.presets.apis],
  showExtensions: true,
  showCommonExtensions: true,
  tryItOutEnabled: false,
});
