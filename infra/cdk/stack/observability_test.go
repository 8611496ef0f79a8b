package stack

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/acme/accountadmin/shared/httpapi"
	"github.com/acme/accountadmin/shared/routes"
)

// GIVEN a function serving routes THEN its 5xx rate, its panics and its p99
// latency alarm on httpapi.Server.Serve's metrics, and DynamoDB failures, SES
// failures and failed job runs alarm too; every alarm notifies when it goes
// off and when it is OK again.
func TestRequestFailuresAlarm(t *testing.T) {
	both(t, func(t *testing.T, d *deployment) {
		ns := httpapi.StageNamespace(d.props.stage())
		for _, fn := range routeFunctions(d.props) {
			dims := []any{map[string]any{"Name": httpapi.DimensionFunction, "Value": fn}}
			holds(t, fn+" 5xx rate", func() {
				d.template.HasResourceProperties(jsii.String("AWS::CloudWatch::Alarm"), map[string]any{
					"Threshold": faultRatePercent,
					"Metrics": assertions.Match_ArrayWith(&[]any{
						assertions.Match_ObjectLike(&map[string]any{"Expression": assertions.Match_StringLikeRegexp(jsii.String("100 \\* faults / requests"))}),
						assertions.Match_ObjectLike(&map[string]any{"Id": "faults", "MetricStat": assertions.Match_ObjectLike(&map[string]any{
							"Metric": map[string]any{"Namespace": ns, "MetricName": httpapi.MetricFaults, "Dimensions": dims}})}),
					}),
				})
			})
			holds(t, fn+" panics", func() {
				d.template.HasResourceProperties(jsii.String("AWS::CloudWatch::Alarm"), map[string]any{
					"Namespace": ns, "MetricName": httpapi.MetricPanics, "Dimensions": dims, "Threshold": 1, "Statistic": "Sum",
				})
			})
			holds(t, fn+" p99 latency", func() {
				d.template.HasResourceProperties(jsii.String("AWS::CloudWatch::Alarm"), map[string]any{
					"Namespace": ns, "MetricName": httpapi.MetricLatency, "Dimensions": dims,
					"ExtendedStatistic": "p99", "Threshold": latencyP99Millis,
				})
			})
		}
		for _, metric := range []string{httpapi.MetricDynamoDBFailures, httpapi.MetricSESFailures} {
			holds(t, metric, func() {
				d.template.HasResourceProperties(jsii.String("AWS::CloudWatch::Alarm"), map[string]any{
					"Threshold": 1,
					"Metrics": assertions.Match_ArrayWith(&[]any{assertions.Match_ObjectLike(&map[string]any{"MetricStat": assertions.Match_ObjectLike(&map[string]any{
						"Metric": assertions.Match_ObjectLike(&map[string]any{"Namespace": ns, "MetricName": metric})})})}),
				})
			})
		}
		holds(t, "failed job runs", func() {
			d.template.HasResourceProperties(jsii.String("AWS::CloudWatch::Alarm"), map[string]any{
				"Namespace": "AWS/SQS", "MetricName": "ApproximateNumberOfMessagesVisible",
				"AlarmDescription": assertions.Match_StringLikeRegexp(jsii.String("job failures queue")),
			})
		})
		for id, r := range d.cfn.Resources {
			if r.Type != "AWS::CloudWatch::Alarm" {
				continue
			}
			if len(asList(r.Properties["AlarmActions"])) != 1 || len(asList(r.Properties["OKActions"])) != 1 {
				t.Errorf("alarm %s: actions %v, OK actions %v, want the topic in both", id, r.Properties["AlarmActions"], r.Properties["OKActions"])
			}
		}
	})
}

// GIVEN the deployment THEN one dashboard shows requests, 5xx, p99 latency,
// DynamoDB, SES and job failures, and the alarms.
func TestDashboardShowsWhatAlarms(t *testing.T) {
	both(t, func(t *testing.T, d *deployment) {
		ids := d.cfn.find("AWS::CloudWatch::Dashboard", func(map[string]any) bool { return true })
		if len(ids) != 1 {
			t.Fatalf("%d dashboards, want 1", len(ids))
		}
		raw, _ := json.Marshal(d.cfn.Resources[ids[0]].Properties["DashboardBody"])
		body := string(raw)
		for _, want := range []string{httpapi.MetricRequests, httpapi.MetricFaults, httpapi.MetricLatency, "p99",
			httpapi.MetricDynamoDBFailures, httpapi.MetricSESFailures, "ApproximateNumberOfMessagesVisible", `\"alarm\"`} {
			if !strings.Contains(body, want) {
				t.Errorf("the dashboard has no %s", want)
			}
		}
		for _, fn := range routeFunctions(d.props) {
			if !strings.Contains(body, `\"`+fn+`\"`) {
				t.Errorf("the dashboard does not show functions/%s", fn)
			}
		}
		// AND its alarm widget holds every alarm of the stack
		alarms := d.cfn.find("AWS::CloudWatch::Alarm", func(map[string]any) bool { return true })
		for _, id := range alarms {
			if !strings.Contains(body, `"`+id+`"`) {
				t.Errorf("the dashboard does not show the alarm %s", id)
			}
		}
		if len(alarms) > 100 {
			t.Errorf("%d alarms: an alarm status widget holds at most 100", len(alarms))
		}
	})
}

