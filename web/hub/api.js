// The hub's HTTP API as the dashboard uses it: the signed-in person, JSON reads, and actions
// sent with the session's CSRF token (the session cookie goes along by itself: same origin).

let csrf = "";

/** Thrown when the hub answers 401: the page goes to the sign-in page. */
export class SignedOut extends Error {}

function signIn() {
  window.location.assign("/login");
  return new SignedOut("not signed in");
}

async function errorOf(response) {
  try {
    const body = await response.json();
    return body.error || JSON.stringify(body);
  } catch {
    return `${response.status} ${response.statusText}`;
  }
}

/** The signed-in person, {name, role, csrf}; goes to /login when nobody is. */
export async function whoAmI() {
  const response = await fetch("/auth/me", { credentials: "same-origin" });
  if (response.status === 401) throw signIn();
  if (!response.ok) throw new Error(`who is signed in: ${await errorOf(response)}`);
  const me = await response.json();
  csrf = me.csrf || "";
  return me;
}

export async function getJson(path) {
  const response = await fetch(path, { credentials: "same-origin" });
  if (response.status === 401) throw signIn();
  if (!response.ok) throw new Error(`${path}: ${await errorOf(response)}`);
  return response.json();
}

/** A state-changing request as the signed-in person. */
export async function send(method, path, body) {
  const response = await fetch(path, {
    method,
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 401) throw signIn();
  if (!response.ok) throw new Error(await errorOf(response));
  const text = await response.text();
  return text ? JSON.parse(text) : null;
}

export async function signOut() {
  try {
    await send("POST", "/auth/logout");
  } finally {
    window.location.assign("/login");
  }
}
