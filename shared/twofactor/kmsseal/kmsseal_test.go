package kmsseal_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/acme/accountadmin/shared/testkit"
	"github.com/acme/accountadmin/shared/twofactor"
	"github.com/acme/accountadmin/shared/twofactor/kmsseal"
)

// Against local-kms: the same SDK calls as in AWS.
func TestSealOpensOnlyInItsContext(t *testing.T) {
	env := testkit.New(t)
	s := kmsseal.FromEnv(env.AWS)
	if s == nil {
		t.Fatal("no " + kmsseal.EnvKeyID + ": run the tests with the local stack")
	}
	ctx := context.Background()
	secret := []byte("12345678901234567890")
	c := twofactor.Context{Tenant: "t1", User: "u1", Purpose: "totp"}
	sealed, err := s.Seal(ctx, c, secret)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains([]byte(sealed), secret) || bytes.Contains([]byte(sealed), []byte(twofactor.EncodeSecret(secret))) {
		t.Fatal("the sealed form holds the secret")
	}
	got, err := s.Open(ctx, c, sealed)
	if err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("open = %q, %v", got, err)
	}
	if _, err := s.Open(ctx, twofactor.Context{Tenant: "t1", User: "u2", Purpose: "totp"}, sealed); err == nil {
		t.Fatal("a secret sealed for u1 opened as u2's")
	}
}
