package email

import (
	htmltemplate "html/template"
	"strings"
	"sync"
	texttemplate "text/template"
	"time"
	"unicode/utf8"
)

// Invitation is what an invitation email says.
type Invitation struct {
	To           string
	InviterName  string
	InviterEmail string
	ProductName  string   // the tenant's name
	Accounts     []string // the names of the accounts the invitee is invited to
	Roles        []string
	Message      string // the inviter's personal message, exactly as typed
	AcceptURL    string // the accept page, with the secret token
	ExpiresAt    time.Time
}

// Render builds the subject and both bodies. The personal message is the
// inviter's text: in the HTML body html/template escapes it, and in the text
// body it is quoted line by line and stripped of control characters, so it
// can neither inject markup nor pass for our own words.
func (inv Invitation) Render() (Message, error) {
	t := invitationTemplates()
	data := invitationData{
		Inviter:   inviterLabel(inv.InviterName, inv.InviterEmail),
		Product:   firstNonEmpty(inv.ProductName, "our service"),
		Accounts:  joinNames(inv.Accounts),
		Roles:     strings.Join(inv.Roles, ", "),
		Message:   cleanText(inv.Message),
		AcceptURL: inv.AcceptURL,
		Expires:   FormatInstant(inv.ExpiresAt),
	}
	var text, html strings.Builder
	if err := t.text.Execute(&text, data); err != nil {
		return Message{}, err
	}
	if err := t.html.Execute(&html, data); err != nil {
		return Message{}, err
	}
	subject := truncate(data.Inviter+" invited you to join "+data.Accounts, 200)
	return Message{To: inv.To, Subject: oneLine(subject), Text: text.String(), HTML: html.String()}, nil
}

// FormatInstant writes an instant the way emails and pages show it:
// "Monday 30 November 2026, 09:00 UTC".
func FormatInstant(t time.Time) string { return t.UTC().Format("Monday 2 January 2006, 15:04 UTC") }

type invitationData struct {
	Inviter, Product, Accounts, Roles, Message, AcceptURL, Expires string
}

type templates struct {
	text *texttemplate.Template
	html *htmltemplate.Template
}

// invitationTemplates are parsed on first use, not at init, so a function
// that never sends an invitation never pays for them.
var invitationTemplates = sync.OnceValue(func() templates {
	funcs := texttemplate.FuncMap{"quote": quote}
	return templates{
		text: texttemplate.Must(texttemplate.New("invitation.txt").Funcs(funcs).Parse(invitationText)),
		html: htmltemplate.Must(htmltemplate.New("invitation.html").Parse(invitationHTML)),
	}
})

const invitationText = `Hello,

{{.Inviter}} invited you to join {{.Accounts}} on {{.Product}}{{if .Roles}} as {{.Roles}}{{end}}.
{{if .Message}}
Their message:

{{quote .Message}}
{{end}}
To accept, open this link:

{{.AcceptURL}}

The link works once and expires on {{.Expires}}.
If you did not expect this invitation, you can ignore this email.
`

const invitationHTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Your invitation</title></head>
<body style="font-family:system-ui,sans-serif;line-height:1.5;color:#1b1b1b;max-width:36rem;margin:auto;padding:1rem">
<p>Hello,</p>
<p><strong>{{.Inviter}}</strong> invited you to join <strong>{{.Accounts}}</strong> on {{.Product}}{{if .Roles}} as {{.Roles}}{{end}}.</p>
{{if .Message}}<p>Their message:</p>
<blockquote style="white-space:pre-wrap;border-left:3px solid #ccc;margin:0;padding-left:1rem">{{.Message}}</blockquote>{{end}}
<p><a href="{{.AcceptURL}}" style="display:inline-block;background:#0b57d0;color:#fff;padding:.6rem 1.2rem;border-radius:.3rem;text-decoration:none">Accept the invitation</a></p>
<p style="font-size:.9rem;color:#555">The link works once and expires on {{.Expires}}.<br>
If you did not expect this invitation, you can ignore this email.</p>
</body></html>
`

func inviterLabel(name, email string) string {
	name, email = cleanLine(name), cleanLine(email)
	switch {
	case name != "" && email != "":
		return name + " (" + email + ")"
	case name != "":
		return name
	case email != "":
		return email
	default:
		return "An administrator"
	}
}

// joinNames writes "A", "A and B", "A, B and C".
func joinNames(names []string) string {
	var clean []string
	for _, n := range names {
		if n = cleanLine(n); n != "" {
			clean = append(clean, n)
		}
	}
	switch len(clean) {
	case 0:
		return "an account"
	case 1:
		return clean[0]
	default:
		return strings.Join(clean[:len(clean)-1], ", ") + " and " + clean[len(clean)-1]
	}
}

// quote prefixes every line of the personal message with "> ".
func quote(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = "> " + l
	}
	return strings.Join(lines, "\n")
}

// cleanText keeps printable characters, line breaks and tabs.
func cleanText(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.TrimSpace(strings.Map(func(r rune) rune {
		switch {
		case r == '\n' || r == '\t':
			return r
		case r < 0x20 || r == 0x7f || r == utf8.RuneError:
			return -1
		case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069: // bidirectional overrides
			return -1
		}
		return r
	}, s))
}

func cleanLine(s string) string { return oneLine(cleanText(s)) }

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

func firstNonEmpty(a, b string) string {
	if strings.TrimSpace(a) != "" {
		return a
	}
	return b
}
