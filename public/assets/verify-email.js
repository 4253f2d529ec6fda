// The page behind the verification link: takes the token from ?token=, posts it to
// /api/user/verify_email when the button is pressed and shows what the API answers.
const form = document.getElementById("verify-form");
const button = form.querySelector("button");
const status = document.getElementById("status");
const token = new URLSearchParams(location.search).get("token");
// Out of the address bar and the history: until it is used, the token proves the mailbox.
history.replaceState(null, "", location.pathname);

function show(kind, message) {
  status.textContent = message;
  status.className = kind;
}

async function submit(event) {
  event.preventDefault();
  button.disabled = true;
  show("pending", "Confirming…");
  try {
    const res = await fetch("/api/user/verify_email", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ token }),
    });
    const body = await res.json().catch(() => ({}));
    if (res.ok) {
      form.hidden = true;
      show("success", `${body.msg} You can close this page.`);
      return;
    }
    show("error", typeof body.msg === "string" ? body.msg : `The server answered ${res.status}.`);
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
  show("error", "This link has no verification token. Ask for a new verification email.");
}
