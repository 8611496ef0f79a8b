package licences

import (
	"slices"
	"strings"

	"github.com/acme/accountadmin/shared/apperr"
)

// Type is one licence type of a tenant's catalogue.
type Type struct {
	ID   string `dynamodbav:"id" json:"id"`
	Name string `dynamodbav:"name" json:"name"` // display name, as the product shows it
	// Unmetered: members may hold the type in an account without seats,
	// unless the account has seats of it (a pool, plan seats or an
	// override), where they are counted.
	Unmetered bool `dynamodbav:"unmetered,omitempty" json:"unmetered"`
	// Retired: existing holders keep it; nobody is newly given it, no seat
	// of it is newly bought, no invitation offers it.
	Retired bool `dynamodbav:"retired,omitempty" json:"retired"`
}

// Catalogue is a tenant's licence types, in the order they are shown.
type Catalogue []Type

// The licence types of page 003, which every new tenant starts with.
var builtIn = Catalogue{{ID: "office", Name: "Office"}, {ID: "intranet", Name: "Intranet"}, {ID: "guest", Name: "Guest"}}

// MaxTypes bounds a catalogue.
const MaxTypes = 50

// MaxNameLength bounds a display name.
const MaxNameLength = 60

// DefaultCatalogue is the catalogue of a tenant that defined none: office,
// intranet and guest (metered), and the tenant's default licence when it is
// another type ("standard" for the tenants made before catalogues existed),
// unmetered, so that what those tenants gave their members keeps working.
func DefaultCatalogue(defaultLicence string) Catalogue {
	out := slices.Clone(builtIn)
	if defaultLicence != "" && out.index(defaultLicence) < 0 {
		out = append(out, Type{ID: defaultLicence, Name: displayName(defaultLicence), Unmetered: true})
	}
	return out
}

func displayName(id string) string {
	if id == "" {
		return ""
	}
	return strings.ToUpper(id[:1]) + strings.ReplaceAll(id[1:], "_", " ")
}

func (c Catalogue) index(id string) int {
	return slices.IndexFunc(c, func(t Type) bool { return t.ID == id })
}

// Find returns the type named id.
func (c Catalogue) Find(id string) (Type, bool) {
	if i := c.index(id); i >= 0 {
		return c[i], true
	}
	return Type{}, false
}

// Errors of the catalogue (422, naming the field).
const (
	CodeUnknown = "unknown_licence"
	CodeRetired = "retired_licence"
)

// Check refuses (422 on field) a type the tenant does not have, or one it
// retired, where a type is newly given (assigned, bought, offered).
func (c Catalogue) Check(field, id string) error {
	typ, ok := c.Find(id)
	switch {
	case !ok:
		return apperr.Validation(apperr.FieldError{Field: field, Code: CodeUnknown,
			Detail: "not one of the tenant's licence types (" + strings.Join(c.active(), ", ") + ")"})
	case typ.Retired:
		return apperr.Validation(apperr.FieldError{Field: field, Code: CodeRetired,
			Detail: "this licence type is retired: its holders keep it, but it is no longer given (" + strings.Join(c.active(), ", ") + ")"})
	}
	return nil
}

// Known refuses (422 on field) only a type the tenant does not have.
func (c Catalogue) Known(field, id string) error {
	if _, ok := c.Find(id); !ok {
		return apperr.Validation(apperr.FieldError{Field: field, Code: CodeUnknown,
			Detail: "not one of the tenant's licence types (" + strings.Join(c.active(), ", ") + ")"})
	}
	return nil
}

func (c Catalogue) active() []string {
	var out []string
	for _, t := range c {
		if !t.Retired {
			out = append(out, t.ID)
		}
	}
	return out
}

// Metered reports whether id needs seats in an account that has none of it.
func (c Catalogue) Metered(id string) bool {
	t, ok := c.Find(id)
	return !ok || !t.Unmetered
}

// With returns the catalogue with t added, or replacing the type of its id.
func (c Catalogue) With(t Type) Catalogue {
	out := slices.Clone(c)
	if i := out.index(t.ID); i >= 0 {
		out[i] = t
		return out
	}
	return append(out, t)
}
