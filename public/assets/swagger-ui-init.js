// Starts Swagger UI on /doc. A served file, not an inline script: the page's Content-Security-Policy
// allows scripts from this origin only.
const root = document.getElementById("swagger-ui");
window.ui = window.SwaggerUIBundle({
  url: root.dataset.url,
  domNode: root,
  // "Authorize" survives a reload (Swagger UI keeps it in localStorage).
  persistAuthorization: true,
  // The default validator badge is fetched from validator.swagger.io: nothing leaves the origin.
  validatorUrl: null,
});
