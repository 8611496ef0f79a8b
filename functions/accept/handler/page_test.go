package handler

import (
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
	script := page[strings.Index(page, "<script>"):]
	if script[:strings.Index(script, "</script>")] != acceptForm[strings.Index(acceptForm, "<script>"):strings.Index(acceptForm, "</script>")] {
		t.Fatalf("the script must be the constant one:\n%s", script)
	}
	esc := `&lt;script&gt;alert(1)&lt;/script&gt;&#34;&#39; onmouseover=&#34;x&lt;/script&gt;`
	for _, want := range []string{
		"<strong>Ada" + esc + " (ada" + esc + ")</strong> invited <strong>x" + esc + "@b.example</strong>",
		"to join <strong>N &amp; S" + esc + ", East</strong> on P" + esc + " as Viewer" + esc + ".",
		"<blockquote>Hi\n" + esc + "</blockquote>",
		`data-email="x` + esc + `@b.example"`, `name="token" value="token` + esc + `"`,
		"expires on Monday 30 November 2026, 09:00 UTC", `minlength="12"`, "At least 12 characters, with a lower-case",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q:\n%s", want, page)
		}
	}

	existing, _ := renderOffer(invitations.Offer{Email: "e@b.example", ExistingUser: true}, "t")
	signedIn, _ := renderOffer(invitations.Offer{Email: "e@b.example", SignedIn: true}, "t")
	switch {
	case !strings.Contains(existing, "already has an account") || !strings.Contains(existing, `autocomplete="current-password"`) || strings.Contains(existing, "firstName\""):
		t.Errorf("existing user's page:\n%s", existing)
	case !strings.Contains(signedIn, "You are signed in as e@b.example") || strings.Contains(signedIn, `type="password"`):
		t.Errorf("signed-in user's page:\n%s", signedIn)
	case !strings.Contains(page, `id="firstName"`) || !strings.Contains(page, `autocomplete="new-password"`):
		t.Errorf("new user's page lacks the name and password fields:\n%s", page)
	}
}

func TestProblemPageEscapesTheDetail(t *testing.T) {
	page := renderProblem(&apperr.Error{Code: invitations.ErrExpired.Code, Detail: "expired" + hostile}, "req"+hostile)
	if strings.Contains(page, "<script>") || !strings.Contains(page, "<title>This invitation has expired</title>") ||
		!strings.Contains(page, `<p id="problem">expired&lt;script&gt;`) || !strings.Contains(page, "Reference: req&lt;script&gt;") ||
		strings.Contains(page, "<form") {
		t.Fatalf("problem page:\n%s", page)
	}
}
