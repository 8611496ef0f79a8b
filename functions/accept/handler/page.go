package handler

import (
	"html"
	"strconv"
	"strings"

	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/email"
	"github.com/acme/accountadmin/shared/invitations"
)

// The accept page. Its form posts JSON from a small script; without script it
// still posts (method post), so a password never ends up in a URL.
//
// The page is written by plain Go code, not html/template: templates call
// methods by name through reflection, which makes the linker keep every
// exported method of every type (about 7 MB more in this binary). Every
// value goes through esc (html.EscapeString), and values appear only as text
// or in double-quoted attributes; the script is a constant that reads the
// one value it needs (the invited address) from a data attribute, so no
// value is ever written into script, style or a URL.

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
	b.WriteString(`<p class="muted">This invitation expires on ` + esc(email.FormatInstant(o.ExpiresAt)) + ".</p>\n")
	b.WriteString(`<form id="accept" method="post" action="accept" autocomplete="on" data-email="` + esc(o.Email) + `">` + "\n")
	b.WriteString(`<input type="hidden" name="token" value="` + esc(token) + `">` + "\n")
	switch {
	case o.SignedIn:
		b.WriteString("<p>You are signed in as " + esc(o.Email) + ".</p>\n")
	case o.ExistingUser:
		b.WriteString("<p>" + esc(o.Email) + " already has an account: enter its password to join.</p>\n" +
			`<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required>` + "\n")
	default:
		b.WriteString(`<label for="firstName">First name</label><input id="firstName" name="firstName" autocomplete="given-name" maxlength="100" required>
<label for="lastName">Last name</label><input id="lastName" name="lastName" autocomplete="family-name" maxlength="100" required>
<label for="password">Choose a password</label><input id="password" name="password" type="password" autocomplete="new-password" minlength="` + minLen + `" required>
<p class="muted">At least ` + minLen + " characters")
		if o.PasswordPolicy.RequireClasses {
			b.WriteString(", with a lower-case and an upper-case letter, a digit and a special character")
		}
		b.WriteString(". Long passphrases are welcome.</p>\n")
	}
	b.WriteString(acceptForm)
	b.WriteString(pageEnd)
	return b.String(), nil
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
	}
	var b strings.Builder
	pageStart(&b, title)
	b.WriteString(`<p id="problem">` + esc(e.Detail) + "</p>")
	if requestID != "" {
		b.WriteString(`<p class="muted">Reference: ` + esc(requestID) + "</p>")
	}
	b.WriteString("\n" + pageEnd)
	return b.String()
}

// pageStart writes the head and the heading.
func pageStart(b *strings.Builder, title string) {
	b.WriteString(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="robots" content="noindex"><title>` + esc(title) + `</title>
<style>body{font-family:system-ui,sans-serif;line-height:1.5;color:#1b1b1b;max-width:32rem;margin:2rem auto;padding:0 1rem}
label{display:block;margin:.6rem 0 .2rem}input{width:100%;padding:.5rem;box-sizing:border-box}
button{margin-top:1rem;padding:.6rem 1.2rem;background:#0b57d0;color:#fff;border:0;border-radius:.3rem}
blockquote{white-space:pre-wrap;border-left:3px solid #ccc;margin:0;padding-left:1rem}.muted{color:#555;font-size:.9rem}</style></head>
<body><h1>` + esc(title) + "</h1>\n")
}

const pageEnd = "</body></html>\n"

// acceptForm closes the form and adds the script that posts it as JSON. It
// is a constant: the address it shows comes from the form's data-email.
const acceptForm = `<button type="submit">Accept the invitation</button>
</form>
<p id="result" role="status"></p>
<script>
document.getElementById('accept').addEventListener('submit', async function (e) {
  e.preventDefault();
  var f = e.target, out = document.getElementById('result'), body = {token: f.token.value};
  if (f.firstName) { body.firstName = f.firstName.value; body.lastName = f.lastName.value; }
  if (f.password && f.password.value) { body.password = f.password.value; }
  out.textContent = 'Accepting…';
  try {
    var r = await fetch('accept', {method: 'POST', credentials: 'omit',
      headers: {'content-type': 'application/json', 'accept': 'application/json'}, body: JSON.stringify(body)});
    var j = await r.json();
    if (r.status === 201) { f.hidden = true; out.textContent = 'Welcome! You can now sign in with ' + f.dataset.email + '.'; return; }
    var msg = j.detail || 'Something went wrong.';
    if (j.errors) { msg += ' ' + j.errors.map(function (x) { return x.detail; }).join('; '); }
    out.textContent = msg;
  } catch (err) { out.textContent = 'The service could not be reached; try again.'; }
});
</script>
`
