package stack

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/acme/accountadmin/shared/httpapi"
)

const testCertificateARN = "arn:aws:acm:eu-west-1:123456789012:certificate/00000000-0000-0000-0000-000000000000"

var (
	stagesOnce sync.Once
	stages     map[string]*deployment
	stagesErr  error
)

// deployedStages is two stages of one app, as two `cdk deploy -c stage=...`
// would put them side by side in one account and region: prod (the
// default stage, unnamed) and staging, each with its own sender and
// custom domain.
func deployedStages(t *testing.T) map[string]*deployment {
	t.Helper()
	stagesOnce.Do(func() {
		stages, stagesErr = synthApp("stages", []*StackProps{
			{SenderEmail: "no-reply@mail.example.org", SenderDomain: "mail.example.org",
				DomainName: "api.example.org", CertificateARN: testCertificateARN},
			{Stage: "staging", SenderEmail: "no-reply@staging.example.org", SenderDomain: "staging.example.org",
				DomainName: "staging-api.example.org", CertificateARN: testCertificateARN},
		})
	})
	if stagesErr != nil {
		t.Fatal(stagesErr)
	}
	return stages
}

// synthApp synthesises one stack per props in one app, each under its
// StackID, and returns them by stage.
func synthApp(name string, props []*StackProps) (out map[string]*deployment, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("synth %s: %v", name, r)
		}
	}()
	app := awscdk.NewApp(nil)
	out = map[string]*deployment{}
	stacks := map[string]awscdk.Stack{}
	for _, p := range props {
		p.AllowExampleSender = true
		p.AssetDir = filepath.Join(assetRoot, name+"-"+p.stage())
		if err := os.MkdirAll(p.AssetDir, 0o755); err != nil {
			return nil, err
		}
		for _, fn := range p.functions() {
			if err := writeDummyBundle(p.bundle(fn)); err != nil {
				return nil, err
			}
		}
		stacks[p.stage()] = NewAccountAdminStack(app, p.StackID(), p)
	}
	for _, p := range props {
		tpl := assertions.Template_FromStack(stacks[p.stage()], nil)
		raw, err := json.Marshal(tpl.ToJSON())
		if err != nil {
			return nil, err
		}
		var cfn cfnTemplate
		if err := json.Unmarshal(raw, &cfn); err != nil {
			return nil, err
		}
		out[p.stage()] = &deployment{props: p, template: tpl, cfn: cfn}
	}
	return out, nil
}

// scopedNames are Name-like properties that are not physical names of
// their own: a stage of an API, a metric of an alarm, an inline policy of
// a role, a topic's display name.
var scopedNames = map[string]bool{"StageName": true, "MetricName": true, "PolicyName": true, "DisplayName": true}

// operatorNames are physical names the operator gives (an email identity,
// a domain), distinct per stage but not derived from it.
var operatorNames = map[string]bool{"EmailIdentity": true, "DomainName": true}

// physicalNames is every literal Name-like property of the template's
// resources, as "type name".
func physicalNames(c cfnTemplate) map[string][]string {
	out := map[string][]string{}
	for _, r := range c.Resources {
		for key, v := range r.Properties {
			name, literal := v.(string)
			if !literal || scopedNames[key] || !(strings.HasSuffix(key, "Name") || operatorNames[key]) {
				continue
			}
			out[r.Type+" "+key] = append(out[r.Type+" "+key], name)
		}
	}
	return out
}

// GIVEN two stages in one account and region THEN their stacks are named
// for their stages, no physical name of one is also the other's, and each
// name the stack derives carries its stage.
func TestTwoStagesDeploySideBySide(t *testing.T) {
	d := deployedStages(t)
	if got := d["prod"].props.StackID(); got != "AccountAdmin" {
		t.Errorf("default stack = %s, want AccountAdmin (the name before stages)", got)
	}
	if got := d["staging"].props.StackID(); got != "AccountAdmin-staging" {
		t.Errorf("staging stack = %s, want AccountAdmin-staging", got)
	}
	prod, staging := physicalNames(d["prod"].cfn), physicalNames(d["staging"].cfn)
	if len(prod) == 0 {
		t.Fatal("no physical names found")
	}
	for _, want := range []string{"AWS::ApiGatewayV2::Api Name", "AWS::Events::EventBus Name", "AWS::CloudWatch::Dashboard DashboardName", "AWS::SES::ConfigurationSet Name"} {
		if len(prod[want]) == 0 {
			t.Errorf("prod has no %s", want)
		}
	}
	for kind, names := range prod {
		for _, n := range names {
			if slices.Contains(staging[kind], n) {
				t.Errorf("%s %q is in both stages", kind, n)
			}
		}
	}
	for stage, names := range map[string]map[string][]string{"prod": prod, "staging": staging} {
		for kind, list := range names {
			for _, n := range list {
				if !operatorNames[strings.Fields(kind)[1]] && !strings.Contains(n, stage) {
					t.Errorf("%s: %s %q does not carry its stage", stage, kind, n)
				}
			}
		}
	}
	// AND every resource is tagged with its stage
	holds(t, "stage tag", func() {
		d["staging"].template.HasResourceProperties(jsii.String("AWS::DynamoDB::Table"), map[string]any{
			"Tags": assertions.Match_ArrayWith(&[]any{map[string]any{"Key": "accountadmin:stage", "Value": "staging"}}),
		})
	})
}

