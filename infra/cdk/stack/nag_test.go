package stack

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// nagFindings synthesises the stack of p with cdk-nag's AWS Solutions and
// Serverless packs applied and returns every error and warning they left
// unsuppressed, one line each: the construct path and the message.
func nagFindings(t *testing.T, name string, p *StackProps) []string {
	t.Helper()
	p.AssetDir = filepath.Join(assetRoot, "nag-"+name)
	if err := os.MkdirAll(p.AssetDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, fn := range p.functions() {
		if err := writeDummyBundle(p.bundle(fn)); err != nil {
			t.Fatal(err)
		}
	}
	app := awscdk.NewApp(nil)
	s := NewAccountAdminStack(app, "AccountAdmin", p)
	noReports := &cdknag.NagPackProps{Reports: jsii.Bool(false)}
	awscdk.Aspects_Of(s).Add(cdknag.NewAwsSolutionsChecks(noReports), nil)
	awscdk.Aspects_Of(s).Add(cdknag.NewServerlessChecks(noReports), nil)
	annotations := assertions.Annotations_FromStack(s)
	var out []string
	for level, found := range map[string]any{
		"error":   annotations.FindError(jsii.String("*"), assertions.Match_AnyValue()),
		"warning": annotations.FindWarning(jsii.String("*"), assertions.Match_AnyValue()),
	} {
		// Decoded from JSON: the Go types of synthesis messages are
		// deprecated aliases of the cloud assembly's.
		raw, err := json.Marshal(found)
		if err != nil {
			t.Fatal(err)
		}
		var messages []struct {
			ID    string `json:"id"`
			Entry struct {
				Data any `json:"data"`
			} `json:"entry"`
		}
		if err := json.Unmarshal(raw, &messages); err != nil {
			t.Fatal(err)
		}
		for _, m := range messages {
			out = append(out, fmt.Sprintf("%s %s: %v", level, m.ID, m.Entry.Data))
		}
	}
	sort.Strings(out)
	return out
}

// GIVEN the stack of today and of tomorrow WHEN cdk-nag's AwsSolutions and
// Serverless packs check it THEN nothing is left that is not fixed or
// suppressed with a reason beside its resource.
func TestCdkNagFindsNothingUnsuppressed(t *testing.T) {
	for name, p := range map[string]*StackProps{
		"today": {SenderEmail: "no-reply@example.com", AllowExampleSender: true},
		"tomorrow": {
			SenderEmail: "no-reply@mail.example.com", SenderDomain: "mail.example.com", AllowExampleSender: true,
			AlarmEmail: "ops@example.com", DomainName: "api.example.com", CertificateARN: testCertificateARN,
			Routes: tomorrowRoutes, Jobs: tomorrowJobs,
		},
	} {
		findings := nagFindings(t, name, p)
		if len(findings) > 0 {
			t.Errorf("%s: %d cdk-nag findings:\n%s", name, len(findings), strings.Join(findings, "\n"))
		}
	}
}

// GIVEN any function THEN it is traced (Tracing ACTIVE), its role holds no
// managed policy, and the only log actions it holds are
// logs:CreateLogStream and logs:PutLogEvents on its own log group; nowhere
// in the template is the managed AWSLambdaBasicExecutionRole or logs:*.
func TestFunctionsAreTracedAndLogOnlyToTheirOwnGroup(t *testing.T) {
	both(t, func(t *testing.T, d *deployment) {
		for _, name := range d.props.functions() {
			fnID, ok := d.cfn.functionID(name)
			if !ok {
				t.Fatalf("no Lambda for functions/%s", name)
			}
			fn := d.cfn.Resources[fnID].Properties
			if mode := mustJSON(t, fn["TracingConfig"]); mode != `{"Mode":"Active"}` {
				t.Errorf("functions/%s: tracing %s, want Active", name, mode)
			}
			logging, _ := fn["LoggingConfig"].(map[string]any)
			ownGroup := refsIn(logging["LogGroup"])
			if len(ownGroup) != 1 {
				t.Fatalf("functions/%s: log group %v", name, ownGroup)
			}
			var logActions []string
			for _, st := range d.cfn.statementsOf(t, name) {
				for _, a := range st.actions() {
					if !strings.HasPrefix(a, "logs:") {
						continue
					}
					logActions = append(logActions, a)
					if refs := refsIn(st.Resource); !slices.Equal(refs, ownGroup) {
						t.Errorf("functions/%s: %s on %v, want only its own log group %v", name, a, refs, ownGroup)
					}
				}
			}
			slices.Sort(logActions)
			if want := []string{"logs:CreateLogStream", "logs:PutLogEvents"}; !slices.Equal(logActions, want) {
				t.Errorf("functions/%s: log actions %v, want %v", name, logActions, want)
			}
		}
		whole := mustJSON(t, d.cfn.Resources)
		for _, banned := range []string{"AWSLambdaBasicExecutionRole", `"logs:*"`} {
			if strings.Contains(whole, banned) {
				t.Errorf("the template holds %s", banned)
			}
		}
	})
}

// GIVEN any SNS topic of the stack (the alarms, the mail events) THEN its
// policy denies every request not made over TLS.
func TestTopicsEnforceTLS(t *testing.T) {
	both(t, func(t *testing.T, d *deployment) {
		topics := d.cfn.find("AWS::SNS::Topic", func(map[string]any) bool { return true })
		if len(topics) == 0 {
			t.Fatal("no SNS topic")
		}
		for _, topic := range topics {
			enforced := d.cfn.find("AWS::SNS::TopicPolicy", func(p map[string]any) bool {
				if !slices.Contains(refsIn(p["Topics"]), topic) {
					return false
				}
				doc, _ := p["PolicyDocument"].(map[string]any)
				for _, st := range asList(doc["Statement"]) {
					st, _ := st.(map[string]any)
					if st["Effect"] == "Deny" && mustJSON(t, st["Condition"]) == `{"Bool":{"aws:SecureTransport":"false"}}` {
						return true
					}
				}
				return false
			})
			if len(enforced) == 0 {
				t.Errorf("topic %s does not deny requests without TLS", topic)
			}
		}
	})
}
