package handler

import (
	"crypto/sha256"
	"encoding/base64"
	"html"
	"strconv"
	"strings"

	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/email"
	"github.com/acme/accountadmin/shared/invitations"
)

// The accept page. A new user's form works without script: it posts
// form-encoded (method post), so a password never ends up in a URL, and the
// answer is a page. With script it posts JSON and shows the answer in place.
// An existing user's form signs them in with the page's script (POST
// /auth/sign-in, which throttles failures) and accepts with that session;
// its password field has no name, so without script the form posts only the
// token, and the answer is a page telling them to sign in.
//
// The page is written by plain Go code, not html/template: templates call
// methods by name through reflection, which makes the linker keep every
// exported method of every type (about 7 MB more in this binary). Every
// value goes through esc (html.EscapeString), and values appear only as text
// or in double-quoted attributes; the script and the style are constants
// that the Content-Security-Policy admits by their hash (nothing inline
// runs otherwise), and the script reads the values it needs (the invited
// address, the tenant) from data attributes, so no value is ever written
// into script, style or a URL.

// esc escapes a value for HTML text and double-quoted attribute values.
var esc = html.EscapeString

func renderOffer(o invitations.Offer, token string) (string, error) {
	names := make([]string, len(o.Accounts))
	for i, a := range o.Accounts {
		names[i] = a.Name
	}
	inviter := o.Inviter.Name
	if o.Inviter.Email != "" {
		inviter = strings.TrimSpace(inviter + " (" + o.Inviter.Email + ")")
	}
	minLen := strconv.Itoa(max(o.PasswordPolicy.MinLength, 8))
	tenant := ""
	if t, _, err := invitations.ParseToken(token); err == nil {
		tenant = t.ID()
	}

	var b strings.Builder
	pageStart(&b, "You are invited")
	b.WriteString("<p><strong>" + esc(inviter) + "</strong> invited <strong>" + esc(o.Email) + "</strong> to join <strong>" + esc(strings.Join(names, ", ")) + "</strong>")
	if o.Product != "" {
		b.WriteString(" on " + esc(o.Product))
	}
	if len(o.Roles) > 0 {
		b.WriteString(" as " + esc(strings.Join(o.Roles, ", ")))
	}
	b.WriteString(".</p>\n")
	if o.Message != "" {
		b.WriteString("<blockquote>" + esc(o.Message) + "</blockquote>\n")
	}
	b.WriteString(`<p class="muted">This invitation expires on ` + esc(email.FormatInstantIn(o.ExpiresAt, email.Zone(o.TimeZone))) + ".</p>\n")
	// A browser's GET carries no session, so the page cannot use one: an
	// existing user (signed in elsewhere or not) signs in here.
	existing := o.ExistingUser || o.SignedIn
	b.WriteString(`<form id="accept" method="post" action="accept" autocomplete="on" data-email="` + esc(o.Email) + `" data-tenant="` + esc(tenant) + `"`)
	if existing {
		b.WriteString(` data-sign-in="1"`)
	}
	b.WriteString(">\n")
	b.WriteString(`<input type="hidden" name="token" value="` + esc(token) + `">` + "\n")
	if existing {
		b.WriteString("<p>" + esc(o.Email) + " already has an account: sign in with it to accept.</p>\n" +
			`<label for="email">Email</label><input id="email" type="email" value="` + esc(o.Email) + `" autocomplete="username" readonly>` + "\n" +
			`<label for="password">Password</label><input id="password" type="password" autocomplete="current-password" required>` + "\n" +
			"<noscript><p>Signing in here needs JavaScript: turn it on and reload this page.</p></noscript>\n" +
			`<button type="submit">Sign in and accept</button>` + "\n")
	} else {
		// Each field has a slot for its own errors, which the script fills
		// with the answer's field errors in plain words.
		b.WriteString(`<label for="firstName">First name</label><input id="firstName" name="firstName" autocomplete="given-name" maxlength="100" required aria-describedby="firstName-errors">
<ul id="firstName-errors" class="field-errors" aria-live="polite"></ul>
<label for="lastName">Last name</label><input id="lastName" name="lastName" autocomplete="family-name" maxlength="100" required aria-describedby="lastName-errors">
<ul id="lastName-errors" class="field-errors" aria-live="polite"></ul>
<label for="password">Choose a password</label><input id="password" name="password" type="password" autocomplete="new-password" minlength="` + minLen + `" required aria-describedby="password-rules password-errors">
<ul id="password-errors" class="field-errors" aria-live="polite"></ul>
<p id="password-rules" class="muted">At least ` + minLen + " characters")
		if o.PasswordPolicy.RequireClasses {
			b.WriteString(", with a lower-case and an upper-case letter, a digit and a special character")
		}
		b.WriteString(". Long passphrases are welcome.</p>\n")
		b.WriteString(`<button type="submit">Accept the invitation</button>` + "\n")
	}
	b.WriteString("</form>\n" + `<p id="result" role="status"></p>` + "\n<script>" + acceptScript + "</script>\n")
	b.WriteString(pageEnd)
	return b.String(), nil
}

