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
	if want := append(routes.Functions(), routes.MailEventConsumers...); !slices.Equal(p.functions(), want) {
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
