const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The embedded issuer's sign-in form, in German with English. */
export function loginPage({ action, error }: { action: string; error?: string }): string {
  return `<!doctype html>
<html lang="de"><head><meta charset="utf-8"><title>Lotse – Anmelden / Sign in</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font-family:system-ui,sans-serif;max-width:22rem;margin:4rem auto;padding:0 1rem}
label{display:block;margin:.8rem 0 .2rem}input{width:100%;padding:.4rem;box-sizing:border-box}
button{margin-top:1rem;padding:.5rem 1rem}.error{color:#a00}</style></head>
<body><h1>Lotse</h1><p>Anmelden für Mitarbeitende / Staff sign-in</p>
${error ? `<p class="error" role="alert">${escapeHtml(error)}</p>` : ''}
<form method="post" action="${escapeHtml(action)}">
<label for="username">Benutzername / Username</label><input id="username" name="username" autocomplete="username" required autofocus>
<label for="password">Passwort / Password</label><input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Anmelden / Sign in</button>
</form></body></html>`;
}

/** The issuer's sign-out question (RP-initiated logout), in the login page's style; `form` is oidc-provider's hidden form. */
export function logoutPage(form: string): string {
  return `<!doctype html>
<html lang="de"><head><meta charset="utf-8"><title>Lotse – Abmelden / Sign out</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font-family:system-ui,sans-serif;max-width:22rem;margin:4rem auto;padding:0 1rem}button{margin:1rem .5rem 0 0;padding:.5rem 1rem}</style></head>
<body><h1>Lotse</h1><p>Auch beim Anmeldedienst abmelden? / Sign out of the sign-in service too?</p>
${form}
<button autofocus type="submit" form="op.logoutForm" value="yes" name="logout">Abmelden / Sign out</button>
<button type="submit" form="op.logoutForm">Angemeldet bleiben / Stay signed in</button>
</body></html>`;
}