// renderAccepted is the answer to the form posted without script.
func renderAccepted() string {
	var b strings.Builder
	pageStart(&b, "Welcome!")
	b.WriteString(`<p id="accepted">You accepted the invitation. You can now sign in with the email address it was sent to.</p>` + "\n" + pageEnd)
	return b.String()
}

func renderProblem(e *apperr.Error, requestID string) string {
	title := "This invitation cannot be used"
	switch e.Code {
	case invitations.ErrExpired.Code:
		title = "This invitation has expired"
	case invitations.ErrAccepted.Code:
		title = "This invitation was already accepted"
	case invitations.ErrRevoked.Code:
		title = "This invitation was withdrawn"
	case invitations.ErrReplaced.Code:
		title = "This link was replaced"
	case invitations.ErrNotFound.Code:
		title = "This invitation link is not valid"
	case invitations.ErrForAnotherUser.Code:
		title = "This invitation is for someone else"
	case invitations.ErrSignInToAccept.Code:
		title = "Sign in to accept this invitation"
	default:
		if e.Kind == apperr.KindInvalid || e.Kind == apperr.KindUnprocessable || e.Kind == apperr.KindTooLarge {
			title = "Please check the form"
		}
	}
	var b strings.Builder
	pageStart(&b, title)
	b.WriteString(`<p id="problem">` + esc(e.Detail) + "</p>\n")
	if len(e.Fields) > 0 {
		b.WriteString(`<ul id="fields">`)
		for _, f := range e.Fields {
			b.WriteString("<li>")
			if label := fieldLabel(f.Field); label != "" {
				b.WriteString("<strong>" + label + ":</strong> ")
			}
			b.WriteString(esc(f.Detail) + "</li>")
		}
		b.WriteString("</ul>\n<p>Go back, correct the form and send it again.</p>\n")
	}
	if e.Code == invitations.ErrSignInToAccept.Code {
		b.WriteString("<p>The invitation page signs you in with JavaScript: turn it on, open the invitation link again and sign in there.</p>\n")
	}
	if requestID != "" {
		b.WriteString(`<p class="muted">Reference: ` + esc(requestID) + "</p>")
	}
	b.WriteString("\n" + pageEnd)
	return b.String()
}

// fieldLabel is the form's label of a field a problem can name, so that a
// page without script says which field each message is about. (A switch,
// not a map: nothing is built at init.)
func fieldLabel(field string) string {
	switch field {
	case "firstName":
		return "First name"
	case "lastName":
		return "Last name"
	case "password":
		return "Password"
	}
	return ""
}

