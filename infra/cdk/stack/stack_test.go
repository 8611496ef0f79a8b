package stack

import (
	"archive/zip"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/acme/accountadmin/shared/routes"
	"github.com/acme/accountadmin/shared/table"
)

// The tests synthesise two deployments, once each, and check them like a
// checklist of what the deployment promises:
//   - today: the route and job tables as they are in shared/routes, with the
//     defaults of cdk.json;
//   - tomorrow: those tables plus routes and jobs of functions that do not
//     exist yet (mail senders, an unknown function, two jobs), with every
//     optional setting given, so the generated parts are exercised too.

var assetRoot string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "accountadmin-cdk-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "create asset dir:", err)
		os.Exit(1)
	}
	assetRoot = dir
	code := m.Run()
	jsii.Close()
	os.RemoveAll(dir)
	os.Exit(code)
}

// tomorrowRoutes and tomorrowJobs extend today's tables.
var (
	tomorrowRoutes = extend(routes.Table,
		routes.Route{Method: "POST", Path: "/accounts/{accountId}/invitations", Function: "invite", Auth: true},
		routes.Route{Method: "GET", Path: "/invitations/accept", Function: "accept", Auth: false},
		routes.Route{Method: "POST", Path: "/invitations/accept", Function: "accept", Auth: false},
		routes.Route{Method: "PATCH", Path: "/accounts/{accountId}/users/{userId}", Function: "edit", Auth: true},
		routes.Route{Method: "DELETE", Path: "/accounts/{accountId}/users/{userId}", Function: "delete", Auth: true},
		routes.Route{Method: "POST", Path: "/accounts/{accountId}/usage/reset", Function: "usage-reset", Auth: true},
		routes.Route{Method: "GET", Path: "/future/{thingId}", Function: "future-function", Auth: true},
	)
	tomorrowJobs = []routes.Job{
		{Name: "expire-invitations", Function: "expire-invitations", Schedule: "rate(1 hour)", DetailType: "ExpireInvitations"},
		{Name: "usage-rollover", Function: "usage-reset", Schedule: "cron(5 0 * * ? *)", DetailType: "UsageRollover"},
	}
)

// extend adds the extra routes that the route table does not hold yet.
func extend(base []routes.Route, extra ...routes.Route) []routes.Route {
	out := slices.Clone(base)
	for _, r := range extra {
		if !slices.ContainsFunc(out, func(have routes.Route) bool { return have.Key() == r.Key() }) {
			out = append(out, r)
		}
	}
	return out
}

// deployment is one synthesised stack.
type deployment struct {
	props    *StackProps
	template assertions.Template
	cfn      cfnTemplate
}

var (
	todayOnce, tomorrowOnce sync.Once
	today, tomorrow         *deployment
	todayErr, tomorrowErr   error
)

// deployedToday is the stack of today's tables with cdk.json's defaults.
func deployedToday(t *testing.T) *deployment {
	t.Helper()
	todayOnce.Do(func() {
		today, todayErr = synth("today", &StackProps{SenderEmail: "no-reply@example.com", AllowExampleSender: true})
	})
	if todayErr != nil {
		t.Fatal(todayErr)
	}
	return today
}

// deployedTomorrow is the stack of the extended tables with every option set.
func deployedTomorrow(t *testing.T) *deployment {
	t.Helper()
	tomorrowOnce.Do(func() {
		tomorrow, tomorrowErr = synth("tomorrow", &StackProps{
			SenderEmail:        "no-reply@mail.example.com",
			SenderDomain:       "mail.example.com",
			AllowExampleSender: true,
			SenderName:         "Acme Admin",
			ReplyToInviter:     true,
			Stage:              "staging",
			PublicBaseURL:      "https://admin.example.com",
			CorsOrigins:        []string{"https://app.example.com", "https://admin.example.com"},
			ThrottleRate:       10,
			ThrottleBurst:      20,
			PublicRate:         2,
			PublicBurst:        5,
			AlarmEmail:         "ops@example.com",
			Routes:             tomorrowRoutes,
			Jobs:               tomorrowJobs,
		})
	})
	if tomorrowErr != nil {
		t.Fatal(tomorrowErr)
	}
	return tomorrow
}

