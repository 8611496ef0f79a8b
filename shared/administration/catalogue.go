package administration

import (
	"context"
	"strings"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/changelog"
	"github.com/acme/accountadmin/shared/licences"
	"github.com/acme/accountadmin/shared/store"
	"github.com/acme/accountadmin/shared/tenancy"
)

// The tenant's catalogue of licence types lives in its settings item
// (tenancy.Settings.LicenceTypes): tenant operators add types, rename them
// and retire them. A retired type is no longer given (assigned, bought,
// offered: 422 retired_licence) but its holders keep it.

// LicenceTypeRequest is the body of PUT /licence-types/{licence}.
type LicenceTypeRequest struct {
	Name      string `json:"name"`
	Unmetered bool   `json:"unmetered,omitempty"`
	Retired   bool   `json:"retired,omitempty"`
}

// PutLicenceType is a validated catalogue entry.
type PutLicenceType struct {
	Caller  access.Caller
	Type    licences.Type
	IfMatch int64 // the settings' version
}

// Command validates the request.
func (r LicenceTypeRequest) Command(c access.Caller, licence string, ifMatch int64) (PutLicenceType, error) {
	var f apperr.Fields
	f.Check(licences.ValidType(licence), "licence", "invalid_licence", "a licence type is lower-case letters, digits, '-' or '_', at most 40")
	name := ValidName(&f, "name", r.Name, licences.MaxNameLength)
	return PutLicenceType{Caller: c, Type: licences.Type{ID: licence, Name: name, Unmetered: r.Unmetered, Retired: r.Retired}, IfMatch: ifMatch}, f.Err()
}

// ErrDefaultLicence refuses to retire the tenant's default licence.
var ErrDefaultLicence = apperr.New(apperr.KindConflict, "default_licence",
	"this is the tenant's default licence: choose another default first")

// PutLicenceType adds a licence type to the tenant's catalogue or changes
// one (display name, unmetered, retired), at the settings' version.
// Operators only. The default licence cannot be retired (409).
func (s *Service) PutLicenceType(ctx context.Context, cmd PutLicenceType) (tenancy.Settings, error) {
	c, t := cmd.Caller, cmd.Caller.Tenant
	if err := access.RequireOperator(c, access.ManageTenant); err != nil {
		if !c.Operator {
			return tenancy.Settings{}, access.ErrOperatorsOnly.Withf("licence types are the tenant's billing: only tenant operators define them")
		}
		return tenancy.Settings{}, err
	}
	cur, err := tenancy.Load(ctx, s.Store, t)
	if err != nil {
		return tenancy.Settings{}, err
	}
	v, err := expect(cmd.IfMatch, cur.Version)
	if err != nil {
		return tenancy.Settings{}, err
	}
	if cmd.Type.Retired && cmd.Type.ID == cur.Licence() {
		return tenancy.Settings{}, ErrDefaultLicence
	}
	cat := cur.Catalogue()
	old, existed := cat.Find(cmd.Type.ID)
	next := cat.With(cmd.Type)
	if len(next) > licences.MaxTypes {
		return tenancy.Settings{}, apperr.Validation(apperr.FieldError{Field: "licence", Code: "too_many", Detail: "a tenant has at most 50 licence types"})
	}
	var before map[string]any
	if existed {
		before = map[string]any{"name": old.Name, "unmetered": old.Unmetered, "retired": old.Retired}
	}
	// The default licence is checked at commit too: the same item, at its version.
	writes := []*store.Write{
		tenancy.SetCatalogue(t, v, next).OrFail(apperr.ErrVersionConflict),
		changelog.New(t, s.IDs.NewID(), s.now(), c.AccountID, changelog.ActorOf(c), "licence_type.defined", "licence", cmd.Type.ID, before,
			map[string]any{"name": cmd.Type.Name, "unmetered": cmd.Type.Unmetered, "retired": cmd.Type.Retired}).Write(),
	}
	if err := s.transact(ctx, "define licence type "+cmd.Type.ID, writes); err != nil {
		return tenancy.Settings{}, err
	}
	cur.LicenceTypes, cur.Version = next, v+1
	return cur, nil
}

// checkPurchaseURL trims a purchase link and refuses (422) one that is not
// an https URL of at most 500 characters; "" clears it.
func checkPurchaseURL(url string) (string, error) {
	url = strings.TrimSpace(url)
	if url != "" && (!strings.HasPrefix(url, "https://") || len(url) > 500 || strings.ContainsAny(url, " \t\r\n\"<>")) {
		return "", apperr.Validation(apperr.FieldError{Field: "purchaseUrl", Code: "invalid_url", Detail: "an https URL of at most 500 characters"})
	}
	return url, nil
}
