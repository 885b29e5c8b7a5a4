// The sign-in form: posts the name and password to /auth/login as JSON, then opens the
// dashboard (the session cookie is set by the answer).
const form = document.getElementById("sign-in");
const error = document.getElementById("error");
form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const button = form.querySelector("button");
  button.disabled = true;
  error.textContent = "";
  try {
    const response = await fetch("/auth/login", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({
        name: document.getElementById("name").value,
        password: document.getElementById("password").value,
      }),
      credentials: "same-origin",
    });
    if (response.ok) {
      window.location.assign("/");
      return;
    }
    const body = await response.json().catch(() => ({}));
    error.textContent = body.error || ("sign-in failed (" + response.status + ")");
  } catch (e) {
    error.textContent = "the hub did not answer: " + e;
  } finally {
    button.disabled = false;
  }
});