// pageStart writes the head and the heading.
func pageStart(b *strings.Builder, title string) {
	b.WriteString(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="robots" content="noindex"><title>` + esc(title) + `</title>
<style>` + pageStyle + `</style></head>
<body><h1>` + esc(title) + "</h1>\n")
}

const pageEnd = "</body></html>\n"

// pageCSP admits only the page's own style and script, by their SHA-256,
// and lets the script talk to this API only; forms post here only.
var pageCSP = "default-src 'none'; script-src '" + cspHash(acceptScript) + "'; style-src '" + cspHash(pageStyle) +
	"'; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

// cspHash is the CSP source of an inline element's exact text.
func cspHash(inline string) string {
	sum := sha256.Sum256([]byte(inline))
	return "sha256-" + base64.StdEncoding.EncodeToString(sum[:])
}

const pageStyle = `body{font-family:system-ui,sans-serif;line-height:1.5;color:#1b1b1b;max-width:32rem;margin:2rem auto;padding:0 1rem}
label{display:block;margin:.6rem 0 .2rem}input{width:100%;padding:.5rem;box-sizing:border-box}
button{margin-top:1rem;padding:.6rem 1.2rem;background:#0b57d0;color:#fff;border:0;border-radius:.3rem}
blockquote{white-space:pre-wrap;border-left:3px solid #ccc;margin:0;padding-left:1rem}.muted{color:#555;font-size:.9rem}
.field-errors{color:#b3261e;margin:.3rem 0;padding-left:1.2rem}.field-errors:empty{display:none}`

// acceptScript posts the form as JSON. A new user's name and password go to
// the accept; an existing user (data-sign-in) signs in first, accepts with
// that session, and signs that session out again. A field error is shown
// next to its field (the list with id field + "-errors"), one item per
// failing rule; the others go to the status line. It is a constant: what it
// shows comes from the form's data attributes and the answers, as text.
const acceptScript = `
(function () {
  var f = document.getElementById('accept'), out = document.getElementById('result');
  if (!f) { return; }
  function clearFields() {
    ['firstName', 'lastName', 'password'].forEach(function (n) {
      var l = document.getElementById(n + '-errors');
      if (l) { l.textContent = ''; }
      var i = document.getElementById(n);
      if (i) { i.removeAttribute('aria-invalid'); }
    });
  }
  function problem(j) {
    var msg = (j && j.detail) || 'Something went wrong.', rest = [];
    (j && j.errors || []).forEach(function (x) {
      var l = x.field && document.getElementById(x.field + '-errors');
      if (!l) { rest.push(x.detail); return; }
      var li = document.createElement('li');
      li.textContent = x.detail;
      l.appendChild(li);
      var i = document.getElementById(x.field);
      if (i) { i.setAttribute('aria-invalid', 'true'); }
    });
    if (rest.length) { msg += ' ' + rest.join('; '); }
    return msg;
  }
  async function post(path, body, bearer) {
    var h = {'accept': 'application/json'}, init = {method: 'POST', credentials: 'omit', headers: h};
    if (body) { h['content-type'] = 'application/json'; init.body = JSON.stringify(body); }
    if (bearer) { h.authorization = 'Bearer ' + bearer; }
    var r = await fetch(path, init), j = null;
    try { j = await r.json(); } catch (e) { j = null; }
    return {status: r.status, body: j};
  }
  f.addEventListener('submit', async function (e) {
    e.preventDefault();
    clearFields();
    var body = {token: f.token.value}, bearer = '';
    try {
      if (f.dataset.signIn) {
        out.textContent = 'Signing in…';
        var s = await post('../auth/sign-in', {tenant: f.dataset.tenant, email: f.dataset.email, password: document.getElementById('password').value});
        if (s.status !== 201) { out.textContent = problem(s.body); return; }
        bearer = s.body.token;
      } else {
        body.firstName = f.firstName.value; body.lastName = f.lastName.value; body.password = f.password.value;
      }
      out.textContent = 'Accepting…';
      var a = await post('accept', body, bearer);
      if (bearer) { post('../auth/sign-out', null, bearer).catch(function () {}); }
      if (a.status === 201) { f.hidden = true; out.textContent = 'Welcome! You can now sign in with ' + f.dataset.email + '.'; return; }
      out.textContent = problem(a.body);
    } catch (err) { out.textContent = 'The service could not be reached; try again.'; }
  });
})();
`
