// The page behind the reset link: takes the token from ?token=, posts the new password to
// /api/user/reset_password and shows what the API answers.
const form = document.getElementById("reset-form");
const button = form.querySelector("button");
const status = document.getElementById("status");
const problems = document.getElementById("problems");
const token = new URLSearchParams(location.search).get("token");
// Out of the address bar and the history: until it is used, the token is as good as a password.
history.replaceState(null, "", location.pathname);

function show(kind, message, details = []) {
  status.textContent = message;
  status.className = kind;
  problems.replaceChildren(
    ...details.map((detail) => {
      const item = document.createElement("li");
      item.textContent = detail;
      return item;
    }),
  );
}

async function submit(event) {
  event.preventDefault();
  const password = form.elements.new_password.value;
  if (password !== form.elements.confirm_password.value) {
    show("error", "The two passwords are not the same.");
    return;
  }
  button.disabled = true;
  show("pending", "Saving the new password…");
  try {
    const res = await fetch("/api/user/reset_password", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ token, new_password: password }),
    });
    const body = await res.json().catch(() => ({}));
    if (res.ok) {
      form.hidden = true;
      show("success", `${body.msg} You can now log in with the new password.`);
      return;
    }
    const msg = typeof body.msg === "string" ? body.msg : `The server answered ${res.status}.`;
    // A policy refusal says it all in msg; a validation error lists its reasons in details.
    const details = (Array.isArray(body.details) ? body.details : [])
      .filter((detail) => !msg.includes(detail.message))
      .map((detail) => `${detail.path}: ${detail.message}`);
    show("error", msg, details);
  } catch {
    show("error", "The server could not be reached. Try again.");
  } finally {
    button.disabled = false;
  }
}

if (token) {
  form.addEventListener("submit", submit);
} else {
  form.hidden = true;
  show("error", "This link has no reset token. Ask for a new password reset email.");
}
