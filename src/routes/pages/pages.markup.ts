import { SwaggerUI } from "@hono/swagger-ui";

// The pages are static: whatever varies (the token) is read in the browser, so nothing from the
// request is ever written into the HTML.

const head = (title: string, extra: string) => `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<link rel="icon" href="data:,">
${extra}
</head>`;

/**
 * Swagger UI for /openapi.json, drawn by @hono/swagger-ui with swagger-ui-dist's files from this
 * server (baseUrl: /assets/swagger-ui-dist/…), never from its default CDN. Its one inline script
 * starts Swagger UI; the page's CSP allows it by its hash (pages.handlers.ts).
 */
export const docPage = `${head("User Management API: Swagger UI", "")}
<body>
${SwaggerUI({
  url: "/openapi.json",
  baseUrl: "/assets",
  // "Authorize" survives a reload (Swagger UI keeps it in localStorage).
  persistAuthorization: true,
  // Else the validator badge is fetched from validator.swagger.io: nothing leaves the origin.
  validatorUrl: "none",
})}
</body>
</html>
`;

/** The page the reset email links to (APP_URL's default): the new password, twice. */
export const resetPasswordPage = `${head(
  "Reset your password",
  `<link rel="stylesheet" href="/assets/reset-password.css">
<script type="module" src="/assets/reset-password.js"></script>`,
)}
<body>
<main>
<h1>Reset your password</h1>
<form id="reset-form" method="post" novalidate>
<label>New password <input type="password" name="new_password" autocomplete="new-password"></label>
<label>New password, again <input type="password" name="confirm_password" autocomplete="new-password"></label>
<button type="submit">Set the new password</button>
</form>
<p id="status" role="status" aria-live="polite"></p>
<ul id="problems"></ul>
</main>
</body>
</html>
`;

/**
 * The page the verification email links to (EMAIL_VERIFY_URL's default). The token is used only
 * when the button is pressed: a mail scanner that opens links (and runs their scripts) must not
 * spend it, least of all on an email change.
 */
export const verifyEmailPage = `${head(
  "Confirm your email address",
  `<link rel="stylesheet" href="/assets/reset-password.css">
<script type="module" src="/assets/verify-email.js"></script>`,
)}
<body>
<main>
<h1>Confirm your email address</h1>
<form id="verify-form" method="post" novalidate>
<button type="submit">Confirm this address</button>
</form>
<p id="status" role="status" aria-live="polite"></p>
</main>
</body>
</html>
`;
