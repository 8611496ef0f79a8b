package stack

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"

	"github.com/acme/accountadmin/shared/routes"
)

func TestPropsFromContext(t *testing.T) {
	// GIVEN the context cdk.json and the command line give
	app := awscdk.NewApp(&awscdk.AppProps{Context: &map[string]any{
		CtxSenderEmail:   "no-reply@example.com",
		CtxPublicBaseURL: "",
		CtxCorsOrigins:   " https://a.example.com, ,https://b.example.com ",
		CtxThrottleRate:  "25",
		CtxPublicBurst:   "15",
	}})
	// WHEN the app reads its props
	p, err := PropsFromContext(app.Node())
	if err != nil {
		t.Fatal(err)
	}
	// THEN they hold the context, and the bundles are dist/ at the repository root
	wd, _ := os.Getwd()
	root, err := RepoRoot(wd)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("repository root %s has no go.mod", root)
	}
	if p.AssetDir != filepath.Join(root, "dist") {
		t.Errorf("AssetDir = %s, want %s", p.AssetDir, filepath.Join(root, "dist"))
	}
	if p.SenderEmail != "no-reply@example.com" || p.PublicBaseURL != "" {
		t.Errorf("sender %q, base URL %q", p.SenderEmail, p.PublicBaseURL)
	}
	if !slices.Equal(p.CorsOrigins, []string{"https://a.example.com", "https://b.example.com"}) {
		t.Errorf("CorsOrigins = %q", p.CorsOrigins)
	}
	if rate, burst := p.throttle(); rate != 25 || burst != DefaultThrottleBurst {
		t.Errorf("throttle = %v/%v, want 25/%v", rate, burst, DefaultThrottleBurst)
	}
	if rate, burst := p.publicThrottle(); rate != DefaultPublicRate || burst != 15 {
		t.Errorf("public throttle = %v/%v, want %v/15", rate, burst, DefaultPublicRate)
	}
	// AND the tables are shared/routes'
	if want := routes.Functions(); !slices.Equal(p.functions(), want) {
		t.Errorf("functions = %v, want %v", p.functions(), want)
	}
}

func TestPropsFromContextRejectsABadThrottle(t *testing.T) {
	for _, key := range []string{CtxThrottleBurst, CtxPublicRate} {
		app := awscdk.NewApp(&awscdk.AppProps{Context: &map[string]any{key: "lots"}})
		if _, err := PropsFromContext(app.Node()); err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("err = %v, want one naming %s", err, key)
		}
	}
}

func TestPublicLimitDefaultsNeverExceedTheSharedOne(t *testing.T) {
	// GIVEN a shared limit below the public defaults, and no public limit
	p := &StackProps{ThrottleRate: 4, ThrottleBurst: 8}
	// THEN the public routes get the shared limit, not more
	if rate, burst := p.publicThrottle(); rate != 4 || burst != 8 {
		t.Errorf("public throttle = %v/%v, want 4/8", rate, burst)
	}
}

