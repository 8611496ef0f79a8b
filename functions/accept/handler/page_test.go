package handler

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/identity"
	"github.com/acme/accountadmin/shared/invitations"
)

// hostile is text that would become markup, close an attribute or end the
// script if it reached the page unescaped.
const hostile = `<script>alert(1)</script>"' onmouseover="x</script>`

// validToken has the shape of a link's token, of tenant acme.
var validToken = "acme.inv1." + strings.Repeat("s", 43)

// Every value on the accept page is escaped, the script is a constant, and
// the form shows the fields that fit the invitee.
func TestAcceptPageEscapesEveryValue(t *testing.T) {
	offer := invitations.Offer{
		Email: "x" + hostile + "@b.example", Inviter: invitations.Person{Name: "Ada" + hostile, Email: "ada" + hostile},
		Product: "P" + hostile, Accounts: []invitations.AccountRef{{Name: "N & S" + hostile}, {Name: "East"}},
		Roles: []string{"Viewer" + hostile}, Message: "Hi\n" + hostile, ExpiresAt: time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC),
		PasswordPolicy: identity.PasswordPolicy{MinLength: 12, RequireClasses: true},
	}
	page, err := renderOffer(offer, "token"+hostile)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(page, "<script>") != 1 || strings.Count(page, "</script>") != 1 || strings.Contains(page, `" onmouseover`) ||
		strings.Contains(page, "' onmouseover") {
		t.Fatalf("a value reached the page unescaped:\n%s", page)
	}
	script := page[strings.Index(page, "<script>")+len("<script>"):]
	if script[:strings.Index(script, "</script>")] != acceptScript {
		t.Fatalf("the script must be the constant one:\n%s", script)
	}
	esc := `&lt;script&gt;alert(1)&lt;/script&gt;&#34;&#39; onmouseover=&#34;x&lt;/script&gt;`
	for _, want := range []string{
		"<strong>Ada" + esc + " (ada" + esc + ")</strong> invited <strong>x" + esc + "@b.example</strong>",
		"to join <strong>N &amp; S" + esc + ", East</strong> on P" + esc + " as Viewer" + esc + ".",
		"<blockquote>Hi\n" + esc + "</blockquote>",
		`data-email="x` + esc + `@b.example"`, `name="token" value="token` + esc + `"`, `data-tenant=""`,
		"expires on Monday 30 November 2026, 09:00 UTC", `minlength="12"`, "At least 12 characters, with a lower-case",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q:\n%s", want, page)
		}
	}

	// An existing user signs in on the page (its script) and accepts in that
	// session; the password field has no name, so a post without script
	// carries no password. A GET with the invitee's bearer (an app) gets the
	// same form: a browser's page never holds a session.
	existing, _ := renderOffer(invitations.Offer{Email: "e@b.example", ExistingUser: true}, validToken)
	signedIn, _ := renderOffer(invitations.Offer{Email: "e@b.example", ExistingUser: true, SignedIn: true}, validToken)
	for name, p := range map[string]string{"existing": existing, "signed in": signedIn} {
		if !strings.Contains(p, "already has an account: sign in with it to accept") || !strings.Contains(p, `data-sign-in="1"`) ||
			!strings.Contains(p, `data-tenant="acme"`) || !strings.Contains(p, `autocomplete="current-password"`) ||
			!strings.Contains(p, `<input id="email" type="email" value="e@b.example" autocomplete="username" readonly>`) ||
			strings.Contains(p, `name="password"`) || strings.Contains(p, `id="firstName"`) || !strings.Contains(p, "<noscript>") {
			t.Errorf("%s user's page:\n%s", name, p)
		}
	}
	if !strings.Contains(page, `id="firstName"`) || !strings.Contains(page, `name="password" type="password" autocomplete="new-password"`) ||
		strings.Contains(page, "data-sign-in") {
		t.Errorf("new user's page lacks the name and password fields:\n%s", page)
	}
}

// The page's policy runs its one script and style by hash, nothing else
// inline; a change to either constant changes the hash with it.
func TestPagePolicyAdmitsOnlyThePagesOwnScriptAndStyle(t *testing.T) {
	if strings.Contains(pageCSP, "unsafe-inline") || strings.Contains(pageCSP, "unsafe-eval") ||
		!strings.Contains(pageCSP, "script-src '"+cspHash(acceptScript)+"';") || !strings.Contains(pageCSP, "style-src '"+cspHash(pageStyle)+"';") ||
		!strings.Contains(pageCSP, "default-src 'none'") || !strings.Contains(pageCSP, "form-action 'self'") {
		t.Fatalf("policy: %s", pageCSP)
	}
	// The known SHA-256 of "alert(1)", as browsers compute it.
	if got := cspHash("alert(1)"); got != "sha256-bhHHL3z2vDgxUt0W3dWQOrprscmda2Y5pLsLg4GF+pI=" {
		t.Fatalf("cspHash = %s", got)
	}
}