// both runs a check on both deployments.
func both(t *testing.T, check func(t *testing.T, d *deployment)) {
	t.Run("today", func(t *testing.T) { check(t, deployedToday(t)) })
	t.Run("tomorrow", func(t *testing.T) { check(t, deployedTomorrow(t)) })
}

// synth writes a dummy bundle for every function of p and synthesises.
func synth(name string, p *StackProps) (d *deployment, err error) {
	p.AssetDir = filepath.Join(assetRoot, name)
	if err := os.MkdirAll(p.AssetDir, 0o755); err != nil {
		return nil, fmt.Errorf("synth %s: %w", name, err)
	}
	for _, fn := range p.functions() {
		if err := writeDummyBundle(p.bundle(fn)); err != nil {
			return nil, fmt.Errorf("synth %s: %w", name, err)
		}
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("synth %s: %v", name, r)
		}
	}()
	app := awscdk.NewApp(nil)
	s := NewAccountAdminStack(app, "AccountAdmin", p)
	tpl := assertions.Template_FromStack(s, nil)
	raw, err := json.Marshal(tpl.ToJSON())
	if err != nil {
		return nil, fmt.Errorf("synth %s: encode template: %w", name, err)
	}
	var cfn cfnTemplate
	if err := json.Unmarshal(raw, &cfn); err != nil {
		return nil, fmt.Errorf("synth %s: decode template: %w", name, err)
	}
	return &deployment{props: p, template: tpl, cfn: cfn}, nil
}

// writeDummyBundle writes a zip holding a `bootstrap`, as make build does.
func writeDummyBundle(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("write dummy bundle: %w", err)
	}
	zw := zip.NewWriter(f)
	h := &zip.FileHeader{Name: "bootstrap", Method: zip.Deflate}
	h.SetMode(0o755)
	w, err := zw.CreateHeader(h)
	if err == nil {
		_, err = w.Write([]byte("#!/bin/sh\necho dummy\n"))
	}
	if cerr := zw.Close(); err == nil {
		err = cerr
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write dummy bundle %s: %w", path, err)
	}
	return nil
}

// holds runs an assertions check, turning its panic into a test error so
// one broken promise does not hide the others.
func holds(t *testing.T, what string, check func()) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Errorf("%s: %v", what, r)
		}
	}()
	check()
}

// ---- the checklist ----------------------------------------------------------

func TestEveryFunctionIsDeployedOnce(t *testing.T) {
	// GIVEN the route and job tables of shared/routes
	d := deployedToday(t)
	// THEN the stack deploys exactly the functions routes.Functions() lists
	want := routes.Functions()
	if got := d.props.functions(); !slices.Equal(got, want) {
		t.Errorf("functions = %v, want routes.Functions() = %v", got, want)
	}
	holds(t, "one Lambda per function", func() {
		d.template.ResourceCountIs(jsii.String("AWS::Lambda::Function"), jsii.Number(len(want)))
	})
	for _, name := range want {
		if _, ok := d.cfn.functionID(name); !ok {
			t.Errorf("no Lambda for functions/%s", name)
		}
	}
	// AND tomorrow's tables deploy one Lambda per function of theirs
	d2 := deployedTomorrow(t)
	holds(t, "one Lambda per function tomorrow", func() {
		d2.template.ResourceCountIs(jsii.String("AWS::Lambda::Function"), jsii.Number(len(d2.props.functions())))
	})
}