func TestValidate(t *testing.T) {
	bundles := t.TempDir()
	for _, fn := range (&StackProps{}).functions() {
		if err := writeDummyBundle(filepath.Join(bundles, fn+".zip")); err != nil {
			t.Fatal(err)
		}
	}
	valid := func() *StackProps {
		return &StackProps{SenderEmail: "no-reply@example.com", AllowExampleSender: true, AssetDir: bundles}
	}
	tests := []struct {
		name   string
		change func(p *StackProps)
		want   []string // substrings of the error; none means valid
	}{
		{"valid", func(*StackProps) {}, nil},
		{"domain holds the sender", func(p *StackProps) { p.SenderDomain = "Example.com" }, nil},
		{"no sender", func(p *StackProps) { p.SenderEmail = "" }, []string{"sender email is not set"}},
		{"sender with a name", func(p *StackProps) { p.SenderEmail = "Acme <no-reply@example.com>" }, []string{"not a bare email address"}},
		{"sender outside its domain", func(p *StackProps) { p.SenderDomain = "mail.example.com" }, []string{"not in the sender domain"}},
		{"no bundles", func(p *StackProps) { p.AssetDir = t.TempDir() }, []string{"auth.zip", "invite.zip", "make build"}},
		{"a bundle missing", func(p *StackProps) {
			p.Routes = append(slices.Clone(routes.Table), routes.Route{Method: "POST", Path: "/not-built", Function: "not-built", Auth: true})
		}, []string{"not-built.zip"}},
		{"bad method", func(p *StackProps) {
			p.Routes = []routes.Route{{Method: "get", Path: "/me", Function: "auth", Auth: true}}
		}, []string{`route "get /me"`}},
		{"public limit above the shared one", func(p *StackProps) { p.ThrottleRate, p.PublicRate = 20, 30 }, []string{CtxPublicRate, CtxThrottleRate}},
		{"public burst above the shared one", func(p *StackProps) { p.PublicBurst = DefaultThrottleBurst + 1 }, []string{CtxPublicBurst}},
		{"bad schedule", func(p *StackProps) {
			p.Jobs = []routes.Job{{Name: "nightly", Function: "auth", Schedule: "every night", DetailType: "Nightly"}}
		}, []string{`job "nightly"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := valid()
			tt.change(p)
			err := p.Validate()
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil, want an error with %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate() = %v, want it to mention %q", err, w)
				}
			}
		})
	}
}

func TestPascal(t *testing.T) {
	for in, want := range map[string]string{"auth": "Auth", "expire-invitations": "ExpireInvitations", "usage_reset2": "UsageReset2"} {
		if got := pascal(in); got != want {
			t.Errorf("pascal(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestPropsFromContextOfAStage(t *testing.T) {
	// GIVEN cdk.json's flat defaults and a stages object with staging's own
	defaults := map[string]any{CtxSenderEmail: "no-reply@example.com", CtxCorsOrigins: "", CtxThrottleRate: "50"}
	stages := map[string]any{
		"staging": map[string]any{
			CtxSenderEmail:    "no-reply@staging.example.org",
			CtxCorsOrigins:    "https://staging.example.org",
			CtxThrottleRate:   "5",
			CtxDomainName:     "staging-api.example.org",
			CtxCertificateARN: testCertificateARN,
			CtxReplyToInviter: true,
		},
	}
	read := func(t *testing.T, ctx map[string]any) *StackProps {
		t.Helper()
		merged := map[string]any{CtxStages: stages}
		for k, v := range defaults {
			merged[k] = v
		}
		for k, v := range ctx {
			merged[k] = v
		}
		app := awscdk.NewApp(&awscdk.AppProps{Context: &merged})
		p, err := propsFromContext(app.Node(), defaults, t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	t.Run("the stage's entry overrides cdk.json's defaults", func(t *testing.T) {
		p := read(t, map[string]any{CtxStage: "staging"})
		if p.Stage != "staging" || p.StackID() != "AccountAdmin-staging" {
			t.Errorf("stage %q, stack %s", p.Stage, p.StackID())
		}
		if p.SenderEmail != "no-reply@staging.example.org" || !slices.Equal(p.CorsOrigins, []string{"https://staging.example.org"}) {
			t.Errorf("sender %q, CORS %q: want staging's", p.SenderEmail, p.CorsOrigins)
		}
		if rate, _ := p.throttle(); rate != 5 {
			t.Errorf("throttle %v, want staging's 5", rate)
		}
		if p.DomainName != "staging-api.example.org" || p.CertificateARN != testCertificateARN || !p.ReplyToInviter {
			t.Errorf("domain %q, certificate %q, reply-to inviter %v", p.DomainName, p.CertificateARN, p.ReplyToInviter)
		}
	})
	t.Run("a -c value overrides the stage's entry", func(t *testing.T) {
		p := read(t, map[string]any{CtxStage: "staging", CtxCorsOrigins: "https://override.example.org", CtxReplyToInviter: "false"})
		if !slices.Equal(p.CorsOrigins, []string{"https://override.example.org"}) || p.ReplyToInviter {
			t.Errorf("CORS %q, reply-to inviter %v: want the command line's", p.CorsOrigins, p.ReplyToInviter)
		}
		if p.SenderEmail != "no-reply@staging.example.org" {
			t.Errorf("sender %q: want staging's, which the command line left alone", p.SenderEmail)
		}
	})
	t.Run("the default stage is prod, with cdk.json's values", func(t *testing.T) {
		p := read(t, nil)
		if p.Stage != DefaultStage || p.StackID() != "AccountAdmin" || p.SenderEmail != "no-reply@example.com" || p.CorsOrigins != nil {
			t.Errorf("stage %q, stack %s, sender %q, CORS %q", p.Stage, p.StackID(), p.SenderEmail, p.CorsOrigins)
		}
	})
	t.Run("sender name and example sender", func(t *testing.T) {
		p := read(t, map[string]any{CtxSenderName: " Acme Admin ", CtxAllowExampleSender: "true"})
		if p.SenderName != "Acme Admin" || !p.AllowExampleSender {
			t.Errorf("sender name %q, allow example sender %v", p.SenderName, p.AllowExampleSender)
		}
	})
}

func TestPropsFromContextRejectsABadStage(t *testing.T) {
	for name, ctx := range map[string]map[string]any{
		CtxStage:              {CtxStage: "Prod"},
		CtxStage + " length":  {CtxStage: "a-stage-name-of-17"},
		CtxStages:             {CtxStages: "staging"},
		CtxStages + " entry":  {CtxStage: "staging", CtxStages: map[string]any{"staging": "cors"}},
		CtxReplyToInviter:     {CtxReplyToInviter: "yes"},
		CtxAllowExampleSender: {CtxAllowExampleSender: "1"},
	} {
		key := strings.Fields(name)[0]
		app := awscdk.NewApp(&awscdk.AppProps{Context: &ctx})
		if _, err := propsFromContext(app.Node(), nil, t.TempDir()); err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("%s: err = %v, want one naming %s", name, err, key)
		}
	}
}

func TestValidateRefusesAnExampleSender(t *testing.T) {
	bundles := t.TempDir()
	for _, fn := range (&StackProps{}).functions() {
		if err := writeDummyBundle(filepath.Join(bundles, fn+".zip")); err != nil {
			t.Fatal(err)
		}
	}
	for _, tt := range []struct{ email, domain string }{
		{"no-reply@example.com", ""}, {"no-reply@example.org", ""}, {"no-reply@EXAMPLE.NET", ""},
		{"no-reply@mail.example.com", "mail.example.com"}, {"a@acme.test", ""}, {"a@acme.example", ""},
		{"a@acme.invalid", "acme.invalid"}, {"a@localhost", ""},
	} {
		// GIVEN a sender at a domain reserved for examples
		p := &StackProps{SenderEmail: tt.email, SenderDomain: tt.domain, AssetDir: bundles}
		// THEN synth refuses it, naming the context key that lets it through
		if err := p.Validate(); err == nil || !strings.Contains(err.Error(), CtxAllowExampleSender) || !strings.Contains(err.Error(), CtxSenderEmail) {
			t.Errorf("%s: Validate() = %v, want a refusal naming %s", tt.email, err, CtxAllowExampleSender)
		}
		// AND allowExampleSender lets it through
		p.AllowExampleSender = true
		if err := p.Validate(); err != nil {
			t.Errorf("%s with %s: Validate() = %v", tt.email, CtxAllowExampleSender, err)
		}
	}
	// AND a real sender needs no permission
	p := &StackProps{SenderEmail: "no-reply@mail.acme.io", SenderDomain: "mail.acme.io", AssetDir: bundles}
	if err := p.Validate(); err != nil {
		t.Errorf("a real sender: Validate() = %v", err)
	}
}

func TestValidateADomainAndStage(t *testing.T) {
	bundles := t.TempDir()
	for _, fn := range (&StackProps{}).functions() {
		if err := writeDummyBundle(filepath.Join(bundles, fn+".zip")); err != nil {
			t.Fatal(err)
		}
	}
	for _, tt := range []struct {
		name   string
		change func(p *StackProps)
		want   string // a substring of the error; "" means valid
	}{
		{"both", func(p *StackProps) { p.DomainName, p.CertificateARN = "api.acme.io", testCertificateARN }, ""},
		{"domain alone", func(p *StackProps) { p.DomainName = "api.acme.io" }, CtxCertificateARN},
		{"certificate alone", func(p *StackProps) { p.CertificateARN = testCertificateARN }, CtxDomainName},
		{"not a certificate", func(p *StackProps) { p.DomainName, p.CertificateARN = "api.acme.io", "arn:aws:iam::1:role/x" }, "not an ACM certificate"},
		{"not a domain", func(p *StackProps) { p.DomainName, p.CertificateARN = "https://api.acme.io", testCertificateARN }, "not a lower-case DNS name"},
		{"a stage", func(p *StackProps) { p.Stage = "pr-42" }, ""},
		{"a bad stage", func(p *StackProps) { p.Stage = "pr_42" }, CtxStage},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := &StackProps{SenderEmail: "no-reply@acme.io", AssetDir: bundles}
			tt.change(p)
			err := p.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("Validate() = %v, want nil", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("Validate() = %v, want it to mention %q", err, tt.want)
			}
		})
	}
}
