package store

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/table"
)

// A cursor from a client is either one this query could have issued (same
// key attributes, same partition and prefix) or a 400: it can never move a
// query into another partition or tenant.
func FuzzCursor(f *testing.F) {
	q := Query{Index: table.GSI1, Partition: "T#acme#U#u1", SKPrefix: "MEMBER#"}
	good := encodeCursor(table.Key{PK: "T#acme#A#a1", SK: "MEMBER#u1"}.AV())
	f.Add(good)
	f.Add("e30")
	f.Add("not base64!")
	f.Add(encodeCursor(table.Key{PK: "T#other#A#a1", SK: "MEMBER#u1"}.AV()))
	f.Fuzz(func(t *testing.T, c string) {
		key, err := q.decodeCursor(c)
		if err != nil {
			if err != apperr.ErrBadCursor {
				t.Fatalf("%q: %v", c, err)
			}
			return
		}
		pk := key["GSI1PK"]
		if pk == nil || attrS(pk) != q.Partition || !sameTenant(attrS(key["PK"]), q.Partition) {
			t.Fatalf("cursor %q escaped the partition: %v", c, key)
		}
	})
}

func attrS(v types.AttributeValue) string {
	if s, ok := v.(*types.AttributeValueMemberS); ok {
		return s.Value
	}
	return ""
}