func TestFunctionsRunGoOnArm64WithJSONLogs(t *testing.T) {
	both(t, func(t *testing.T, d *deployment) {
		tableID := d.cfn.onlyID(t, "AWS::DynamoDB::Table")
		jobFunctions := map[string]bool{}
		for _, j := range d.props.jobTable() {
			jobFunctions[j.Function] = true
		}
		for _, name := range d.props.functions() {
			// GIVEN a function folder
			timeout := 10
			if jobFunctions[name] {
				timeout = 300
			}
			if slices.Contains(routes.StreamConsumers, name) {
				timeout = streamTimeout
			}
			var baseURL any = assertions.Match_AnyValue()
			if d.props.publicBaseURL() != "" {
				baseURL = d.props.publicBaseURL()
			}
			// THEN its Lambda is the Go bootstrap on provided.al2023 / arm64,
			// sized for it, with JSON logs and its configuration
			holds(t, "functions/"+name, func() {
				d.template.HasResourceProperties(jsii.String("AWS::Lambda::Function"), map[string]any{
					"Description":   functionDescription(name),
					"Runtime":       "provided.al2023",
					"Architectures": []any{"arm64"},
					"Handler":       "bootstrap",
					"MemorySize":    MemoryMB(name),
					"Timeout":       timeout,
					"LoggingConfig": assertions.Match_ObjectLike(&map[string]any{"LogFormat": "JSON"}),
					"Environment": map[string]any{"Variables": map[string]any{
						"TABLE_NAME":      map[string]any{"Ref": tableID},
						"SENDER_EMAIL":    d.props.SenderEmail,
						"PUBLIC_BASE_URL": baseURL,
					}},
				})
			})
		}
		// AND password hashing functions get 512 MB
		if id, ok := d.cfn.functionID("auth"); ok {
			if mb := d.cfn.Resources[id].Properties["MemorySize"]; mb != float64(512) {
				t.Errorf("auth memory = %v, want 512", mb)
			}
		}
		// AND every function's logs are kept a month
		holds(t, "log retention", func() {
			d.template.ResourcePropertiesCountIs(jsii.String("AWS::Logs::LogGroup"),
				map[string]any{"RetentionInDays": 30}, jsii.Number(len(d.props.functions())+1)) // and the API's access logs

		})
	})
}

func TestLinksPointAtTheAPIWhenNoPublicBaseURL(t *testing.T) {
	// GIVEN no public base URL
	d := deployedToday(t)
	apiID := d.cfn.onlyID(t, "AWS::ApiGatewayV2::Api")
	// THEN every function's PUBLIC_BASE_URL is the API's endpoint
	holds(t, "PUBLIC_BASE_URL", func() {
		d.template.AllResourcesProperties(jsii.String("AWS::Lambda::Function"), map[string]any{
			"Environment": map[string]any{"Variables": assertions.Match_ObjectLike(&map[string]any{
				"PUBLIC_BASE_URL": map[string]any{"Fn::GetAtt": []any{apiID, "ApiEndpoint"}},
			})},
		})
	})
}

func TestEveryRouteIsServedByItsFunction(t *testing.T) {
	both(t, func(t *testing.T, d *deployment) {
		table := d.props.routeTable()
		holds(t, "route count", func() {
			d.template.ResourceCountIs(jsii.String("AWS::ApiGatewayV2::Route"), jsii.Number(len(table)))
		})
		for _, r := range table {
			// GIVEN a route of the table
			ids := d.cfn.find("AWS::ApiGatewayV2::Route", func(p map[string]any) bool { return p["RouteKey"] == r.Key() })
			if len(ids) != 1 {
				t.Errorf("%s: %d routes, want 1", r.Key(), len(ids))
				continue
			}
			route := d.cfn.Resources[ids[0]].Properties
			// THEN the gateway invokes nothing before its function: the
			// function resolves the caller itself
			if got := route["AuthorizationType"]; got != "NONE" {
				t.Errorf("%s: AuthorizationType = %v, want NONE", r.Key(), got)
			}
			if got, ok := route["AuthorizerId"]; ok {
				t.Errorf("%s: AuthorizerId = %v, want none", r.Key(), got)
			}
			// AND it is integrated, with payload format 2.0, with its function
			integrationIDs := refsIn(route["Target"])
			if len(integrationIDs) != 1 {
				t.Errorf("%s: target refers to %v, want one integration", r.Key(), integrationIDs)
				continue
			}
			integration := d.cfn.Resources[integrationIDs[0]]
			if integration.Type != "AWS::ApiGatewayV2::Integration" ||
				integration.Properties["IntegrationType"] != "AWS_PROXY" || integration.Properties["PayloadFormatVersion"] != "2.0" {
				t.Errorf("%s: integration %s is %v %v", r.Key(), integrationIDs[0], integration.Type, integration.Properties)
			}
			fnID, _ := d.cfn.functionID(r.Function)
			if got := refsIn(integration.Properties["IntegrationUri"]); !slices.Equal(got, []string{fnID}) {
				t.Errorf("%s: integrated with %v, want functions/%s (%s)", r.Key(), got, r.Function, fnID)
			}
		}
	})
}