// GIVEN a domain name and its certificate THEN the API has that regional
// custom domain with the certificate, the default stage is mapped at its
// root, the output names the target of the DNS record, and links in
// emails use https://<domain> when no public base URL is set.
func TestCustomDomain(t *testing.T) {
	d := deployedStages(t)["staging"]
	domainID := d.cfn.onlyID(t, "AWS::ApiGatewayV2::DomainName")
	holds(t, "domain name", func() {
		d.template.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::DomainName"), map[string]any{
			"DomainName": "staging-api.example.org",
			"DomainNameConfigurations": []any{assertions.Match_ObjectLike(&map[string]any{
				"CertificateArn": testCertificateARN, "EndpointType": "REGIONAL", "SecurityPolicy": "TLS_1_2",
			})},
		})
	})
	holds(t, "mapping", func() {
		d.template.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::ApiMapping"), map[string]any{
			"ApiId":      map[string]any{"Ref": d.cfn.onlyID(t, "AWS::ApiGatewayV2::Api")},
			"DomainName": map[string]any{"Ref": domainID},
			"Stage":      "$default",
		})
	})
	holds(t, "output", func() {
		d.template.HasOutput(jsii.String("ApiDomainTarget"), map[string]any{
			"Value": map[string]any{"Fn::GetAtt": []any{domainID, "RegionalDomainName"}},
		})
	})
	for _, name := range d.props.functions() {
		id, _ := d.cfn.functionID(name)
		env, _ := d.cfn.Resources[id].Properties["Environment"].(map[string]any)
		vars, _ := env["Variables"].(map[string]any)
		if got := vars[envPublicBaseURL]; got != "https://staging-api.example.org" {
			t.Errorf("functions/%s PUBLIC_BASE_URL = %v, want https://staging-api.example.org", name, got)
		}
	}
	// AND without a domain there is none
	deployedToday(t).template.ResourceCountIs(jsii.String("AWS::ApiGatewayV2::DomainName"), jsii.Number(0))
}

// GIVEN two stages in one account THEN each stage's functions publish their
// metrics in the stage's own namespace and its alarms read only that one:
// staging's failures never page for prod.
func TestEachStageAlarmsOnItsOwnMetrics(t *testing.T) {
	d := deployedStages(t)
	for stage, want := range map[string]string{"prod": httpapi.MetricNamespace, "staging": httpapi.MetricNamespace + "/staging"} {
		functions, alarms := 0, 0
		for id, r := range d[stage].cfn.Resources {
			switch r.Type {
			case "AWS::Lambda::Function":
				functions++
				env, _ := r.Properties["Environment"].(map[string]any)
				vars, _ := env["Variables"].(map[string]any)
				if got := vars[httpapi.EnvMetricNamespace]; got != want {
					t.Errorf("%s: function %s has %s %v, want %s", stage, id, httpapi.EnvMetricNamespace, got, want)
				}
			case "AWS::CloudWatch::Alarm":
				raw, _ := json.Marshal(r.Properties)
				for _, ns := range namespacesIn(r.Properties) {
					if strings.HasPrefix(ns, httpapi.MetricNamespace) && ns != want {
						t.Errorf("%s: alarm %s reads namespace %s: %s", stage, id, ns, raw)
					}
					if ns == want {
						alarms++
					}
				}
			}
		}
		if functions == 0 || alarms == 0 {
			t.Errorf("%s: %d functions, %d alarms on the stage's namespace", stage, functions, alarms)
		}
	}
}

// namespacesIn collects every "Namespace" value in a resource's properties.
func namespacesIn(v any) []string {
	var out []string
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if s, ok := e.(string); ok && k == "Namespace" {
				out = append(out, s)
			}
			out = append(out, namespacesIn(e)...)
		}
	case []any:
		for _, e := range x {
			out = append(out, namespacesIn(e)...)
		}
	}
	return out
}