// GIVEN the stage THEN it writes JSON access logs, with the fields that
// find a request and explain its answer, to a log group kept a month.
func TestStageWritesAccessLogs(t *testing.T) {
	both(t, func(t *testing.T, d *deployment) {
		stage := d.cfn.onlyID(t, "AWS::ApiGatewayV2::Stage")
		settings, _ := d.cfn.Resources[stage].Properties["AccessLogSettings"].(map[string]any)
		var format map[string]string
		if err := json.Unmarshal([]byte(fmt.Sprint(settings["Format"])), &format); err != nil {
			t.Fatalf("access log format is not JSON: %v", settings["Format"])
		}
		for key, v := range map[string]string{"requestId": "$context.requestId", "route": "$context.routeKey", "status": "$context.status",
			"latencyMs": "$context.responseLatency", "integrationMs": "$context.integrationLatency", "sourceIp": "$context.identity.sourceIp",
			"authorizerError": "$context.authorizer.error", "userAgent": "$context.identity.userAgent"} {
			if format[key] != v {
				t.Errorf("access log %s = %q, want %s", key, format[key], v)
			}
		}
		refs := refsIn(settings["DestinationArn"])
		if len(refs) != 1 || d.cfn.Resources[refs[0]].Type != "AWS::Logs::LogGroup" || d.cfn.Resources[refs[0]].Properties["RetentionInDays"] != float64(30) {
			t.Errorf("access logs go to %v, want a log group kept 30 days", settings["DestinationArn"])
		}
	})
}

// GIVEN a job's function THEN a run that fails after Lambda's two retries
// goes to the failed runs' queue (which alarms, above), not nowhere.
func TestFailedJobRunsAreKept(t *testing.T) {
	both(t, func(t *testing.T, d *deployment) {
		var jobFns []string
		for _, j := range d.props.jobTable() {
			if !slices.Contains(jobFns, j.Function) {
				jobFns = append(jobFns, j.Function)
			}
		}
		configs := d.cfn.find("AWS::Lambda::EventInvokeConfig", func(map[string]any) bool { return true })
		// and the mail events function's (mail_test.go)
		if len(configs) != len(jobFns)+len(routes.MailEventConsumers) {
			t.Errorf("%d async invoke configs, want one per job function (%v) and mail events consumer", len(configs), jobFns)
		}
		for _, fn := range jobFns {
			fnID, _ := d.cfn.functionID(fn)
			found := false
			for _, id := range configs {
				p := d.cfn.Resources[id].Properties
				if !slices.Equal(refsIn(p["FunctionName"]), []string{fnID}) {
					continue
				}
				found = true
				dest, _ := p["DestinationConfig"].(map[string]any)
				onFailure, _ := dest["OnFailure"].(map[string]any)
				refs := refsIn(onFailure["Destination"])
				if len(refs) != 1 || d.cfn.Resources[refs[0]].Type != "AWS::SQS::Queue" || p["MaximumRetryAttempts"] != float64(2) {
					t.Errorf("functions/%s: on failure %v, retries %v, want an SQS queue after 2 retries", fn, dest, p["MaximumRetryAttempts"])
				}
			}
			if !found {
				t.Errorf("functions/%s runs a job but has no on-failure destination", fn)
			}
		}
	})
}

// GIVEN a function serving routes THEN its answer comes within API
// Gateway's 30 s: by its Lambda timeout, or, when the function also runs a
// job (minutes), by httpapi.Entry's RouteDeadline.
func TestRoutesAnswerWithinTheGatewayTimeout(t *testing.T) {
	const gateway = 30 * time.Second
	if httpapi.RouteDeadline >= gateway {
		t.Fatalf("httpapi.RouteDeadline %s is not within the gateway's %s", httpapi.RouteDeadline, gateway)
	}
	both(t, func(t *testing.T, d *deployment) {
		jobFns := map[string]bool{}
		for _, j := range d.props.jobTable() {
			jobFns[j.Function] = true
		}
		for _, fn := range routeFunctions(d.props) {
			id, _ := d.cfn.functionID(fn)
			timeout := time.Duration(d.cfn.Resources[id].Properties["Timeout"].(float64)) * time.Second
			if timeout >= gateway && !jobFns[fn] {
				t.Errorf("functions/%s: timeout %s serves routes beyond the gateway's %s", fn, timeout, gateway)
			}
		}
		for _, id := range d.cfn.find("AWS::ApiGatewayV2::Integration", func(map[string]any) bool { return true }) {
			if ms, ok := d.cfn.Resources[id].Properties["TimeoutInMillis"].(float64); ok && ms > 30000 {
				t.Errorf("integration %s waits %v ms", id, ms)
			}
		}
	})
}