func TestOneInvocationPerRequest(t *testing.T) {
	both(t, func(t *testing.T, d *deployment) {
		// GIVEN routes with Auth
		// THEN the API has no authorizer: a request invokes one function
		holds(t, "no authorizer", func() {
			d.template.ResourceCountIs(jsii.String("AWS::ApiGatewayV2::Authorizer"), jsii.Number(0))
		})
		// AND there is a function for each folder the tables name, and
		// no other (no authorizer function)
		holds(t, "one function per folder", func() {
			d.template.ResourceCountIs(jsii.String("AWS::Lambda::Function"), jsii.Number(len(d.props.functions())))
		})
		if slices.Contains(d.props.functions(), "authorizer") {
			t.Error("the stack still deploys an authorizer function")
		}
		// AND every function serving a route with Auth may read what
		// resolving a session reads: the session, then user, membership
		// and account in one batch
		for _, r := range d.props.routeTable() {
			acts := TableActions(r.Function)
			if r.Auth && (!slices.Contains(acts, "dynamodb:GetItem") || !slices.Contains(acts, "dynamodb:BatchGetItem")) {
				t.Errorf("%s: functions/%s cannot resolve sessions: table actions %v", r.Key(), r.Function, acts)
			}
		}
	})
}

func TestDefaultStageIsThrottled(t *testing.T) {
	both(t, func(t *testing.T, d *deployment) {
		rate, burst := d.props.throttle()
		holds(t, "$default stage", func() {
			d.template.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::Stage"), map[string]any{
				"StageName":  "$default",
				"AutoDeploy": true,
				"DefaultRouteSettings": assertions.Match_ObjectLike(&map[string]any{
					"ThrottlingRateLimit":  rate,
					"ThrottlingBurstLimit": burst,
				}),
			})
		})
	})
}

func TestPublicRoutesHaveTheirOwnLowerLimit(t *testing.T) {
	both(t, func(t *testing.T, d *deployment) {
		// GIVEN the routes of the public throttle class
		var public []string
		for _, r := range d.props.routeTable() {
			if r.Throttle == routes.ThrottlePublic {
				public = append(public, r.Key())
			}
		}
		if len(public) == 0 {
			t.Fatal("the route table has no public route")
		}
		rate, burst := d.props.publicThrottle()
		sharedRate, sharedBurst := d.props.throttle()
		// THEN the stage's shared default limit is above the public one
		if rate >= sharedRate || burst >= sharedBurst {
			t.Errorf("public limit %v/%v is not below the shared %v/%v", rate, burst, sharedRate, sharedBurst)
		}
		holds(t, "shared default limit", func() {
			d.template.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::Stage"), map[string]any{
				"StageName": "$default",
				"DefaultRouteSettings": assertions.Match_ObjectLike(&map[string]any{
					"ThrottlingRateLimit": sharedRate, "ThrottlingBurstLimit": sharedBurst,
				}),
			})
		})
		// AND each public route carries its own, lower limit
		own := map[string]any{}
		for _, key := range public {
			own[key] = map[string]any{"ThrottlingRateLimit": rate, "ThrottlingBurstLimit": burst}
		}
		holds(t, "public route settings", func() {
			d.template.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::Stage"), map[string]any{
				"StageName":     "$default",
				"RouteSettings": own,
			})
		})
		// AND no authorized route has a setting of its own: they share the default
		stage := d.cfn.onlyID(t, "AWS::ApiGatewayV2::Stage")
		settings, _ := d.cfn.Resources[stage].Properties["RouteSettings"].(map[string]any)
		got := slices.Sorted(maps.Keys(settings))
		if want := slices.Sorted(slices.Values(public)); !slices.Equal(got, want) {
			t.Errorf("routes with their own settings = %q, want the public ones %q", got, want)
		}
		// AND the stage is created after those routes, which its settings name
		for _, key := range public {
			id := d.cfn.routeID(t, key)
			if !slices.Contains(d.cfn.Resources[stage].DependsOn, id) {
				t.Errorf("stage does not depend on route %q (%s)", key, id)
			}
		}
	})
}

