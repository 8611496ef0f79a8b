package auth_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/acme/accountadmin/shared/identity"
	"github.com/acme/accountadmin/shared/table"
	"github.com/acme/accountadmin/shared/twofactor"
)

// A sign-in with a second step: the password (argon2id, as BenchmarkSignIn)
// answers a challenge, the code opens the session. Its raw baseline is the
// DynamoDB calls of both requests and the password check (the op also
// makes one KMS Decrypt for TOTP, or one SNS Publish for SMS).
func benchTwoStep(b *testing.B, w *tfWorld, every time.Duration, code func(b *testing.B, challenge string) string) {
	env, ten := w.env, w.ten
	ctx := context.Background()
	hash, _ := identity.HashPassword(w.user.Password)
	attempts := []table.Key{ten.Attempts("CLIENT", w.user.Email+"#bench"), ten.Attempts("EMAIL", "bench-"+w.user.Email), ten.Attempts("ADDRESS", "bench")}
	transact := func(keys ...table.Key) {
		var items []types.TransactWriteItem
		for _, k := range keys {
			items = append(items, types.TransactWriteItem{Put: &types.Put{TableName: env.TableName(), Item: k.AV()}})
		}
		if _, err := env.DB.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items}); err != nil {
			b.Fatal(err)
		}
	}
	env.Measure(b,
		func(b *testing.B) {
			env.Clock.Advance(every) // a new TOTP step, or room under the hourly SMS limit
			s := w.signIn(b)
			if _, err := w.verify(s.SecondStep.Challenge, code(b, s.SecondStep.Challenge)); err != nil {
				b.Fatal(err)
			}
		},
		func(b *testing.B) {
			// sign-in
			rawGet(b, env, ten.Settings())
			rawBatch(b, env, attempts...)
			transact(attempts...)
			rawGet(b, env, ten.EmailClaim(w.user.Email))
			rawGet(b, env, ten.User(w.user.ID))
			if ok, _ := identity.VerifyPassword(w.user.Password, hash); !ok {
				b.Fatal("verify")
			}
			rawBatch(b, env, ten.Account(ten.AccountID), ten.Membership(ten.AccountID, w.user.ID), ten.TwoFactor(w.user.ID))
			ch := ten.SignInChallenge("bench-" + env.IDs.NewID())
			transact(ch)
			// verify
			rawGet(b, env, ch)
			transact(ch)
			rawGet(b, env, ten.User(w.user.ID))
			rawGet(b, env, ten.TwoFactor(w.user.ID))
			rawGet(b, env, ten.Settings())
			s := ten.Session("bench-" + env.IDs.NewID())
			transact(s, table.Key{PK: s.PK, SK: "ACCESS#x"}, table.Key{PK: ch.PK, SK: "x"}, table.Key{PK: ten.TwoFactor(w.user.ID).PK, SK: "x"})
		})
}

func BenchmarkSignInWithTOTP(b *testing.B) {
	w := newTFWorld(b)
	key, _ := w.enrolTOTP(b)
	benchTwoStep(b, w, twofactor.TOTPStep, func(*testing.B, string) string { return twofactor.TOTPCode(key, twofactor.Step(w.env.Clock.Now())) })
}

func BenchmarkSignInWithSMS(b *testing.B) {
	w := newTFWorld(b)
	phone := w.enrolSMS(b)
	sent := 1
	benchTwoStep(b, w, time.Hour/twofactor.SMSPerUserHour, func(b *testing.B, _ string) string {
		sent++
		return smsCode(b, phone, sent)
	})
}
