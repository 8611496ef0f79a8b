package sms_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"testing"

	"github.com/acme/accountadmin/shared/sms"
	"github.com/acme/accountadmin/shared/testkit"
)

// The local SMS outbox receives the real SNS Publish and shows it.
func TestSendReachesTheLocalOutbox(t *testing.T) {
	env := testkit.New(t)
	s := sms.FromEnv(env.AWS)
	if s == nil {
		t.Fatal("no " + sms.EnvEndpoint + ": run the tests with the local stack")
	}
	s.SenderID = "AcmeAdmin"
	phone := "+447700900123"
	if err := s.Send(context.Background(), phone, "code 123456"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(os.Getenv(sms.EnvEndpoint) + "/messages?phoneNumber=" + url.QueryEscape(phone))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Messages []struct{ PhoneNumber, Message, SenderID, SMSType string }
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	if len(out.Messages) != 1 || out.Messages[0].Message != "code 123456" || out.Messages[0].SenderID != "AcmeAdmin" || out.Messages[0].SMSType != "Transactional" {
		t.Fatalf("outbox = %+v", out.Messages)
	}
}
