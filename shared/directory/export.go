package directory

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/email"
	"github.com/acme/accountadmin/shared/identity"
	"github.com/acme/accountadmin/shared/table"
	"github.com/acme/accountadmin/shared/tenancy"
)

// ReaderZone is the time zone the caller reads exports in: their own
// setting, else the tenant's default, else UTC. It costs one BatchGetItem
// (the caller's user and the tenant's settings), made only for exports: the
// JSON lists show instants in UTC and read neither.
func (d *Directory) ReaderZone(ctx context.Context, caller access.Caller) (*time.Location, error) {
	t := caller.Tenant
	items, err := d.Store.GetMany(ctx, []table.Key{t.User(caller.UserID), t.Settings()})
	if err != nil {
		return nil, fmt.Errorf("read the time zone of %s: %w", caller.UserID, err)
	}
	var u identity.User
	var s tenancy.Settings
	if it, ok := items[t.User(caller.UserID)]; ok {
		if err := attributevalue.UnmarshalMap(it, &u); err != nil {
			return nil, apperr.Internal("decode user", err)
		}
	}
	if it, ok := items[t.Settings()]; ok {
		if err := attributevalue.UnmarshalMap(it, &s); err != nil {
			return nil, apperr.Internal("decode tenant settings", err)
		}
	}
	return email.ReaderZone(u.TimeZone, s.TimeZone), nil
}
