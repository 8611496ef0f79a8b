package email

import (
	"strings"
	"time"
)

// Notices to a user about their own account. They are plain text; every
// instant in them is written in the user's zone (ReaderZone(user's,
// tenant's)), since the user is the reader.

// EmailChanged tells a user that the address they sign in with changed. It
// goes to the old address and to the new one.
type EmailChanged struct {
	To       string // the old or the new address
	Name     string // the user's name, or empty
	OldEmail string
	NewEmail string
	At       time.Time
	Zone     *time.Location // the user's; nil is UTC
}

// Render builds the message.
func (n EmailChanged) Render() Message {
	text := "Hello" + greetee(n.Name) + ",\n\nThe email address you sign in with was changed from " + cleanLine(n.OldEmail) +
		" to " + cleanLine(n.NewEmail) + " on " + FormatInstantIn(n.At, n.Zone) + ".\n" +
		"If you did not expect this, contact your administrator at once.\n"
	return Message{To: n.To, Subject: "Your sign-in email was changed", Text: text}
}

// NewPassword gives a user the password an administrator generated for them.
type NewPassword struct {
	To       string
	Name     string
	Password string
	At       time.Time
	Zone     *time.Location // the user's; nil is UTC
}

// Render builds the message.
func (n NewPassword) Render() Message {
	text := "Hello" + greetee(n.Name) + ",\n\nAn administrator set a new password for your account (" + cleanLine(n.To) + ") on " +
		FormatInstantIn(n.At, n.Zone) + ":\n\n    " + n.Password + "\n\n" +
		"Sign in with it and change it at once. Every earlier session was signed out.\n"
	return Message{To: n.To, Subject: "Your new password", Text: text}
}

func greetee(name string) string {
	if name = strings.TrimSpace(cleanLine(name)); name != "" {
		return " " + name
	}
	return ""
}