func TestCORSOnlyForConfiguredOrigins(t *testing.T) {
	// GIVEN no origins THEN no CORS configuration
	holds(t, "no CORS", func() {
		deployedToday(t).template.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::Api"), map[string]any{
			"CorsConfiguration": assertions.Match_Absent(),
		})
	})
	// GIVEN origins THEN exactly those are allowed
	d := deployedTomorrow(t)
	holds(t, "CORS origins", func() {
		d.template.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::Api"), map[string]any{
			"CorsConfiguration": assertions.Match_ObjectLike(&map[string]any{
				"AllowOrigins": d.props.CorsOrigins,
				"AllowHeaders": assertions.Match_ArrayWith(&[]any{"Authorization", "If-Match", "Idempotency-Key"}),
			}),
		})
	})
}

func TestTableIsTheSchema(t *testing.T) {
	d := deployedToday(t)
	holds(t, "one table", func() {
		d.template.ResourceCountIs(jsii.String("AWS::DynamoDB::Table"), jsii.Number(1))
	})
	def := table.Schema
	keys := func(pk, sk string) []any {
		return []any{
			map[string]any{"AttributeName": pk, "KeyType": "HASH"},
			map[string]any{"AttributeName": sk, "KeyType": "RANGE"},
		}
	}
	// THEN keys, TTL, billing, recovery and protection are the schema's
	holds(t, "table", func() {
		d.template.HasResourceProperties(jsii.String("AWS::DynamoDB::Table"), map[string]any{
			"KeySchema":                        keys(def.PartitionKey, def.SortKey),
			"BillingMode":                      "PAY_PER_REQUEST",
			"TimeToLiveSpecification":          map[string]any{"AttributeName": def.TTLAttribute, "Enabled": true},
			"PointInTimeRecoverySpecification": map[string]any{"PointInTimeRecoveryEnabled": true},
			"DeletionProtectionEnabled":        true,
		})
	})
	holds(t, "table retained", func() {
		d.template.HasResource(jsii.String("AWS::DynamoDB::Table"), map[string]any{
			"DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain",
		})
	})
	// AND every GSI has the schema's name, keys and projection, and no other
	var want []any
	attrs := map[string]bool{def.PartitionKey: true, def.SortKey: true}
	for _, ix := range def.Indexes {
		want = append(want, map[string]any{
			"IndexName":  ix.Name,
			"KeySchema":  keys(ix.PartitionKey, ix.SortKey),
			"Projection": map[string]any{"ProjectionType": string(ix.Projection)},
		})
		attrs[ix.PartitionKey], attrs[ix.SortKey] = true, true
	}
	holds(t, "indexes", func() {
		d.template.HasResourceProperties(jsii.String("AWS::DynamoDB::Table"), map[string]any{
			"GlobalSecondaryIndexes": assertions.Match_ArrayEquals(&want),
		})
	})
	// AND every key attribute is declared a string, and nothing else
	tableID := d.cfn.onlyID(t, "AWS::DynamoDB::Table")
	got := map[string]bool{}
	for _, a := range asList(d.cfn.Resources[tableID].Properties["AttributeDefinitions"]) {
		m, _ := a.(map[string]any)
		if m["AttributeType"] != "S" {
			t.Errorf("attribute %v is not a string", m)
		}
		got[fmt.Sprint(m["AttributeName"])] = true
	}
	if fmt.Sprint(sortedKeys(got)) != fmt.Sprint(sortedKeys(attrs)) {
		t.Errorf("attribute definitions = %v, want %v", sortedKeys(got), sortedKeys(attrs))
	}
}

