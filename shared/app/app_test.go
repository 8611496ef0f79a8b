package app

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// lambdaVars are every variable the AWS configuration may come from; each
// case starts with all of them unset.
var lambdaVars = []string{envRegion, envDefaultRegion, envAccessKeyID, envSecretAccessKey, envSessionToken, envDynamoDBURL, envSESURL}

func TestAWSConfigFromEnv(t *testing.T) {
	cases := []struct {
		name                     string
		env                      map[string]string
		region, key, secret, tok string
		err                      string
	}{
		{name: "Lambda: region and the role's temporary credentials",
			env:    map[string]string{envRegion: "eu-west-1", envAccessKeyID: "ASIAKEY", envSecretAccessKey: "secret", envSessionToken: "token"},
			region: "eu-west-1", key: "ASIAKEY", secret: "secret", tok: "token"},
		{name: "AWS_DEFAULT_REGION when AWS_REGION is unset",
			env:    map[string]string{envDefaultRegion: "ap-south-1", envAccessKeyID: "AKIA", envSecretAccessKey: "s"},
			region: "ap-south-1", key: "AKIA", secret: "s"},
		{name: "local stack: dummy static credentials, whatever the environment holds",
			env:    map[string]string{envDynamoDBURL: "http://127.0.0.1:8000", envAccessKeyID: "AKIAREAL", envSecretAccessKey: "real"},
			region: "us-east-1", key: "local", secret: "local"},
		{name: "no credentials: a clear error, not an anonymous client",
			env: map[string]string{envRegion: "eu-west-1", envAccessKeyID: "AKIA"}, err: "no AWS credentials in the environment"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, v := range lambdaVars {
				t.Setenv(v, c.env[v])
			}
			cfg, err := AWSConfigFromEnv()
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("want an error with %q, got %v", c.err, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			creds, err := cfg.Credentials.Retrieve(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Region != c.region || creds.AccessKeyID != c.key || creds.SecretAccessKey != c.secret || creds.SessionToken != c.tok {
				t.Fatalf("got region %q, credentials %q/%q/%q", cfg.Region, creds.AccessKeyID, creds.SecretAccessKey, creds.SessionToken)
			}
			if cfg.Logger == nil {
				t.Error("the SDK's logger is missing: its warnings would be lost")
			}
		})
	}
}

// Locally the client goes to DynamoDB Local; in AWS (nothing set), to the
// SDK's regional endpoint. (sesmail.New does the same for SES.)
func TestClientUsesTheLocalEndpointWhenSet(t *testing.T) {
	for _, v := range lambdaVars {
		t.Setenv(v, "")
	}
	cfg := aws.Config{Region: "eu-west-1"}
	if db := dynamoDB(cfg).Options(); db.BaseEndpoint != nil {
		t.Fatalf("no local endpoint set, yet the client has %v", aws.ToString(db.BaseEndpoint))
	}
	t.Setenv(envDynamoDBURL, "http://127.0.0.1:8000")
	if db := dynamoDB(cfg).Options(); aws.ToString(db.BaseEndpoint) != "http://127.0.0.1:8000" || !db.DisableValidateResponseChecksum {
		t.Fatalf("local endpoint: %v (checksum off %v)", aws.ToString(db.BaseEndpoint), db.DisableValidateResponseChecksum)
	}
}

func TestFromEnvFailsFastWithoutATable(t *testing.T) {
	t.Setenv("TABLE_NAME", "")
	t.Setenv(envAccessKeyID, "AKIA")
	t.Setenv(envSecretAccessKey, "s")
	if _, err := FromEnv(context.Background()); err == nil || !strings.Contains(err.Error(), "TABLE_NAME") {
		t.Fatalf("want a TABLE_NAME error, got %v", err)
	}
}

func TestConfigReadsTheMailSettings(t *testing.T) {
	t.Setenv("TABLE_NAME", "accountadmin")
	t.Setenv("SENDER_NAME", "Acme Admin")
	t.Setenv("SES_CONFIGURATION_SET", "accountadmin-events")
	t.Setenv("REPLY_TO_INVITER", "true")
	c, err := ConfigFromEnv()
	if err != nil || c.SenderName != "Acme Admin" || c.ConfigurationSet != "accountadmin-events" || !c.ReplyToInviter {
		t.Fatalf("%+v %v", c, err)
	}
	t.Setenv("REPLY_TO_INVITER", "yes")
	if _, err := ConfigFromEnv(); err == nil {
		t.Fatal("REPLY_TO_INVITER=yes accepted")
	}
}

func TestServiceCarriesWhatServicesRead(t *testing.T) {
	d := Deps{Config: Config{Table: "t", Sender: "from@example.com", BaseURL: "https://api.example.com", ReplyToInviter: true},
		AWS: aws.Config{Region: "eu-west-1"}}
	s := d.Service()
	if s.Sender != d.Config.Sender || s.BaseURL != d.Config.BaseURL || !s.ReplyToInviter || s.AWS.Region != "eu-west-1" {
		t.Fatalf("Service() = %+v, want the sender, base URL, reply-to setting and AWS configuration of %+v", s, d)
	}
}
