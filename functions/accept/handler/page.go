package handler

import (
	"html/template"
	"strings"
	"sync"

	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/email"
	"github.com/acme/accountadmin/shared/invitations"
)

// pageData is what the accept page shows. Its form posts JSON from a small
// script; without script it still posts (method post), so a password never
// ends up in a URL. html/template escapes every
// value, the personal message included.
type pageData struct {
	Title     string
	Problem   string // the page of an unusable link: what happened, whom to ask
	RequestID string
	Offer     *invitations.Offer
	Token     string
	Inviter   string
	Accounts  string
	Roles     string
	Expires   string
	MinLength int
	Classes   bool
}

// acceptPage is parsed on first use, not at init.
var acceptPage = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("accept").Parse(acceptHTML))
})

func renderOffer(o invitations.Offer, token string) (string, error) {
	names := make([]string, len(o.Accounts))
	for i, a := range o.Accounts {
		names[i] = a.Name
	}
	inviter := o.Inviter.Name
	if o.Inviter.Email != "" {
		inviter = strings.TrimSpace(inviter + " (" + o.Inviter.Email + ")")
	}
	minLen := max(o.PasswordPolicy.MinLength, 8)
	return render(pageData{Title: "You are invited", Offer: &o, Token: token, Inviter: inviter, Accounts: strings.Join(names, ", "),
		Roles: strings.Join(o.Roles, ", "), Expires: email.FormatInstant(o.ExpiresAt), MinLength: minLen, Classes: o.PasswordPolicy.RequireClasses})
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
	body, err := render(pageData{Title: title, Problem: e.Detail, RequestID: requestID})
	if err != nil {
		return "<!doctype html><title>Invitation</title><p>" + template.HTMLEscapeString(e.Detail)
	}
	return body
}

func render(d pageData) (string, error) {
	var b strings.Builder
	if err := acceptPage().Execute(&b, d); err != nil {
		return "", err
	}
	return b.String(), nil
}

const acceptHTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="robots" content="noindex"><title>{{.Title}}</title>
<style>body{font-family:system-ui,sans-serif;line-height:1.5;color:#1b1b1b;max-width:32rem;margin:2rem auto;padding:0 1rem}
label{display:block;margin:.6rem 0 .2rem}input{width:100%;padding:.5rem;box-sizing:border-box}
button{margin-top:1rem;padding:.6rem 1.2rem;background:#0b57d0;color:#fff;border:0;border-radius:.3rem}
blockquote{white-space:pre-wrap;border-left:3px solid #ccc;margin:0;padding-left:1rem}.muted{color:#555;font-size:.9rem}</style></head>
<body><h1>{{.Title}}</h1>
{{if .Problem}}<p id="problem">{{.Problem}}</p>{{if .RequestID}}<p class="muted">Reference: {{.RequestID}}</p>{{end}}
{{else}}{{with .Offer}}
<p><strong>{{$.Inviter}}</strong> invited <strong>{{.Email}}</strong> to join <strong>{{$.Accounts}}</strong>{{if .Product}} on {{.Product}}{{end}}{{if $.Roles}} as {{$.Roles}}{{end}}.</p>
{{if .Message}}<blockquote>{{.Message}}</blockquote>{{end}}
<p class="muted">This invitation expires on {{$.Expires}}.</p>
<form id="accept" method="post" action="accept" autocomplete="on">
<input type="hidden" name="token" value="{{$.Token}}">
{{if .SignedIn}}<p>You are signed in as {{.Email}}.</p>
{{else if .ExistingUser}}<p>{{.Email}} already has an account: enter its password to join.</p>
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required>
{{else}}<label for="firstName">First name</label><input id="firstName" name="firstName" autocomplete="given-name" maxlength="100" required>
<label for="lastName">Last name</label><input id="lastName" name="lastName" autocomplete="family-name" maxlength="100" required>
<label for="password">Choose a password</label><input id="password" name="password" type="password" autocomplete="new-password" minlength="{{$.MinLength}}" required>
<p class="muted">At least {{$.MinLength}} characters{{if $.Classes}}, with a lower-case and an upper-case letter, a digit and a special character{{end}}. Long passphrases are welcome.</p>
{{end}}<button type="submit">Accept the invitation</button>
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
    if (r.status === 201) { f.hidden = true; out.textContent = 'Welcome! You can now sign in with ' + {{.Email}} + '.'; return; }
    var msg = j.detail || 'Something went wrong.';
    if (j.errors) { msg += ' ' + j.errors.map(function (x) { return x.detail; }).join('; '); }
    out.textContent = msg;
  } catch (err) { out.textContent = 'The service could not be reached; try again.'; }
});
</script>
{{end}}{{end}}
</body></html>
`