func TestEachFunctionHasOnlyItsTableActions(t *testing.T) {
	both(t, func(t *testing.T, d *deployment) {
		tableID := d.cfn.onlyID(t, "AWS::DynamoDB::Table")
		for _, name := range d.props.functions() {
			// GIVEN a function
			var tableActions []string
			for _, st := range d.cfn.statementsOf(t, name) {
				for _, a := range st.actions() {
					// THEN it never holds a wildcard or Scan
					if a == "*" || strings.HasSuffix(a, ":*") || a == "dynamodb:Scan" {
						t.Errorf("functions/%s is granted %s", name, a)
					}
					if streamReads[a] {
						continue // the stream's event source mapping: TestDomainEventsFromTheStream
					}
					if strings.HasPrefix(a, "dynamodb:") {
						tableActions = append(tableActions, a)
						// AND its table grants name only the table and its indexes
						if refs := refsIn(st.Resource); !slices.Equal(refs, []string{tableID}) {
							t.Errorf("functions/%s: %s on %v, want only the table", name, a, refs)
						}
					}
				}
			}
			// AND its table actions are exactly its allowed list
			slices.Sort(tableActions)
			tableActions = slices.Compact(tableActions)
			allowed := TableActions(name)
			slices.Sort(allowed)
			if !slices.Equal(tableActions, allowed) {
				t.Errorf("functions/%s table actions = %v, want %v", name, tableActions, allowed)
			}
		}
	})
	// AND the default for a new function is read/write without Scan
	for _, a := range TableActions("a-function-not-written-yet") {
		if a == "dynamodb:Scan" || a == "dynamodb:*" {
			t.Errorf("default table actions include %s", a)
		}
	}
}

func TestOnlyMailSendersMaySendMail(t *testing.T) {
	both(t, func(t *testing.T, d *deployment) {
		identityID := d.cfn.onlyID(t, "AWS::SES::EmailIdentity")
		configSetID := d.cfn.onlyID(t, "AWS::SES::ConfigurationSet")
		senders := 0
		for _, name := range d.props.functions() {
			sends := false
			for _, st := range d.cfn.statementsOf(t, name) {
				for _, a := range st.actions() {
					if !strings.HasPrefix(a, "ses:") {
						continue
					}
					sends = true
					// THEN mail is sent only as the sender identity, with the
					// stage's configuration set
					if refs := refsIn(st.Resource); !slices.Equal(refs, []string{identityID}) && !slices.Equal(refs, []string{configSetID}) {
						t.Errorf("functions/%s: %s on %v, want only the sender identity and its configuration set", name, a, refs)
					}
				}
			}
			if sends != SendsMail(name) {
				t.Errorf("functions/%s may send mail = %v, want %v", name, sends, SendsMail(name))
			}
			if sends {
				senders++
			}
		}
		t.Logf("%d of %d functions send mail", senders, len(d.props.functions()))
	})
	// GIVEN tomorrow's invite and edit THEN those two send mail, and accept
	// (which sends none) may not
	d := deployedTomorrow(t)
	for _, st := range d.cfn.statementsOf(t, "accept") {
		if slices.Contains(st.actions(), "ses:SendEmail") {
			t.Error("functions/accept may send mail")
		}
	}
	for _, name := range []string{"invite", "edit"} {
		found := false
		for _, st := range d.cfn.statementsOf(t, name) {
			found = found || slices.Contains(st.actions(), "ses:SendEmail")
		}
		if !found {
			t.Errorf("functions/%s cannot send mail", name)
		}
	}
	// AND the identity is the domain when one is set, else the address
	holds(t, "domain identity", func() {
		d.template.HasResourceProperties(jsii.String("AWS::SES::EmailIdentity"), map[string]any{"EmailIdentity": d.props.SenderDomain})
	})
	holds(t, "address identity", func() {
		deployedToday(t).template.HasResourceProperties(jsii.String("AWS::SES::EmailIdentity"), map[string]any{"EmailIdentity": "no-reply@example.com"})
	})
}