func TestProblemPageEscapesTheDetail(t *testing.T) {
	page := renderProblem(&apperr.Error{Code: invitations.ErrExpired.Code, Detail: "expired" + hostile}, "req"+hostile)
	if strings.Contains(page, "<script>") || !strings.Contains(page, "<title>This invitation has expired</title>") ||
		!strings.Contains(page, `<p id="problem">expired&lt;script&gt;`) || !strings.Contains(page, "Reference: req&lt;script&gt;") ||
		strings.Contains(page, "<form") {
		t.Fatalf("problem page:\n%s", page)
	}
	bad := renderProblem(&apperr.Error{Kind: apperr.KindUnprocessable, Code: "validation_failed", Detail: "invalid",
		Fields: []apperr.FieldError{{Field: "lastName", Detail: "your last name is required" + hostile}}}, "")
	if !strings.Contains(bad, "<title>Please check the form</title>") || !strings.Contains(bad, "<li><strong>Last name:</strong> your last name is required&lt;script&gt;") {
		t.Fatalf("form problem page:\n%s", bad)
	}
}

// A new user's form has a place for each field's errors, next to the field
// and named by it (aria-describedby); a page without script labels each
// message with its field.
func TestPasswordErrorsAreShownNextToTheField(t *testing.T) {
	page, _ := renderOffer(invitations.Offer{Email: "n@b.example", PasswordPolicy: identity.DefaultPasswordPolicy}, validToken)
	field := `<input id="password" name="password" type="password" autocomplete="new-password" minlength="10" required aria-describedby="password-rules password-errors">` +
		"\n" + `<ul id="password-errors" class="field-errors" aria-live="polite"></ul>`
	if !strings.Contains(page, field) || !strings.Contains(page, `<ul id="lastName-errors"`) || !strings.Contains(page, `<ul id="firstName-errors"`) {
		t.Fatalf("the password field has no place for its errors:\n%s", page)
	}
	err := identity.DefaultPasswordPolicy.Check("password", "lantern", "n@b.example")
	e, _ := apperr.As(err)
	noScript := renderProblem(e, "")
	for _, want := range []string{"<li><strong>Password:</strong> add an upper-case letter (A-Z)</li>", "<li><strong>Password:</strong> add a digit (0-9)</li>",
		`<p id="problem">the password needs at least 10 characters, an upper-case letter, a digit and a special character</p>`} {
		if !strings.Contains(noScript, want) {
			t.Errorf("the problem page lacks %q:\n%s", want, noScript)
		}
	}
}

// The page's script puts each field error of the answer next to its field,
// one item per failing rule, as text; the rest goes to the status line. It
// runs in node with the few DOM calls it makes (skipped without node).
func TestTheScriptShowsFieldErrorsNextToTheirField(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed")
	}
	answer := `{"detail":"the password needs a digit","errors":[` +
		`{"field":"password","code":"password_needs_digit","detail":"add a digit (0-9)"},` +
		`{"field":"password","code":"password_common","detail":"<b>too common</b>"},` +
		`{"field":"token","code":"x","detail":"bad token"}]}`
	harness := `
var els = {};
function el(id) {
  return els[id] || (els[id] = {id: id, textContent: '', children: [], attrs: {}, dataset: {}, value: 'v',
    appendChild: function (c) { this.children.push(c.textContent); }, setAttribute: function (k, v) { this.attrs[k] = v; },
    removeAttribute: function (k) { delete this.attrs[k]; }, addEventListener: function (n, h) { this.handler = h; }});
}
['accept', 'token', 'firstName', 'lastName', 'password', 'result', 'firstName-errors', 'lastName-errors', 'password-errors'].forEach(el);
var form = el('accept');
form.token = el('token'); form.firstName = el('firstName'); form.lastName = el('lastName'); form.password = el('password');
el('password-errors').children = ['an old message'];
var document = {getElementById: function (id) { return els[id] || null; }, createElement: function () { return {textContent: ''}; }};
Object.defineProperty(el('password-errors'), 'textContent', {set: function () { this.children = []; }, get: function () { return ''; }});
async function fetch(path, init) { return {status: 422, json: async function () { return ` + answer + `; }}; }
` + acceptScript + `
form.handler({preventDefault: function () {}}).then(function () {
  console.log(JSON.stringify({slot: el('password-errors').children, invalid: el('password').attrs['aria-invalid'] || '', status: el('result').textContent}));
});
`
	out, err := exec.Command(node, "-e", harness).CombinedOutput()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, out)
	}
	var got struct {
		Slot    []string `json:"slot"`
		Invalid string   `json:"invalid"`
		Status  string   `json:"status"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if strings.Join(got.Slot, "|") != "add a digit (0-9)|<b>too common</b>" || got.Invalid != "true" ||
		got.Status != "the password needs a digit bad token" {
		t.Fatalf("the script showed %+v", got)
	}
}
