package email

import (
	"errors"
	"html"
	"strings"
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
	// Zone is the invitee's time zone for ExpiresAt: an invitee has no
	// setting yet, so the tenant's default (ReaderZone("", tenant's)).
	// Nil is UTC.
	Zone *time.Location
}

// Render builds the subject and both bodies. The personal message is the
// inviter's text: in the HTML body every value is HTML-escaped, and in the
// text body it is quoted line by line and stripped of control characters, so
// it can neither inject markup nor pass for our own words.
//
// The bodies are written by plain Go code rather than text/template or
// html/template: a template calls methods by name through reflection, which
// makes the linker keep every exported method of every type in the binary
// (about 7 MB more in each function that sends invitations). The HTML has no
// script, style or URL built from user input, so escaping text and quoted
// attribute values (html.EscapeString) is all the contextual escaping it
// needs; the one URL, the accept link, must be http(s).
func (inv Invitation) Render() (Message, error) {
	if !isWebURL(inv.AcceptURL) {
		return Message{}, &DeliveryError{Reason: ReasonNotConfigured, Err: errors.New("the accept link is not an http(s) URL: check PUBLIC_BASE_URL")}
	}
	d := invitationData{
		Inviter:   inviterLabel(inv.InviterName, inv.InviterEmail),
		Product:   firstNonEmpty(inv.ProductName, "our service"),
		Accounts:  joinNames(inv.Accounts),
		Roles:     strings.Join(inv.Roles, ", "),
		Message:   cleanText(inv.Message),
		AcceptURL: inv.AcceptURL,
		Expires:   FormatInstantIn(inv.ExpiresAt, inv.Zone),
	}
	subject := truncate(d.Inviter+" invited you to join "+d.Accounts, 200)
	return Message{To: inv.To, Subject: oneLine(subject), Text: d.text(), HTML: d.html()}, nil
}

type invitationData struct {
	Inviter, Product, Accounts, Roles, Message, AcceptURL, Expires string
}

// text is the plain-text body.
func (d invitationData) text() string {
	var b strings.Builder
	b.WriteString("Hello,\n\n")
	b.WriteString(d.Inviter + " invited you to join " + d.Accounts + " on " + d.Product)
	if d.Roles != "" {
		b.WriteString(" as " + d.Roles)
	}
	b.WriteString(".\n")
	if d.Message != "" {
		b.WriteString("\nTheir message:\n\n" + quote(d.Message) + "\n")
	}
	b.WriteString("\nTo accept, open this link:\n\n" + d.AcceptURL + "\n\n")
	b.WriteString("The link works once and expires on " + d.Expires + ".\n")
	b.WriteString("If you did not expect this invitation, you can ignore this email.\n")
	return b.String()
}

// html is the HTML body; every value in it goes through esc.
func (d invitationData) html() string {
	esc := html.EscapeString
	var b strings.Builder
	b.WriteString(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Your invitation</title></head>
<body style="font-family:system-ui,sans-serif;line-height:1.5;color:#1b1b1b;max-width:36rem;margin:auto;padding:1rem">
<p>Hello,</p>
`)
	b.WriteString("<p><strong>" + esc(d.Inviter) + "</strong> invited you to join <strong>" + esc(d.Accounts) + "</strong> on " + esc(d.Product))
	if d.Roles != "" {
		b.WriteString(" as " + esc(d.Roles))
	}
	b.WriteString(".</p>\n")
	if d.Message != "" {
		b.WriteString(`<p>Their message:</p>
<blockquote style="white-space:pre-wrap;border-left:3px solid #ccc;margin:0;padding-left:1rem">` + esc(d.Message) + "</blockquote>\n")
	}
	b.WriteString(`<p><a href="` + esc(d.AcceptURL) + `" style="display:inline-block;background:#0b57d0;color:#fff;padding:.6rem 1.2rem;border-radius:.3rem;text-decoration:none">Accept the invitation</a></p>
<p style="font-size:.9rem;color:#555">The link works once and expires on ` + esc(d.Expires) + `.<br>
If you did not expect this invitation, you can ignore this email.</p>
</body></html>
`)
	return b.String()
}

// isWebURL reports an absolute http or https URL with a host and nothing a
// quoted attribute could be broken out of (the accept link is ours, built
// from PUBLIC_BASE_URL and a URL-safe token).
func isWebURL(u string) bool {
	rest, ok := strings.CutPrefix(u, "https://")
	if !ok {
		rest, ok = strings.CutPrefix(u, "http://")
	}
	return ok && rest != "" && rest[0] != '/' && !strings.ContainsAny(u, " \t\r\n\"'<>`\\")
}

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