func TestEveryJobRunsOnItsSchedule(t *testing.T) {
	both(t, func(t *testing.T, d *deployment) {
		jobs := d.props.jobTable()
		holds(t, "rule count", func() {
			d.template.ResourceCountIs(jsii.String("AWS::Events::Rule"), jsii.Number(len(jobs)))
		})
		queues := 2 // the domain events' dead-letter queue, the mail event failures (mail.go)
		if len(jobs) > 0 {
			queues += 2 // the dead letters of EventBridge and the failed runs (observability.go)
		}
		holds(t, "dead-letter queue", func() {
			d.template.ResourceCountIs(jsii.String("AWS::SQS::Queue"), jsii.Number(queues))
		})
		for _, j := range jobs {
			// GIVEN a job
			ids := d.cfn.find("AWS::Events::Rule", func(p map[string]any) bool { return p["ScheduleExpression"] == j.Schedule })
			if len(ids) != 1 {
				t.Errorf("job %s: %d rules on %q, want 1", j.Name, len(ids), j.Schedule)
				continue
			}
			rule := d.cfn.Resources[ids[0]].Properties
			targets := asList(rule["Targets"])
			if rule["State"] != "ENABLED" || len(targets) != 1 {
				t.Errorf("job %s: rule state %v with %d targets", j.Name, rule["State"], len(targets))
				continue
			}
			target, _ := targets[0].(map[string]any)
			// THEN its rule invokes its function
			fnID, _ := d.cfn.functionID(j.Function)
			if got := refsIn(target["Arn"]); !slices.Equal(got, []string{fnID}) {
				t.Errorf("job %s: target %v, want functions/%s", j.Name, got, j.Function)
			}
			// AND retries twice within an hour, then dead-letters
			if rp, _ := target["RetryPolicy"].(map[string]any); rp["MaximumRetryAttempts"] != float64(2) || rp["MaximumEventAgeInSeconds"] != float64(3600) {
				t.Errorf("job %s: retry policy %v", j.Name, target["RetryPolicy"])
			}
			dlc, _ := target["DeadLetterConfig"].(map[string]any)
			if refs := refsIn(dlc["Arn"]); len(refs) != 1 || d.cfn.Resources[refs[0]].Type != "AWS::SQS::Queue" {
				t.Errorf("job %s: dead-letter config %v", j.Name, target["DeadLetterConfig"])
			}
			// AND sends the job's own detail-type, as the local stack does
			it, _ := target["InputTransformer"].(map[string]any)
			if tpl := fmt.Sprint(it["InputTemplate"]); !strings.Contains(tpl, fmt.Sprintf(`"detail-type":%q`, j.DetailType)) {
				t.Errorf("job %s: input template %s lacks its detail-type", j.Name, tpl)
			}
		}
	})
}

func TestAlarmsOnErrorsThrottlesAndDeadLetters(t *testing.T) {
	both(t, func(t *testing.T, d *deployment) {
		fns := d.props.functions()
		want := 2*len(fns) + 2 // and the domain events' dead-letter queue, the mail event failures
		if len(d.props.jobTable()) > 0 {
			want++
			holds(t, "dead-letter alarm", func() {
				d.template.HasResourceProperties(jsii.String("AWS::CloudWatch::Alarm"), map[string]any{
					"Namespace": "AWS/SQS", "MetricName": "ApproximateNumberOfMessagesVisible", "Threshold": 1,
				})
			})
		}
		if len(d.props.jobTable()) > 0 {
			want++ // the failed runs' queue (observability_test.go)
		}
		holds(t, "alarm count", func() {
			d.template.ResourcePropertiesCountIs(jsii.String("AWS::CloudWatch::Alarm"),
				map[string]any{"Namespace": assertions.Match_StringLikeRegexp(jsii.String("^AWS/(Lambda|SQS)$"))}, jsii.Number(want))
		})
		for _, name := range fns {
			fnID, _ := d.cfn.functionID(name)
			for _, metric := range []string{"Errors", "Throttles"} {
				holds(t, name+" "+metric, func() {
					d.template.HasResourceProperties(jsii.String("AWS::CloudWatch::Alarm"), map[string]any{
						"Namespace":    "AWS/Lambda",
						"MetricName":   metric,
						"Dimensions":   []any{map[string]any{"Name": "FunctionName", "Value": map[string]any{"Ref": fnID}}},
						"Threshold":    1,
						"AlarmActions": assertions.Match_AnyValue(),
					})
				})
			}
		}
	})
}

func TestOutputsTheAPIURLAndTableName(t *testing.T) {
	d := deployedToday(t)
	for _, name := range []string{"ApiUrl", "TableName"} {
		holds(t, name, func() { d.template.HasOutput(jsii.String(name), map[string]any{}) })
	}
}

