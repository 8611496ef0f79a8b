package email_test

import (
	"strings"
	"testing"
	"time"

	"github.com/acme/accountadmin/shared/email"
)

func TestInvitationEmailEscapesTheMessage(t *testing.T) {
	m, err := email.Invitation{
		To: "new@b.example", InviterName: "Ada <Admin>", InviterEmail: "ada@a.example", ProductName: "Acme",
		Accounts: []string{"North & South", "East"}, Roles: []string{"Viewer"},
		Message:   "Hi!\n<script>alert(1)</script> <a href=\"https://evil.example\">click</a>\u202Egnp.exe",
		AcceptURL: "https://api.example/invitations/accept?token=acme.ID.secret", ExpiresAt: time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC),
	}.Render()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(m.HTML, "<script>") || strings.Contains(m.HTML, `<a href="https://evil.example">`) {
		t.Fatalf("the message reached the HTML unescaped:\n%s", m.HTML)
	}
	if !strings.Contains(m.HTML, "&lt;script&gt;") || !strings.Contains(m.HTML, "North &amp; South and East") {
		t.Fatalf("HTML body:\n%s", m.HTML)
	}
	if !strings.Contains(m.Text, "> <script>alert(1)</script>") || !strings.Contains(m.Text, "> Hi!") {
		t.Fatalf("the text body must quote the message line by line:\n%s", m.Text)
	}
	if strings.ContainsRune(m.Text, '\u202E') || strings.ContainsRune(m.HTML, '\u202E') {
		t.Fatal("bidirectional override kept")
	}
	for _, want := range []string{"Ada <Admin> (ada@a.example) invited you to join North & South and East on Acme as Viewer",
		"https://api.example/invitations/accept?token=acme.ID.secret", "expires on Monday 30 November 2026, 09:00 UTC"} {
		if !strings.Contains(m.Text, want) {
			t.Errorf("text body lacks %q:\n%s", want, m.Text)
		}
	}
	if m.Subject != "Ada <Admin> (ada@a.example) invited you to join North & South and East" || strings.ContainsAny(m.Subject, "\r\n") {
		t.Errorf("subject = %q", m.Subject)
	}
}

func TestSubjectStaysOnOneLine(t *testing.T) {
	m, err := email.Invitation{To: "x@y.example", InviterName: "Eve\r\nBcc: victim@x.example", Accounts: []string{"A"}, AcceptURL: "https://x"}.Render()
	if err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(m.Subject, "\r\n") {
		t.Fatalf("subject = %q", m.Subject)
	}
}

// The accept link is the one URL in the HTML body: only http(s), and nothing
// that could close the quoted href attribute.
func TestInvitationLinkMustBeAWebURL(t *testing.T) {
	for _, bad := range []string{"", "javascript:alert(1)", "//evil.example/x", "https:///path", `https://x.example/"onmouseover="alert(1)`,
		"https://x.example/<b>", "data:text/html,hi"} {
		_, err := email.Invitation{To: "x@y.example", Accounts: []string{"A"}, AcceptURL: bad}.Render()
		if d, ok := email.AsDeliveryError(err); !ok || d.Reason != email.ReasonNotConfigured || !d.Permanent() {
			t.Errorf("link %q: want a not_configured delivery error, got %v", bad, err)
		}
	}
	m, err := email.Invitation{To: "x@y.example", Accounts: []string{"A"}, AcceptURL: "http://localhost:8080/invitations/accept?token=t.1&x=2"}.Render()
	if err != nil || !strings.Contains(m.HTML, `href="http://localhost:8080/invitations/accept?token=t.1&amp;x=2"`) {
		t.Fatalf("local link: %v\n%s", err, m.HTML)
	}
}

// Quotes in names cannot break out of the HTML (they are escaped too).
func TestInvitationEmailEscapesNames(t *testing.T) {
	m, err := email.Invitation{To: "x@y.example", InviterName: `Bob "the" O'Brien`, ProductName: "<b>Acme</b>",
		Accounts: []string{`A"B`}, Roles: []string{"<i>Admin</i>"}, AcceptURL: "https://x.example/a"}.Render()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Bob &#34;the&#34; O&#39;Brien", "&lt;b&gt;Acme&lt;/b&gt;", "A&#34;B", "&lt;i&gt;Admin&lt;/i&gt;"} {
		if !strings.Contains(m.HTML, want) {
			t.Errorf("HTML body lacks %q:\n%s", want, m.HTML)
		}
	}
	if !strings.Contains(m.Text, `Bob "the" O'Brien invited you to join A"B on <b>Acme</b> as <i>Admin</i>.`) {
		t.Errorf("the text body is plain text, unescaped:\n%s", m.Text)
	}
}