// ---- reading the template ---------------------------------------------------

type cfnTemplate struct {
	Resources map[string]cfnResource `json:"Resources"`
}

type cfnResource struct {
	Type       string         `json:"Type"`
	Properties map[string]any `json:"Properties"`
	DependsOn  []string       `json:"DependsOn"`
}

// routeID is the id of the route whose key is key.
func (c cfnTemplate) routeID(t *testing.T, key string) string {
	t.Helper()
	ids := c.find("AWS::ApiGatewayV2::Route", func(p map[string]any) bool { return p["RouteKey"] == key })
	if len(ids) != 1 {
		t.Fatalf("%d routes with key %q, want 1", len(ids), key)
	}
	return ids[0]
}

// find is the ids of resources of typ whose properties match.
func (c cfnTemplate) find(typ string, match func(map[string]any) bool) []string {
	var ids []string
	for id, r := range c.Resources {
		if r.Type == typ && match(r.Properties) {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids
}

// onlyID is the id of the one resource of typ.
func (c cfnTemplate) onlyID(t *testing.T, typ string) string {
	t.Helper()
	ids := c.find(typ, func(map[string]any) bool { return true })
	if len(ids) != 1 {
		t.Fatalf("%d resources of type %s, want 1", len(ids), typ)
	}
	return ids[0]
}

// functionID is the id of a function's Lambda, known by its description.
func (c cfnTemplate) functionID(name string) (string, bool) {
	ids := c.find("AWS::Lambda::Function", func(p map[string]any) bool { return p["Description"] == functionDescription(name) })
	if len(ids) != 1 {
		return "", false
	}
	return ids[0], true
}

type statement struct {
	Effect   string `json:"Effect"`
	Action   any    `json:"Action"`
	Resource any    `json:"Resource"`
}

func (s statement) actions() []string {
	var out []string
	for _, a := range asList(s.Action) {
		out = append(out, fmt.Sprint(a))
	}
	return out
}

// statementsOf is every statement of every policy attached to a function's role.
func (c cfnTemplate) statementsOf(t *testing.T, name string) []statement {
	t.Helper()
	fnID, ok := c.functionID(name)
	if !ok {
		t.Fatalf("no Lambda for functions/%s", name)
	}
	roles := refsIn(c.Resources[fnID].Properties["Role"])
	if len(roles) != 1 {
		t.Fatalf("functions/%s: role %v", name, roles)
	}
	role := c.Resources[roles[0]]
	if arns := asList(role.Properties["ManagedPolicyArns"]); len(arns) != 0 {
		t.Errorf("functions/%s: managed policies %v, want none (its own role grants its own log group)", name, arns)
	}
	var out []statement
	for _, r := range c.Resources {
		if r.Type != "AWS::IAM::Policy" || !slices.Contains(refsIn(r.Properties["Roles"]), roles[0]) {
			continue
		}
		doc, _ := r.Properties["PolicyDocument"].(map[string]any)
		raw, _ := json.Marshal(doc["Statement"])
		var sts []statement
		if err := json.Unmarshal(raw, &sts); err != nil {
			t.Fatalf("functions/%s: decode policy: %v", name, err)
		}
		for _, st := range sts {
			if st.Effect != "Allow" {
				t.Errorf("functions/%s: unexpected %s statement", name, st.Effect)
			}
		}
		out = append(out, sts...)
	}
	return out
}

// refsIn is the logical ids a value refers to (Ref and Fn::GetAtt), anywhere
// inside it, without duplicates.
func refsIn(v any) []string {
	var out []string
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if ref, ok := x["Ref"].(string); ok && !strings.HasPrefix(ref, "AWS::") {
				out = append(out, ref)
			}
			if ga := asList(x["Fn::GetAtt"]); len(ga) > 0 {
				out = append(out, fmt.Sprint(ga[0]))
			}
			for k, e := range x {
				if k != "Ref" && k != "Fn::GetAtt" {
					walk(e)
				}
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(v)
	slices.Sort(out)
	return slices.Compact(out)
}

func asList(v any) []any {
	switch x := v.(type) {
	case nil:
		return nil
	case []any:
		return x
	default:
		return []any{x}
	}
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
